/**
 * An in-process CometBFT RPC server (node:http) over a TestChain. No CometBFT node can run on
 * this machine, so the Cosmos adapter is tested against this: it speaks CometBFT's JSON-RPC
 * over HTTP the way a 0.38 node does — POST `/` with a JSON-RPC request (or a batch array),
 * and the URI form `GET /<method>?height=5` — and answers in the JSON shapes CometBFT
 * serialises (strings for 64-bit integers, uppercase hex hashes, base64 keys, signatures and
 * query bytes, `parts` in block IDs, `proofOps` in query results), which is what cosmjs decodes.
 *
 * Methods: status, health, abci_info, commit, header, block, validators (paginated: page,
 * per_page default 30, max 100), abci_query (`/store/<name>/key` with prove: the
 * SDK's two ICS23 proof ops; `/store/<name>/subspace`: the KV pairs under a prefix, unproven;
 * `/key` on the kv store), tx_search (events tests attached to blocks), broadcast_tx_sync. Errors are JSON-RPC
 * errors (code -32603 with CometBFT's message in `data`, -32601 for unknown methods).
 *
 * `tamper` lets a test alter a response after it is built (a forged signature, a wrong
 * validator set), and `chain` can be swapped for another (a fork), so one server can play
 * an honest node, a faulty one or a conflicting witness.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import type { BlockIdJson, LightBlock, ValidatorSetJson } from "../../../src/domain/verify/cometbft/LightBlock.ts"
import type { TestChain } from "./TestChain.ts"

/** Request parameters as CometBFT receives them (strings, or a boolean for `prove`). */
export type RpcParams = Readonly<Record<string, unknown>>

/** Alters a method's result before it is sent. */
export type Tamper = (method: string, params: RpcParams, result: unknown) => unknown

/** A running server. */
export interface CometBftRpcServer {
  readonly url: string
  /** The chain served; replace it to serve another. */
  chain: TestChain
  tamper: Tamper | undefined
  /** Every method called, in order (for assertions on what the client asked). */
  readonly calls: Array<{ readonly method: string; readonly params: RpcParams }>
  /** Refuse every request with HTTP 503 while true (a node that is down). */
  down: boolean
  readonly close: () => Promise<void>
}

class RpcError extends Error {
  readonly code: number
  readonly data: string
  constructor(code: number, message: string, data: string) {
    super(message)
    this.code = code
    this.data = data
  }
}

const internal = (data: string): RpcError => new RpcError(-32603, "Internal error", data)
const invalidParams = (data: string): RpcError => new RpcError(-32602, "Invalid params", data)

const hexUpper = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex").toUpperCase()
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64")

// CometBFT's BlockID JSON: `parts`, total as a number, "" hashes for the zero ID.
const rpcBlockId = (id: BlockIdJson | null | undefined) => ({
  hash: id?.hash ?? "",
  parts: { total: Number(id?.part_set_header?.total ?? id?.parts?.total ?? 0), hash: id?.part_set_header?.hash ?? id?.parts?.hash ?? "" }
})

const rpcHeader = (light: LightBlock) => {
  const h = light.signed_header.header
  return {
    version: { block: String(h.version.block), app: String(h.version.app ?? "0") },
    chain_id: h.chain_id,
    height: String(h.height),
    time: h.time,
    last_block_id: rpcBlockId(h.last_block_id),
    last_commit_hash: h.last_commit_hash,
    data_hash: h.data_hash,
    validators_hash: h.validators_hash,
    next_validators_hash: h.next_validators_hash,
    consensus_hash: h.consensus_hash,
    app_hash: h.app_hash,
    last_results_hash: h.last_results_hash,
    evidence_hash: h.evidence_hash,
    proposer_address: h.proposer_address
  }
}

const rpcCommit = (light: LightBlock) => {
  const c = light.signed_header.commit
  return {
    height: String(c.height),
    round: Number(c.round),
    block_id: rpcBlockId(c.block_id),
    signatures: (c.signatures ?? []).map((s) => ({
      block_id_flag: s.block_id_flag,
      validator_address: s.validator_address,
      timestamp: s.timestamp,
      signature: s.signature
    }))
  }
}

const rpcValidators = (set: ValidatorSetJson) =>
  (set.validators ?? []).map((v) => ({
    address: v.address,
    pub_key: { type: v.pub_key.type, value: v.pub_key.value },
    voting_power: String(v.voting_power),
    proposer_priority: String(v.proposer_priority ?? "0")
  }))

