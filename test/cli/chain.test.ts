/**
 * `causeway chain prove` and `causeway chain list` against a real `causeway serve --evm-rpc`
 * child process following a real anvil (through a proxy that can lie about eth_getProof):
 * a storage key of a deployed contract proves (exit 0, the LightClientProof's receipt in the
 * JSON, the message in the log); the server's refusals exit 1 with its reason (unknown chain
 * 404, a lying RPC 502); no server exits 3; a missing --key exits 2.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { anvil, blockNumber, deployStore, lyingProxy } from "../evm/support/Anvil.ts"
import { cleanup, cli, closedPort, eventually, getJson, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const word = (n: bigint): string => n.toString(16).padStart(64, "0")

describe("causeway chain", () => {
  it.live("proves a storage key through a running server; the server's refusals exit 1 with its reason", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      // Not at height 1: anvil's genesis carries the empty trie as its state root.
      yield* Effect.promise(() => node.rpc("anvil_mine", ["0x1"]))
      const address = yield* Effect.promise(() => deployStore(node))
      const height = yield* Effect.promise(() => blockNumber(node))
      const mode = { lie: false }
      const rpcUrl = yield* lyingProxy(node.url, (method, _params, result) => {
        if (mode.lie && method === "eth_getProof" && result?.storageProof?.[0] !== undefined) {
          return { ...result, storageProof: [{ ...result.storageProof[0], value: "0x2b" }, ...result.storageProof.slice(1)] }
        }
        return result
      })
      const dataDir = tempDir()
      const server = yield* Effect.acquireRelease(
        Effect.promise(() =>
          startServer(dataDir, { args: ["--port", "0", "--data-dir", dataDir, "--evm-rpc", rpcUrl, "--evm-chain-id", "anvil", "--evm-confirmations", "1"] })
        ),
        (s) => Effect.promise(() => s.stop("SIGTERM"))
      )
      yield* Effect.promise(() => eventually(() => getJson(`${server.url}/v1/chains/anvil`), (r) => r.body?.latest?.height === height))

      // --json: the proof, the header it was checked against, the LightClientProof's receipt.
      const proved = yield* Effect.promise(() => cli(["chain", "prove", "--chain", "anvil", "--key", `${address}/0`, "--url", server.url, "--json"], { env: { DATA_DIR: dataDir } }))
      expect(proved.code, proved.stderr).toBe(0)
      const answer = JSON.parse(proved.stdout)
      expect(answer.proof).toMatchObject({ chain: "anvil", height, kind: "eip1186", key: address.slice(2) + word(0n), value: word(0x2an) })
      expect(answer.header).toMatchObject({ height, hash: answer.proof.headerHash })
      expect(answer.receipt.offset).toEqual(expect.any(Number))
      const message = yield* Effect.promise(() => getJson(`${server.url}/v1/messages/${answer.receipt.id}`))
      expect(message.body).toMatchObject({ type: "LightClientProof", offset: answer.receipt.offset })
      expect(message.body.envelope.payload).toEqual(answer.proof)

      // Without --json, an explicit older height and the account key: a summary naming the log offset.
      const summary = yield* Effect.promise(() => cli(["chain", "prove", "--chain", "anvil", "--key", address, "--height", String(height - 1), "--url", server.url], { env: { DATA_DIR: dataDir } }))
      expect(summary.code, summary.stderr).toBe(0)
      expect(summary.stdout).toContain(`on anvil at height ${height - 1}`)
      const offset = /LightClientProof ([0-9a-f]{64}) at offset (\d+)/.exec(summary.stdout)
      expect(offset, summary.stdout).not.toBeNull()
      expect(Number(offset![2])).toBeGreaterThan(answer.receipt.offset)

      const list = yield* Effect.promise(() => cli(["chain", "list", "--url", server.url, "--json"]))
      expect(list.code, list.stderr).toBe(0)
      expect(JSON.parse(list.stdout)).toMatchObject([{ chain: "anvil", kind: "evm", latest: { height } }])

      const unknown = yield* Effect.promise(() => cli(["chain", "prove", "--chain", "nope", "--key", address, "--url", server.url], { env: { DATA_DIR: dataDir } }))
      expect(unknown.code).toBe(1)
      expect(unknown.stdout).toBe("")
      expect(unknown.stderr).toMatch(/404 UnknownChain: .*nope/)

      mode.lie = true
      const lie = yield* Effect.promise(() => cli(["chain", "prove", "--chain", "anvil", "--key", `${address}/0`, "--url", server.url, "--json"], { env: { DATA_DIR: dataDir } }))
      expect(lie.code).toBe(1)
      expect(lie.stdout).toBe("")
      expect(lie.stderr).toMatch(/502 ChainAnswerInvalid: .*nothing was published/)
    }), 30_000)

  it("exits 3 when no server answers, 2 on a usage error", async () => {
    const port = await closedPort()
    const [down, downList, noKey, badUrl] = await Promise.all([
      cli(["chain", "prove", "--chain", "anvil", "--key", "0x01", "--url", `http://127.0.0.1:${port}`]),
      cli(["chain", "list", "--url", `http://127.0.0.1:${port}`]),
      cli(["chain", "prove", "--chain", "anvil", "--url", `http://127.0.0.1:${port}`]),
      cli(["chain", "prove", "--chain", "anvil", "--key", "0x01", "--url", "ftp://x"])
    ])
    expect(down.code).toBe(3)
    expect(down.stderr).toMatch(/cannot reach the server/)
    expect(downList.code).toBe(3)
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toMatch(/--key/)
    expect(badUrl.code).toBe(2)
    expect(badUrl.stderr).toMatch(/--url must be an http\(s\) URL/)
  })
})
