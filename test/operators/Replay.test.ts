/**
 * A history of intents (conflicts, expiries, commit-reveal: revealed, unrevealed, refused
 * reveals) and auctions (won on a tie, forfeited bids, early and late reveals), admitted
 * through the real ingest pipeline with the instance's seals published by Author: the live
 * runner's digest is the digest a replay from offset 0 reaches, and a runner restarted from
 * its snapshot folds on to the same digest.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { bidCommitment } from "../../src/domain/operators/Auction.ts"
import { intentCommitment } from "../../src/domain/operators/Intents.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { projections } from "../../src/main.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import { ProjectionStore } from "../../src/ports/ProjectionStore.ts"
import { auctionOf, intentById, makeOperators, refusalOf } from "../../src/projections/Operators/Operators.ts"
import { digestText, serialize } from "../../src/projections/Projection.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import * as Author from "../../src/services/Author.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { intent, salt } from "./support.ts"

const instance = testKey("instance")
const [alice, bob, carol, dave] = ["alice", "bob", "carol", "dave"].map((l) => testKey(l)) as [KeyFile, KeyFile, KeyFile, KeyFile]
const context = { instanceKey: instance.publicKey }
const Operators = makeOperators(context)
const runnerOptions = { snapshotEvery: 1_000_000, pageSize: 7 }

const storage = Layer.mergeAll(
  MemoryCausalLog.layerMemory,
  SqliteProjectionStore.layerMemory,
  NodeCryptoSignatureVerifier.layer,
  InstanceKeyFile.layerKey(instance)
)
const services = Author.layer.pipe(
  Layer.provideMerge(Ingest.layer({ ...Ingest.defaultOptions, exemptSenders: [instance.publicKey] })),
  Layer.provideMerge(storage)
)

describe("operators replay", () => {
  it.effect("a live fold of an intents-and-auctions history reaches the replay's digest, and resumes from its snapshot", () =>
    Effect.gen(function*() {
      const ingest = yield* Ingest.Ingest
      const author = yield* Author.Author
      const log = yield* CausalLog
      const store = yield* ProjectionStore
      const nonces = new Map<string, number>()
      const submit = (key: KeyFile, type: MessageType, payload: unknown) =>
        Effect.gen(function*() {
          const nonce = (nonces.get(key.publicKey) ?? 0) + 1
          nonces.set(key.publicKey, nonce)
          const e = envelope(key, { type, payload, nonce, lamport: (yield* ingest.clock) + 1 })
          return (yield* ingest.submit(e)).id
        })
      let batch = 0
      const seal = (sealedAt: number) => author.publish("BatchSealed", { batch: batch++, sealedAt, beaconRound: null })
      const T = 1_700_000_000_000

      const live = yield* Effect.scoped(Effect.gen(function*() {
        const runner = yield* ProjectionRunner.make(projections(context), runnerOptions)
        // Alice, bob and carol are registered operators; dave is not. This ingest has no registry
        // check, as a version before the rule: dave's intents reach the log, and every fold
        // ignores them the same way. Carol is removed later, and her intent after that is ignored too.
        for (const k of [alice, bob, carol]) yield* author.publish("OperatorRegistered", { operator: k.publicKey })
        const d1 = yield* submit(dave, "ComputationIntent", intent([1], T, T + 20_000))
        // Round 0: alice and bob want order 1; alice first. Bob commits to order 2 and reveals; carol bids.
        const a1 = yield* submit(alice, "ComputationIntent", intent([1, 3], T, T + 20_000))
        const b1 = yield* submit(bob, "ComputationIntent", intent([1], T, T + 20_000))
        const bobBody = intent([2], T, T + 60_000)
        const bc = yield* submit(bob, "IntentCommitment", { commitment: intentCommitment(bob.publicKey, bobBody, salt("bc")) })
        const cb = yield* submit(carol, "IntentCommitment", { commitment: intentCommitment(carol.publicKey, intent([4], T, T + 9000), salt("cb")) })
        const aBid = yield* submit(alice, "AuctionBidCommitment", { batch: 0, commitment: bidCommitment(alice.publicKey, 0, 50n, salt("ab")) })
        const bBid = yield* submit(bob, "AuctionBidCommitment", { batch: 0, commitment: bidCommitment(bob.publicKey, 0, 50n, salt("bb")) })
        const cBid = yield* submit(carol, "AuctionBidCommitment", { batch: 0, commitment: bidCommitment(carol.publicKey, 0, 99n, salt("cb")) })
        const early = yield* submit(bob, "AuctionBidReveal", { commitmentId: bBid, amount: "50", salt: salt("bb") })
        yield* submit(bob, "IntentReveal", { commitmentId: bc, intent: bobBody, salt: salt("bc") })
        yield* seal(T + 1000) // batch 0: round 0 settles, auction 0 closes
        // Round 1: carol's late intent reveal is refused; reveals of auction 0; carol never reveals her bid.
        const lateReveal = yield* submit(carol, "IntentReveal", { commitmentId: cb, intent: intent([4], T, T + 9000), salt: salt("cb") })
        yield* submit(bob, "AuctionBidReveal", { commitmentId: bBid, amount: "50", salt: salt("bb") })
        yield* submit(alice, "AuctionBidReveal", { commitmentId: aBid, amount: "50", salt: salt("ab") })
        const c2 = yield* submit(carol, "ComputationIntent", intent([2], T + 30_000, T + 90_000))
        yield* seal(T + 21_000) // batch 1: alice's intent expires; auction 0 settles
        const b2 = yield* submit(bob, "ComputationIntent", intent([1, 3], T + 21_000, T + 40_000))
        const lateBid = yield* submit(carol, "AuctionBidReveal", { commitmentId: cBid, amount: "99", salt: salt("cb") })
        yield* author.publish("OperatorRemoved", { operator: carol.publicKey })
        const c3 = yield* submit(carol, "ComputationIntent", intent([5], T + 21_000, T + 40_000))
        yield* seal(T + 22_000)
        yield* runner.awaitOffset(yield* log.endOffset)
        const { state } = yield* runner.state(Operators)
        expect(intentById(state, a1)).toMatchObject({ status: "expired", expiredInBatch: 1 })
        expect(intentById(state, b1)).toMatchObject({ status: "refused", conflictWith: a1 })
        expect(intentById(state, bc)).toMatchObject({ status: "held", via: "commit-reveal", body: bobBody })
        expect(intentById(state, cb)).toMatchObject({ status: "unrevealed" })
        expect(refusalOf(state, lateReveal)?.reason).toMatch(/settled unrevealed/)
        expect(intentById(state, c2)).toMatchObject({ status: "refused", conflictWith: bc })
        expect(intentById(state, b2)).toMatchObject({ status: "held", settledInBatch: 2 })
        expect(intentById(state, d1)).toBeUndefined()
        expect(intentById(state, c3)).toBeUndefined()
        expect(refusalOf(state, early)?.reason).toMatch(/still open/)
        expect(refusalOf(state, lateBid)?.reason).toMatch(/forfeited/)
        const auction = auctionOf(state, 0)
        expect(auction?.auction).toMatchObject({ phase: "settled", winner: aBid })
        expect(auction?.bids.map((b) => b.status)).toEqual(["revealed", "revealed", "forfeited"])
        return (yield* runner.status).find((s) => s.name === Operators.name)
      }))

      const end = yield* log.endOffset
      expect(live).toMatchObject({ name: "operators", offset: end })
      const replayed = yield* ProjectionRunner.replay(log, projections(context))
      expect(replayed.digests["operators"]).toBe(live?.digest)
      const snapshot = Option.getOrThrow(yield* store.load("operators"))
      expect(snapshot.offset).toBe(end)
      // The runner resumes only from a snapshot that decodes and re-encodes to its own text.
      expect(serialize(Operators, Operators.decode(JSON.parse(snapshot.state)))).toBe(snapshot.state)
      expect(digestText(snapshot.state)).toBe(live?.digest)

      // Restart over the same log and snapshot, then fold two more records: a bid for batch 3 and its seal.
      const resumed = yield* Effect.scoped(Effect.gen(function*() {
        const runner = yield* ProjectionRunner.make(projections(context), runnerOptions)
        yield* submit(carol, "AuctionBidCommitment", { batch: 3, commitment: bidCommitment(carol.publicKey, 3, 1n, salt("c3")) })
        yield* seal(T + 50_000)
        yield* runner.awaitOffset(end + 2)
        return (yield* runner.status).find((s) => s.name === Operators.name)
      }))
      const again = yield* ProjectionRunner.replay(log, projections(context))
      expect(resumed?.offset).toBe(end + 2)
      expect(resumed?.digest).toBe(again.digests["operators"])
      expect(resumed?.digest).not.toBe(live?.digest)
    }).pipe(Effect.provide(services)))
})