// CometBFT accepts integers as JSON strings or numbers, and in the URI form possibly quoted.
const intParam = (params: RpcParams, name: string): number | undefined => {
  const raw = params[name]
  if (raw === undefined || raw === null || raw === "") return undefined
  const text = typeof raw === "string" ? raw.replace(/^"(.*)"$/, "$1") : String(raw)
  if (!/^-?\d+$/.test(text)) throw invalidParams(`error converting json params to arguments: ${name} is not an integer`)
  return Number(text)
}

const stringParam = (params: RpcParams, name: string): string => {
  const raw = params[name]
  return typeof raw === "string" ? raw.replace(/^"(.*)"$/, "$1") : raw === undefined || raw === null ? "" : String(raw)
}

const boolParam = (params: RpcParams, name: string): boolean => {
  const raw = params[name]
  return raw === true || raw === "true"
}

const bytesParam = (params: RpcParams, name: string, encoding: "hex" | "base64"): Uint8Array => {
  let text = stringParam(params, name)
  if (encoding === "hex" && text.startsWith("0x")) text = text.slice(2)
  if (encoding === "hex" && !/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw invalidParams(`${name} is not hex`)
  return Uint8Array.from(Buffer.from(text, encoding))
}

/** Resolve the height a request names (0 / absent = latest), as CometBFT's `getHeight`. */
const heightFor = (chain: TestChain, params: RpcParams, allowNext = false): number => {
  const latest = chain.height
  const requested = intParam(params, "height")
  if (requested === undefined || requested === 0) return latest
  if (requested < 0) throw internal(`height ${requested} must be greater than 0`)
  const max = allowNext ? latest + 1 : latest
  if (requested > max) throw internal(`height ${requested} must be less than or equal to the current blockchain height ${latest}`)
  return requested
}

const blockAt = (chain: TestChain, height: number) => {
  const block = chain.block(height)
  if (block === undefined) throw internal(`height ${height} is not available`)
  return block
}

const validatorSetAt = (chain: TestChain, height: number): ValidatorSetJson => {
  const block = chain.block(height)
  if (block !== undefined) return block.light.validator_set
  const previous = chain.block(height - 1)
  if (previous !== undefined) return previous.light.next_validator_set
  throw internal(`could not find validator set for height ${height}`)
}

// protobuf: a length-delimited field.
const lengthField = (tag: number, bytes: Uint8Array): Array<number> => {
  const out = [(tag << 3) | 2]
  let n = bytes.length
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n, ...bytes)
  return out
}

/**
 * The SDK's rootmulti answer to `/store/<name>/subspace` (iavl store `Query`): every KV pair
 * whose key starts with the query data, in key order, marshalled as `kv.Pairs` (pairs = 1;
 * Pair: key = 1, value = 2), with no proof (the SDK proves only `/key`).
 */
const subspaceAnswer = (chain: TestChain, height: number, store: string, prefix: Uint8Array) => {
  const contents = chain.states.get(height)?.contents.get(store)
  if (contents === undefined) {
    return { response: { code: 1, log: `no such store: ${store}`, info: "", index: "0", key: null, value: null, proofOps: null, height: String(height), codespace: "sdk" } }
  }
  const want = Buffer.from(prefix)
  const pairs = [...contents.entries()]
    .map(([hex, value]) => [Buffer.from(hex, "hex"), value] as const)
    .filter(([key]) => key.subarray(0, want.length).equals(want))
    .sort((a, b) => Buffer.compare(a[0], b[0]))
  const body = pairs.flatMap(([key, value]) => lengthField(1, Uint8Array.from([...lengthField(1, key), ...lengthField(2, value)])))
  return {
    response: { code: 0, log: "", info: "", index: "0", key: b64(prefix), value: b64(Uint8Array.from(body)), proofOps: null, height: String(height), codespace: "" }
  }
}

/**
 * CometBFT's `tx_search` over the results tests attached to blocks: `type.attr='value'`
 * conditions joined by AND (each must hold on some event of that type), ascending by height.
 */
