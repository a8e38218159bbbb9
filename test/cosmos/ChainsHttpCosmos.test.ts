/**
 * End to end on the composition root: a server with a Cosmos chain configured follows the
 * in-process CometBFT RPC server through the light client; the chain feed publishes the
 * verified heads and the chain-state projection answers them over GET /v1/chains, with the
 * head the node's status claimed (rpcHead). With a witness serving a conflicting fork, the
 * evidence is published (ChainMisbehaviourDetected) and no head of the conflicting height,
 * while the primary's claimed head runs ahead of the verified one.
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
          const first = yield* eventually(get("/v1/chains"), (r) => r.json?.[0]?.finalized?.height === 3, 15_000)
          expect(first.json).toEqual([
            { chain: CHAIN, kind: "cosmos", latest: { height: 3, hash: hashAt(chain, 3) }, safe: null, finalized: { height: 3, hash: hashAt(chain, 3) }, reorgCount: 0 }
          ])
          // Across the validator-set change at height 5.
          chain.produceBlocks(4)
          const after = yield* eventually(get(`/v1/chains/${CHAIN}`), (r) => r.json?.latest?.height === 7 && r.json?.finalized?.height === 7, 15_000)
          expect(after.json).toMatchObject({ chain: CHAIN, kind: "cosmos", latestHeader: { height: 7, hash: hashAt(chain, 7) }, reorgCount: 0, ignored: 0 })
          // The node's status claimed 7 (the observer's state, unverified): no lag.
          expect(after.json.rpcHead).toEqual({ height: 7, at: expect.any(Number) })
          for (const h of [4, 5, 6]) {
            const header = yield* get(`/v1/chains/${CHAIN}/headers/${h}`)
            expect(header.status).toBe(200)
            expect(header.json.header).toMatchObject({ height: h, hash: hashAt(chain, h), parentHash: hashAt(chain, h - 1) })
            expect(header.json.finalized).toBe(true)
          }
        }).pipe(Effect.provide(Layer.fresh(server)))
      })
    ))

  it.live("publishes a witness's validly signed fork as misbehaviour evidence, and no head of it", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const chain = newChain()
        chain.produceBlocks(3)
        const fork = chain.fork()
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
          // Both agree up to 3; then the same validators sign two histories.
          const agreed = yield* eventually(get("/v1/chains"), (r) => r.json?.[0]?.finalized?.height === 3, 15_000)
          expect(agreed.json[0].latest).toEqual({ height: 3, hash: hashAt(chain, 3) })
          chain.produceBlocks(2, { writes: [{ store: "kv", key: "6b", value: Uint8Array.of(2) }] })
          fork.produceBlocks(2, { writes: [{ store: "kv", key: "6b", value: Uint8Array.of(3) }] })
          expect(hashAt(chain, 5)).not.toBe(hashAt(fork, 5))

          // The observer halts at the attack; the feed publishes the evidence (ChainMisbehaviourDetected) and no head above 3.
          const reported = yield* eventually(get(`/v1/chains/${CHAIN}`), (r) => (r.json?.misbehaviours?.length ?? 0) >= 1, 15_000)
          expect(reported.json.misbehaviours).toEqual([
            // Skipping 3 -> 5 lacks trust (the validator set changes at 5), so 4 was verified first and is the last common block.
            expect.objectContaining({ height: 5, primaryHash: hashAt(chain, 5), witnessHash: hashAt(fork, 5), commonHeight: 4, commonHash: hashAt(chain, 4) })
          ])
          expect(reported.json.latest).toEqual({ height: 3, hash: hashAt(chain, 3) })
          // The primary claims a head the halted observer will not verify: the verified head lags it.
          expect(reported.json.rpcHead.height).toBe(5)
        }).pipe(Effect.provide(Layer.fresh(server)))
      })
    ))
})
