/**
 * A real anvil node for tests: the binary of the npm package @foundry-rs/anvil-linux-amd64,
 * an optional dependency (the @foundry-rs/anvil wrapper is not used: its other platforms'
 * packages are not on this registry, so a lock file naming them cannot `npm ci` here). Each node listens on 127.0.0.1, a port
 * the OS picks, and is stopped with the scope.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { resolve } from "node:path"
import { Effect } from "effect"
import { privateKeyToAccount } from "viem/accounts"

const root = resolve(import.meta.dirname, "..", "..", "..")
const anvilBin = resolve(root, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil")

/** A running anvil. */
export interface Anvil {
  readonly url: string
  /** A JSON-RPC call; rejects on a JSON-RPC error. */
  readonly rpc: (method: string, params?: ReadonlyArray<unknown>) => Promise<any>
}

/** anvil's first dev account (unlocked, funded) and its well-known key. */
export const DEV_ACCOUNT = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"
export const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80" as const
/** anvil's second dev account's key (0x70997970c51812dc3a010c7d01b50e0d17dc79c8). */
export const DEV_KEY_2 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const

/** A raw signed EIP-1559 transfer of 1000 wei from the second dev account (its first transaction). */
export const signedTransfer = (): Promise<`0x${string}`> =>
  privateKeyToAccount(DEV_KEY_2).signTransaction({
    chainId: 31337,
    type: "eip1559",
    nonce: 0,
    to: "0x000000000000000000000000000000000000dead",
    value: 1000n,
    gas: 21000n,
    maxFeePerGas: 10_000_000_000n,
    maxPriorityFeePerGas: 1n
  })

/** Start anvil with extra arguments; stopped (SIGTERM, then SIGKILL) when the scope closes. */
export const anvil = (args: ReadonlyArray<string> = []) =>
  Effect.acquireRelease(Effect.promise(() => start(args)), ({ child }) => Effect.promise(() => stop(child))).pipe(
    Effect.map(({ node }) => node)
  )

const start = (args: ReadonlyArray<string>): Promise<{ node: Anvil; child: ChildProcess }> =>
  new Promise((resolvePromise, reject) => {
    if (!existsSync(anvilBin)) {
      reject(new Error(`no anvil binary at ${anvilBin}: the optional dependency @foundry-rs/anvil-linux-amd64 installs only on linux x64`))
      return
    }
    const child = spawn(anvilBin, ["--host", "127.0.0.1", "--port", "0", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: process.env
    })
    let out = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`anvil did not start:\n${out}`))
    }, 15_000)
    child.on("error", reject)
    const onData = (d: string) => {
      out += d
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out)
      if (m === null) return
      clearTimeout(timer)
      child.stdout?.off("data", onData)
      child.stdout?.resume()
      const url = `http://127.0.0.1:${m[1]}`
      resolvePromise({ node: { url, rpc: (method, params = []) => rpc(url, method, params) }, child })
    }
    child.stdout?.setEncoding("utf8").on("data", onData)
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (out += d))
  })

const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolvePromise()
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
    child.on("close", () => {
      clearTimeout(timer)
      resolvePromise()
    })
    child.kill("SIGTERM")
  })

let nextId = 1

/** One JSON-RPC call over fetch. */
export const rpc = async (url: string, method: string, params: ReadonlyArray<unknown>): Promise<any> => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params })
  })
  const body = (await response.json()) as { result?: unknown; error?: { message: string } }
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`)
  return body.result
}

/**
 * A contract written by hand: its constructor stores 0x2a at slot 0; a call stores the
 * calldata's second word at the slot named by its first word.
 *   init:    PUSH1 2a PUSH1 00 SSTORE; PUSH1 08 PUSH1 11 PUSH1 00 CODECOPY; PUSH1 08 PUSH1 00 RETURN
 *   runtime: PUSH1 20 CALLDATALOAD PUSH1 00 CALLDATALOAD SSTORE STOP
 */
export const STORE_CONTRACT = "0x602a600055" + "6008601160003960086000f3" + "6020356000355500"

/**
 * A contract that logs its calldata: LOG1 with the first calldata word as topic 0 and the
 * whole calldata as data.
 *   init:    PUSH1 0e PUSH1 0c PUSH1 00 CODECOPY; PUSH1 0e PUSH1 00 RETURN
 *   runtime: CALLDATASIZE PUSH1 0 PUSH1 0 CALLDATACOPY; PUSH1 0 CALLDATALOAD CALLDATASIZE PUSH1 0 LOG1; STOP
 */
export const EMITTER_CONTRACT = "0x600e600c600039600e6000f3" + "366000600037600035366000a100"

const word = (n: bigint): string => n.toString(16).padStart(64, "0")

/** A transaction's receipt, once mined (anvil mines each transaction in a block of its own, soon after). */
export const receiptOf = async (node: Anvil, hash: string): Promise<any> => {
  for (let i = 0; i < 250; i++) {
    const receipt = await node.rpc("eth_getTransactionReceipt", [hash])
    if (receipt !== null) return receipt
    await new Promise((r) => setTimeout(r, 20))
  }
  throw new Error(`transaction ${hash} was not mined within 5 s`)
}

/** Send a transaction from the dev account and wait for its receipt. */
export const sendAndMine = async (node: Anvil, tx: { to?: string; data: string }): Promise<any> => {
  const hash = await node.rpc("eth_sendTransaction", [{ from: DEV_ACCOUNT, ...tx }])
  const receipt = await receiptOf(node, hash)
  if (receipt.status !== "0x1") throw new Error(`transaction ${hash} failed: ${JSON.stringify(receipt)}`)
  return receipt
}

/** Deploy the storage contract; its address (lowercase, 0x). */
export const deployStore = async (node: Anvil): Promise<string> =>
  ((await sendAndMine(node, { data: STORE_CONTRACT })).contractAddress as string).toLowerCase()

/** Store `value` at `slot` of a deployed storage contract. */
export const store = (node: Anvil, address: string, slot: bigint, value: bigint) =>
  sendAndMine(node, { to: address, data: `0x${word(slot)}${word(value)}` })

/** The latest block number. */
export const blockNumber = async (node: Anvil): Promise<number> => Number(await node.rpc("eth_blockNumber"))

/**
 * A JSON-RPC proxy in front of a node that may rewrite answers: `tamper(method, result)`
 * returns the result to send instead. Closed with the scope.
 */
export const lyingProxy = (target: string, tamper: (method: string, params: Array<any>, result: any) => any) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ server: Server; url: string }>((resolvePromise) => {
        const server = createServer((req, res) => {
          void readBody(req).then(async (text) => {
            const call = JSON.parse(text) as { id: number; method: string; params: Array<any> }
            const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: text })
            const body = (await upstream.json()) as { result?: unknown }
            const answer = "result" in body ? { ...body, result: tamper(call.method, call.params, body.result) } : body
            res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer))
          })
        })
        server.listen(0, "127.0.0.1", () => resolvePromise({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }))
      })
    ),
    ({ server }) => Effect.promise(() => new Promise<void>((r) => server.close(() => r())))
  ).pipe(Effect.map(({ url }) => url))

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolvePromise) => {
    let text = ""
    req.setEncoding("utf8").on("data", (d: string) => (text += d)).on("end", () => resolvePromise(text))
  })