const txSearch = (chain: TestChain, params: RpcParams) => {
  const query = stringParam(params, "query")
  const conditions = query.split(/\s+AND\s+/).map((c) => /^([\w.-]+)\.([\w-]+)\s*=\s*'([^']*)'$/.exec(c.trim()))
  if (conditions.some((c) => c === null)) throw internal(`failed to parse query: ${query}`)
  const txs: Array<unknown> = []
  for (let h = 1; h <= chain.height; h++) {
    const results = chain.block(h)?.results ?? []
    results.forEach((r, index) => {
      const matches = conditions.every((c) =>
        r.events.some((e) => e.type === c?.[1] && e.attributes.some((a) => a.key === c[2] && a.value === c[3]))
      )
      if (!matches) return
      txs.push({
        hash: hexUpper(sha256(r.tx)),
        height: String(h),
        index,
        tx_result: { code: 0, data: null, log: "", info: "", gas_wanted: "0", gas_used: "0", events: r.events, codespace: "" },
        tx: b64(r.tx)
      })
    })
  }
  const perPage = Math.min(Math.max(intParam(params, "per_page") ?? 30, 1), 100)
  return { txs: txs.slice(0, perPage), total_count: String(txs.length) }
}

const methods: Record<string, (chain: TestChain, params: RpcParams) => unknown> = {
  health: () => ({}),
  status: (chain) => {
    const latest = chain.height
    const top = chain.block(latest)
    const first = chain.block(1)
    const vals = top?.light.validator_set.validators ?? []
    const any = vals[0]
    return {
      node_info: {
        protocol_version: { p2p: "8", block: "11", app: "1" },
        id: "0".repeat(40),
        listen_addr: "tcp://127.0.0.1:26656",
        network: chain.config.chainId,
        version: "0.38.17",
        channels: "40202122233038606100",
        moniker: "causeway-test-node",
        other: { tx_index: "on", rpc_address: "tcp://127.0.0.1:26657" }
      },
      sync_info: {
        latest_block_hash: top?.blockId.hash ?? "",
        latest_app_hash: top?.light.signed_header.header.app_hash ?? "",
        latest_block_height: String(latest),
        latest_block_time: top?.light.signed_header.header.time ?? "1970-01-01T00:00:00Z",
        earliest_block_hash: first?.blockId.hash ?? "",
        earliest_app_hash: first?.light.signed_header.header.app_hash ?? "",
        earliest_block_height: first === undefined ? "0" : "1",
        earliest_block_time: first?.light.signed_header.header.time ?? "1970-01-01T00:00:00Z",
        catching_up: false
      },
      validator_info: {
        address: any?.address ?? "0".repeat(40),
        pub_key: any?.pub_key ?? { type: "tendermint/PubKeyEd25519", value: b64(new Uint8Array(32)) },
        voting_power: "0"
      }
    }
  },
  abci_info: (chain) => ({
    response: {
      data: "causeway-test-app",
      version: "1",
      app_version: "1",
      last_block_height: String(chain.height),
      last_block_app_hash: b64(chain.stateAt(chain.height)?.appHash ?? new Uint8Array(0))
    }
  }),
  commit: (chain, params) => {
    const block = blockAt(chain, heightFor(chain, params))
    return { signed_header: { header: rpcHeader(block.light), commit: rpcCommit(block.light) }, canonical: true }
  },
  header: (chain, params) => ({ header: rpcHeader(blockAt(chain, heightFor(chain, params)).light) }),
  block: (chain, params) => {
    const height = heightFor(chain, params)
    const block = blockAt(chain, height)
    const previous = chain.block(height - 1)
    return {
      block_id: rpcBlockId(block.blockId),
      block: {
        header: rpcHeader(block.light),
        data: { txs: block.txs.map(b64) },
        evidence: { evidence: [] },
        last_commit:
          previous === undefined
            ? { height: "0", round: 0, block_id: rpcBlockId(null), signatures: [] }
            : rpcCommit(previous.light)
      }
    }
  },
  validators: (chain, params) => {
    const height = heightFor(chain, params, true)
    const all = rpcValidators(validatorSetAt(chain, height))
    const perPage = Math.min(Math.max(intParam(params, "per_page") ?? 30, 1), 100)
    const pages = Math.max(1, Math.ceil(all.length / perPage))
    const page = intParam(params, "page") ?? 1
    if (page < 1 || page > pages) throw internal(`page should be within [1, ${pages}] range, given ${page}`)
    const slice = all.slice((page - 1) * perPage, page * perPage)
    return { block_height: String(height), validators: slice, count: String(slice.length), total: String(all.length) }
  },
  abci_query: (chain, params) => {
    const height = heightFor(chain, params)
    const path = stringParam(params, "path")
    const data = bytesParam(params, "data", "hex")
    const prove = boolParam(params, "prove")
    const state = chain.stateAt(height)
    if (state === undefined) throw internal(`no state at ${height}`)
    const subspace = /^\/store\/([^/]+)\/subspace$/.exec(path)
    if (subspace !== null) return subspaceAnswer(chain, height, subspace[1] ?? "", data)
    const storeMatch = /^\/store\/([^/]+)\/key$/.exec(path)
    const storeName = storeMatch?.[1] ?? (path === "/key" || path === "" ? "kv" : undefined)
    const answer = storeName === undefined ? undefined : state.query(storeName, data)
    if (answer === undefined) {
      return { response: { code: 1, log: `unknown query path ${path}`, info: "", index: "0", key: null, value: null, proofOps: null, height: String(height), codespace: "sdk" } }
    }
    return {
      response: {
        code: 0,
        log: answer.value === undefined ? "does not exist" : "exists",
        info: "",
        index: "0",
        key: b64(data),
        value: answer.value === undefined ? null : b64(answer.value),
        proofOps: prove ? { ops: answer.ops.map((op) => ({ type: op.type, key: b64(op.key), data: b64(op.data) })) } : null,
        height: String(height),
        codespace: ""
      }
    }
  },
  tx_search: txSearch,
  broadcast_tx_sync: (chain, params) => {
    const tx = bytesParam(params, "tx", "base64")
    // CheckTx of the kvstore application: `key=value` or refused.
    const text = new TextDecoder().decode(tx)
    if (text.indexOf("=") <= 0) return { code: 1, data: "", log: "tx must be key=value", codespace: "kvstore", hash: hexUpper(sha256(tx)) }
    return { code: 0, data: "", log: "", codespace: "", hash: hexUpper(chain.submit(tx)) }
  }
}

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** Start a server for `chain` on a free port of 127.0.0.1. */
export const startCometBftRpcServer = async (chain: TestChain): Promise<CometBftRpcServer> => {
  const state: { chain: TestChain; tamper: Tamper | undefined; down: boolean } = { chain, tamper: undefined, down: false }
  const calls: CometBftRpcServer["calls"] = []

  const call = (id: unknown, method: string, params: RpcParams) => {
    calls.push({ method, params })
    const impl = methods[method]
    try {
      if (impl === undefined) throw new RpcError(-32601, "Method not found", "")
      const result = impl(state.chain, params)
      return { jsonrpc: "2.0", id, result: state.tamper === undefined ? result : state.tamper(method, params, result) }
    } catch (e) {
      if (!(e instanceof RpcError)) throw e
      return { jsonrpc: "2.0", id, error: { code: e.code, message: e.message, data: e.data } }
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (state.down) {
      res.writeHead(503).end()
      return
    }
    const url = new URL(req.url ?? "/", "http://localhost")
    let body: unknown
    if (req.method === "POST") {
      const text = await readBody(req)
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        res.writeHead(200, { "content-type": "application/json" })
        res.end(JSON.stringify({ jsonrpc: "2.0", id: -1, error: { code: -32700, message: "Parse error. Invalid JSON", data: "" } }))
        return
      }
      const one = (r: unknown) => {
        if (!isRecord(r) || typeof r["method"] !== "string") {
          return { jsonrpc: "2.0", id: isRecord(r) ? (r["id"] ?? -1) : -1, error: { code: -32600, message: "Invalid Request", data: "" } }
        }
        return call(r["id"], r["method"], isRecord(r["params"]) ? r["params"] : {})
      }
      body = Array.isArray(parsed) ? parsed.map(one) : one(parsed)
    } else {
      const method = url.pathname.replace(/^\//, "")
      body = call(-1, method, Object.fromEntries(url.searchParams))
    }
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify(body))
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      res.writeHead(500).end(String(e))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get chain() {
      return state.chain
    },
    set chain(c: TestChain) {
      state.chain = c
    },
    get tamper() {
      return state.tamper
    },
    set tamper(t: Tamper | undefined) {
      state.tamper = t
    },
    get down() {
      return state.down
    },
    set down(d: boolean) {
      state.down = d
    },
    calls,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((e) => (e === undefined ? resolve() : reject(e)))
      })
  }
}
