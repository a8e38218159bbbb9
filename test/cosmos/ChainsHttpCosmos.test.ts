/**
 * End to end on the composition root: a server with a Cosmos chain configured follows the
 * in-process CometBFT RPC server through the light client; the chain feed publishes the
 * verified heads and the chain-state projection answers them over GET /v1/chains. With a
 * witness serving a conflicting fork, nothing of the conflicting height is published.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { coreLayer } from "../../src/main.ts"
import { eventually, get, layer as serverLayer } from "../http/support/server.ts"
import { makeValidators, seconds } from "../verify/cometbft/ChainBuilder.ts"
import { type CometBftRpcServer, startCometBftRpcServer } from "./support/CometBftRpcServer.ts"
import { TestChain } from "./support/TestChain.ts"

const CHAIN = "cosmos-e2e-1"
const A = makeValidators(4, "e2e-a")
const B = makeValidators(4, "e2e-b")

const newChain = () =>
  new TestChain({
    chainId: CHAIN,
    genesisTimeNanos: BigInt(Date.now() - 600_000) * 1_000_000n,
    blockIntervalNanos: seconds(1),
    validatorsAt: (h) => (h <= 4 ? A : B),
    genesisState: new Map([["kv", new Map([["6b", Uint8Array.of(1)]])]])
  })

const rpcServer = (chain: TestChain) =>
  Effect.acquireRelease(Effect.promise(() => startCometBftRpcServer(chain)), (s: CometBftRpcServer) => Effect.promise(() => s.close()))

const hashAt = (chain: TestChain, h: number) => chain.block(h)?.blockId.hash.toLowerCase()

describe("a served Cosmos chain", () => {
  it.live("is followed through the light client and answered from the chain-state projection", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const chain = newChain()
        chain.produceBlocks(3)
        const node = yield* rpcServer(chain)
        const server = serverLayer({
          core: (config, runner) =>
            coreLayer({
              ...config,
              cosmos: { rpc: node.url, chainId: CHAIN, trustedHeight: 1, trustedHash: chain.block(1)?.blockId.hash ?? "", witnesses: [], pollIntervalMs: 25 }
            }, runner)
        })
        yield* Effect.gen(function*() {
          const first = yield* eventually(get("/v1/chains"), (r) => r.json?.[0]?.finalized?.height === 3)
          expect(first.json).toEqual([
            { chain: CHAIN, kind: "cosmos", latest: { height: 3, hash: hashAt(chain, 3) }, safe: null, finalized: { height: 3, hash: hashAt(chain, 3) }, reorgCount: 0 }
          ])
          // Across the validator-set change at height 5.
          chain.produceBlocks(4)
          const after = yield* eventually(get(`/v1/chains/${CHAIN}`), (r) => r.json?.latest?.height === 7 && r.json?.finalized?.height === 7)
          expect(after.json).toMatchObject({ chain: CHAIN, kind: "cosmos", latestHeader: { height: 7, hash: hashAt(chain, 7) }, reorgCount: 0, ignored: 0 })
          for (const h of [4, 5, 6]) {
            const header = yield* get(`/v1/chains/${CHAIN}/headers/${h}`)
            expect(header.status).toBe(200)
            expect(header.json.header).toMatchObject({ height: h, hash: hashAt(chain, h), parentHash: hashAt(chain, h - 1) })
            expect(header.json.finalized).toBe(true)
          }
        }).pipe(Effect.provide(Layer.fresh(server)))
      })
    ))

  it.live("publishes nothing of a height a witness contradicts with a validly signed fork", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const chain = newChain()
        chain.produceBlocks(3)
        const fork = chain.fork()
        chain.produceBlocks(2, { writes: [{ store: "kv", key: "6b", value: Uint8Array.of(2) }] })
        fork.produceBlocks(2, { writes: [{ store: "kv", key: "6b", value: Uint8Array.of(3) }] })
        const node = yield* rpcServer(chain)
        const witness = yield* rpcServer(fork)
        const server = serverLayer({
          core: (config, runner) =>
            coreLayer({
              ...config,
              cosmos: { rpc: node.url, chainId: CHAIN, trustedHeight: 1, trustedHash: chain.block(1)?.blockId.hash ?? "", witnesses: [witness.url], pollIntervalMs: 25 }
            }, runner)
        })
        yield* Effect.gen(function*() {
          // The observer halts at the attack, its stream fails, and the feed retries: a status call to the
          // primary after the witness was asked for the target comes from the retry, so the first attempt is over.
          const seen = yield* eventually(Effect.sync(() => witness.calls.some((c) => c.method === "commit" && c.params["height"] === "5")), (b) => b, 10_000)
          expect(seen).toBe(true)
          const asked = node.calls.length
          const retried = yield* eventually(Effect.sync(() => node.calls.slice(asked).some((c) => c.method === "status")), (b) => b, 10_000)
          expect(retried).toBe(true)
          const chains = yield* get("/v1/chains")
          expect(chains.status).toBe(200)
          expect(chains.json.filter((c: { latest: unknown }) => c.latest !== null)).toEqual([])
        }).pipe(Effect.provide(Layer.fresh(server)))
      })
    ))
})
