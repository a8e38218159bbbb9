/**
 * The chains HTTP group on a real server (the composition root's core with an EVM chain
 * configured) following a real anvil: the list, one chain with its reorg history and proven
 * values, headers by height, the head anvil last claimed (rpcHead), and 4xx answers with reasons.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { coreLayer } from "../../src/main.ts"
import { eventually, get, layer as serverLayer } from "../http/support/server.ts"
import { anvil, type Anvil } from "./support/Anvil.ts"

const rpcHash = async (node: Anvil, height: number) => ((await node.rpc("eth_getBlockByNumber", [`0x${height.toString(16)}`, false])).hash as string).slice(2)

describe("GET /v1/chains", () => {
  it.live("serves what the chain-state projection holds of a followed anvil, and 404s with a reason", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      yield* Effect.promise(() => node.rpc("anvil_mine", ["0x4"]))
      const server = serverLayer({
        core: (config, runner) => coreLayer({ ...config, evm: { chainId: "anvil", rpcUrls: [node.url], confirmations: 1, pollIntervalMs: 25 } }, runner)
      })
      yield* Effect.gen(function*() {
        const list = yield* eventually(get("/v1/chains"), (r) => r.json?.[0]?.finalized?.height === 3)
        expect(list.status).toBe(200)
        expect(list.json).toEqual([{
          chain: "anvil",
          kind: "evm",
          latest: { height: 4, hash: yield* Effect.promise(() => rpcHash(node, 4)) },
          safe: null,
          finalized: { height: 3, hash: yield* Effect.promise(() => rpcHash(node, 3)) },
          reorgCount: 0
        }])

        const old4 = yield* Effect.promise(() => rpcHash(node, 4))
        yield* Effect.promise(() => node.rpc("anvil_reorg", [1, []]))
        yield* Effect.promise(() => node.rpc("anvil_mine", ["0x1"]))
        const chain = yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === 5 && r.json?.finalized?.height === 4)
        expect(chain.status).toBe(200)
        expect(chain.json).toMatchObject({
          chain: "anvil",
          kind: "evm",
          latestHeader: { height: 5, hash: yield* Effect.promise(() => rpcHash(node, 5)) },
          reorgCount: 1,
          reorgs: [{ forkHeight: 3, oldHead: { height: 4, hash: old4 }, depth: 1, finalityViolated: false }],
          ignored: 0
        })
        expect(chain.json.headers.to).toBe(5)
        // What anvil last answered as its latest block: the observer's state, not the log's; nothing was mined since.
        expect(chain.json.rpcHead).toEqual({ height: 5, at: expect.any(Number) })
        expect(Math.abs(chain.json.rpcHead.at - Date.now())).toBeLessThan(60_000)

        const header = yield* get("/v1/chains/anvil/headers/4")
        expect(header.status).toBe(200)
        expect(header.json.header.hash).toBe(yield* Effect.promise(() => rpcHash(node, 4)))
        expect(header.json.header.hash).not.toBe(old4)
        expect(header.json).toMatchObject({ chain: "anvil", finalized: true, safe: true })
        expect((yield* get("/v1/chains/anvil/headers/5")).json).toMatchObject({ finalized: false })

        const unknown = yield* get("/v1/chains/nope")
        expect(unknown.status).toBe(404)
        expect(unknown.json).toMatchObject({ _tag: "UnknownChain", chain: "nope" })
        expect(unknown.json.reason).toMatch(/no chain "nope"/)
        const above = yield* get("/v1/chains/anvil/headers/999")
        expect(above.status).toBe(404)
        expect(above.json).toMatchObject({ _tag: "HeaderNotFound", height: 999 })
        expect(above.json.reason).toMatch(/above the latest verified height 5/)
        const bad = yield* get("/v1/chains/anvil/headers/-1")
        expect(bad.status).toBe(400)
        expect(bad.json._tag).toBe("InvalidRequest")
      }).pipe(Effect.provide(Layer.fresh(server)))
    }))

  it.live("lists no chain when none is configured", () =>
    get("/v1/chains").pipe(
      Effect.map((r) => {
        expect(r.status).toBe(200)
        expect(r.json).toEqual([])
      }),
      Effect.provide(serverLayer())
    ))
})
