/**
 * `causeway effect` against a real `causeway serve` child following a real anvil: `effect
 * watch` records a watch, a contract's log is tracked, `effect list` and `effect show` print
 * it (JSON and for people), `effect unwatch` removes the watch; the server's refusals exit 1
 * with its status and reason, bad flags exit 2, no server exits 3.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { anvil, EMITTER_CONTRACT, sendAndMine } from "../evm/support/Anvil.ts"
import { cleanup, cli, closedPort, eventually, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const TOPIC = "cd".repeat(32)

describe("causeway effect", () => {
  it.live("watches, lists and shows effects through a running server", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const deployed = yield* Effect.promise(() => sendAndMine(node, { data: EMITTER_CONTRACT }))
      const address = deployed.contractAddress as string
      const dataDir = tempDir()
      const server = yield* Effect.promise(() =>
        startServer(dataDir, { args: ["--port", "0", "--data-dir", dataDir, "--evm-chain-id", "anvil", "--evm-rpc", node.url, "--evm-confirmations", "1"] })
      )
      yield* Effect.addFinalizer(() => Effect.promise(() => server.stop("SIGTERM")))
      const url = server.url
      yield* Effect.promise(() => eventually(() => fetch(`${url}/v1/chains/anvil`).then((r) => r.json() as Promise<any>), (c) => c?.latest?.height >= 1, 20_000))

      const [badAddress, badCorrelate, unknownChain, fillDeadline, badDeadline] = yield* Effect.promise(() =>
        Promise.all([
          cli(["effect", "watch", "--chain", "anvil", "--address", "0x12", "--url", url], { env: { DATA_DIR: dataDir } }),
          cli(["effect", "watch", "--chain", "anvil", "--correlate", "r:both:topic=1", "--url", url], { env: { DATA_DIR: dataDir } }),
          cli(["effect", "watch", "--chain", "nope", "--url", url], { env: { DATA_DIR: dataDir } }),
          cli(["effect", "watch", "--chain", "anvil", "--correlate", "r:fill:topic=1", "--deadline", "word=2", "--url", url], { env: { DATA_DIR: dataDir } }),
          cli(["effect", "watch", "--chain", "anvil", "--correlate", "r:deposit:topic=1", "--deadline", "word=x", "--url", url], { env: { DATA_DIR: dataDir } })
        ])
      )
      expect([fillDeadline.code, badDeadline.code]).toEqual([2, 2])
      expect(fillDeadline.stderr).toMatch(/--deadline is a deposit's/)
      expect(badAddress.code).toBe(2)
      expect(badAddress.stderr).toMatch(/--address "0x12" is not a 20-byte hex address/)
      expect(badCorrelate.code).toBe(2)
      expect(unknownChain.code).toBe(1)
      expect(unknownChain.stderr).toMatch(/404 EffectChainUnknown/)
      // Without a token (no CAUSEWAY_TOKEN, another data directory): the server's 401, exit 1, with where the CLI looks.
      const anonymous = yield* Effect.promise(() => cli(["effect", "watch", "--chain", "anvil", "--url", url], { env: { DATA_DIR: tempDir() } }))
      expect(anonymous.code).toBe(1)
      expect(anonymous.stderr).toMatch(/401 Unauthorized: .*set CAUSEWAY_TOKEN or DATA_DIR/)

      const watched = yield* Effect.promise(() => cli(["effect", "watch", "--chain", "anvil", "--address", address, "--topic", TOPIC, "--transaction-hashes", "--json"], { env: { CAUSEWAY_URL: url, CAUSEWAY_TOKEN: readFileSync(join(dataDir, "api-token"), "utf8").trim() } }))
      expect(watched.code, watched.stderr).toBe(0)
      const watchId = JSON.parse(watched.stdout).watch.id as string
      const listed = yield* Effect.promise(() => cli(["effect", "watches", "--url", url]))
      expect(listed.stdout).toContain(`${watchId}  anvil evm-log`)

      const emitted = yield* Effect.promise(() => sendAndMine(node, { to: address, data: `0x${TOPIC}` }))
      const id = `evm-log:anvil:${(emitted.blockHash as string).slice(2)}:0:0`
      const list = yield* Effect.promise(() =>
        eventually(() => cli(["effect", "list", "--chain", "anvil", "--json", "--url", url]), (r) => r.code === 0 && JSON.parse(r.stdout).length === 1, 20_000)
      )
      expect(JSON.parse(list.stdout)[0]).toMatchObject({ id, status: "included", log: { address, topics: [`0x${TOPIC}`] } })
      const shown = yield* Effect.promise(() => cli(["effect", "show", id, "--url", url]))
      expect(shown.code, shown.stderr).toBe(0)
      expect(shown.stdout).toContain(`${id}\n  included (`)
      expect(shown.stdout).toMatch(/evidence: evm-receipt in message [0-9a-f]{64}/)
      // The watch asked for transaction hashes: the transaction's hash names the effect.
      const byTx = yield* Effect.promise(() => cli(["effect", "show", emitted.transactionHash as string, "--json", "--url", url]))
      expect(byTx.code, byTx.stderr).toBe(0)
      expect(JSON.parse(byTx.stdout)).toMatchObject({ id, origin: { transactionHash: emitted.transactionHash }, aliases: [emitted.transactionHash] })
      const missing = yield* Effect.promise(() => cli(["effect", "show", "evm-log:anvil:00:0:0", "--url", url]))
      expect(missing.code).toBe(1)
      expect(missing.stderr).toMatch(/404 EffectNotFound/)

      // A deposit watch with a deadline, and a refund watch: the server records both as given.
      const deposits = yield* Effect.promise(() =>
        cli(["effect", "watch", "--chain", "anvil", "--address", `0x${"00".repeat(19)}01`, "--correlate", "bridge:deposit:word=1", "--deadline", "word=2", "--json", "--url", url], { env: { DATA_DIR: dataDir } })
      )
      expect(deposits.code, deposits.stderr).toBe(0)
      expect(JSON.parse(deposits.stdout).watch.correlate).toEqual({ route: "bridge", role: "deposit", id: { dataWord: 1 }, deadline: { dataWord: 2 } })
      const refunds = yield* Effect.promise(() =>
        cli(["effect", "watch", "--chain", "anvil", "--address", `0x${"00".repeat(19)}02`, "--correlate", "bridge:refund:topic=1", "--json", "--url", url], { env: { DATA_DIR: dataDir } })
      )
      expect(refunds.code, refunds.stderr).toBe(0)
      expect(JSON.parse(refunds.stdout).watch.correlate).toEqual({ route: "bridge", role: "refund", id: { topic: 1 } })

      const removed = yield* Effect.promise(() => cli(["effect", "unwatch", watchId, "--url", url], { env: { DATA_DIR: dataDir } }))
      expect(removed.code, removed.stderr).toBe(0)
      expect(removed.stdout).toContain(`watch ${watchId} removed`)
      const again = yield* Effect.promise(() => cli(["effect", "unwatch", watchId, "--url", url], { env: { DATA_DIR: dataDir } }))
      expect(again.code).toBe(1)
      expect(again.stderr).toMatch(/404 EffectWatchNotFound/)
    }), 90_000)

  it("exits 3 when no server answers", async () => {
    const port = await closedPort()
    const down = await cli(["effect", "list", "--url", `http://127.0.0.1:${port}`])
    expect(down.code).toBe(3)
    expect(down.stderr).toMatch(/cannot reach the server/)
  })
})
