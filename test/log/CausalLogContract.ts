/**
 * The CausalLog contract: one suite every adapter (memory, SQLite, Kafka) must pass.
 *
 * Records are real signed envelopes (fixed seeds), so a body that comes back from storage
 * must still be the exact canonical text that verifies.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Stream } from "effect"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { type Envelope, fromHex, idBytesOf, idOf, signingBytes } from "../../src/domain/Envelope.ts"
import { keyFromSecret } from "../../src/domain/Keys.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { CausalLog, type CausalLogError, type LogRecord, type NewRecord } from "../../src/ports/CausalLog.ts"
import { envelope, recordOf } from "../support/fixtures.ts"

const alice = keyFromSecret("ed25519", fromHex("a1".repeat(32)))
const bob = keyFromSecret("secp256k1", fromHex("b0".repeat(32)))

const signed = (
  key: typeof alice,
  nonce: number,
  lamport: number,
  deps: ReadonlyArray<MessageId>
): Envelope =>
  envelope(key, {
    nonce,
    lamport,
    deps: [...deps].sort(),
    payload: { component: `node-${nonce}`, status: "ok", latencyMs: lamport }
  })


// The fixture history, in log order. r4 is appended after r3 with a lower Lamport time, so
// log order and causal order differ; r0 and r1 tie on Lamport time, so the id breaks the tie;
// bob's highest nonce (7) is not his last one.
const e0 = signed(alice, 1, 1, [])
const e1 = signed(bob, 1, 1, [])
const e2 = signed(alice, 2, 2, [idOf(e0)])
const e3 = signed(bob, 7, 3, [idOf(e0), idOf(e1)])
const e4 = signed(alice, 3, 2, [idOf(e1)])
const e5 = signed(bob, 4, 5, [idOf(e3), idOf(e0)])
const [r0, r1, r2, r3, r4, r5] = [e0, e1, e2, e3, e4, e5].map(recordOf) as [
  NewRecord,
  NewRecord,
  NewRecord,
  NewRecord,
  NewRecord,
  NewRecord
]
const fixture: ReadonlyArray<NewRecord> = [r0, r1, r2, r3, r4, r5]
/** The fixture is appended in these batches. */
const batches: ReadonlyArray<ReadonlyArray<NewRecord>> = [[r0, r1, r2], [r3], [r4, r5]]

const stored = (r: NewRecord, offset: number): LogRecord => ({ ...r, offset })
const storedFixture: ReadonlyArray<LogRecord> = fixture.map(stored)
const at = (offset: number): LogRecord => storedFixture[offset] as LogRecord

// Written out rather than taken from compareCausal: the suite checks the adapters, not the
// domain's comparator.
const causalOrder: ReadonlyArray<LogRecord> = [...storedFixture].sort((a, b) =>
  a.lamport !== b.lamport ? a.lamport - b.lamport : a.id < b.id ? -1 : 1
)

const unknownId = "00".repeat(32)

/** Append the fixture in its batches; returns every acknowledgment. */
const populate = Effect.gen(function*() {
  const log = yield* CausalLog
  const acks = []
  for (const batch of batches) acks.push(...(yield* log.append(batch)))
  return acks
})

/**
 * Run the CausalLog contract against an adapter. `makeLayer` must build a fresh, empty log
 * each time it is called (a new temp file, a new topic).
 */
export const causalLogContract = (
  name: string,
  makeLayer: () => Layer.Layer<CausalLog, CausalLogError>
): void => {
  describe(`CausalLog contract: ${name}`, () => {
    const fresh = <A, E>(self: Effect.Effect<A, E, CausalLog>) => Effect.provide(self, makeLayer())

    it.effect("an empty log has nothing in it", () =>
      fresh(Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.endOffset).toBe(0)
        expect(yield* log.maxLamport).toBe(0)
        expect(yield* log.read(0, 10)).toEqual([])
        expect(yield* log.readCausal(0, 10)).toEqual([])
        expect(yield* log.scan(0, 10, { withBody: true }, () => expect.unreachable())).toBe(0)
        expect(yield* log.get(r0.id)).toEqual(Option.none())
        expect((yield* log.lookup([r0.id])).size).toBe(0)
        expect(yield* log.dependents(r0.id)).toEqual([])
        expect(yield* log.highestNonce(alice.publicKey)).toEqual(Option.none())
        expect(yield* log.senders(undefined, 10)).toEqual({ page: [], total: 0 })
      })))

    it.effect("append acknowledges dense offsets and the records' Lamport times, across batches", () =>
      fresh(Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.append([])).toEqual([])
        expect(yield* log.endOffset).toBe(0)
        const acks = yield* populate
        expect(acks).toEqual(fixture.map((r, offset) => ({ id: r.id, offset, lamport: r.lamport })))
        expect(yield* log.endOffset).toBe(fixture.length)
        expect(yield* log.read(0, 100)).toEqual(storedFixture)
      })))

    it.effect("append is atomic: a batch holding a duplicate id fails and appends nothing", () =>
      fresh(Effect.gen(function*() {
        const log = yield* CausalLog
        yield* log.append([r0])
        const rejected: ReadonlyArray<ReadonlyArray<NewRecord>> = [
          [r1, r2, r1], // duplicate within the batch, after good records
          [r1, r0], // duplicate of a record already in the log
          [r0]
        ]
        for (const batch of rejected) {
          const error = yield* Effect.flip(log.append(batch))
          expect(error._tag).toBe("CausalLogError")
          expect(error.operation).toBe("append")
        }
        // Nothing of the failed batches is visible through any method.
        expect(yield* log.endOffset).toBe(1)
        expect(yield* log.read(0, 100)).toEqual([at(0)])
        expect(yield* log.get(r1.id)).toEqual(Option.none())
        expect(yield* log.get(r2.id)).toEqual(Option.none())
        expect((yield* log.lookup([r1.id, r2.id])).size).toBe(0)
        expect(yield* log.dependents(r0.id)).toEqual([])
        expect(yield* log.highestNonce(bob.publicKey)).toEqual(Option.none())
        expect(yield* log.maxLamport).toBe(1)
        expect(yield* log.readCausal(0, 100)).toEqual([at(0)])
        // And the log goes on densely after the failures.
        expect(yield* log.append([r1, r2])).toEqual([
          { id: r1.id, offset: 1, lamport: r1.lamport },
          { id: r2.id, offset: 2, lamport: r2.lamport }
        ])
        expect(yield* log.read(0, 100)).toEqual([at(0), at(1), at(2)])
      })))

    it.effect("subscribe delivers the records already there, then each one appended later", () =>
      fresh(Effect.gen(function*() {
        const log = yield* CausalLog
        yield* log.append([r0, r1, r2])
        const caughtUp = yield* Deferred.make<void>()
        const fiber = yield* log.subscribe(0).pipe(
          Stream.tap((r) => (r.offset === 2 ? Deferred.succeed(caughtUp, undefined) : Effect.void)),
          Stream.take(6),
          Stream.runCollect,
          Effect.forkChild
        )
        yield* Deferred.await(caughtUp)
        yield* log.append([r3])
        yield* log.append([r4, r5])
        expect(yield* Fiber.join(fiber)).toEqual(storedFixture)
      })))

    it.effect("subscribe from a middle offset starts there, and from the end waits for the next record", () =>
      fresh(Effect.gen(function*() {
        const log = yield* CausalLog
        yield* log.append([r0, r1, r2, r3])
        expect(yield* log.subscribe(2).pipe(Stream.take(2), Stream.runCollect)).toEqual([at(2), at(3)])
        const fromEnd = yield* log.subscribe(4).pipe(Stream.take(2), Stream.runCollect, Effect.forkChild)
        yield* log.append([r4])
        yield* log.append([r5])
        expect(yield* Fiber.join(fromEnd)).toEqual([at(4), at(5)])
      })))

    // Read-only queries share one populated log.
    layer(Layer.effectDiscard(populate).pipe(Layer.provideMerge(makeLayer())))("on a populated log", (it) => {
      it.effect("read returns from <= offset < to, clipped to the log", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          expect(yield* log.read(0, fixture.length)).toEqual(storedFixture)
          expect(yield* log.read(2, 4)).toEqual([at(2), at(3)])
          expect(yield* log.read(4, 1_000)).toEqual([at(4), at(5)])
          expect(yield* log.read(-3, 1)).toEqual([at(0)])
          expect(yield* log.read(3, 3)).toEqual([])
          expect(yield* log.read(4, 2)).toEqual([])
          expect(yield* log.read(fixture.length, fixture.length + 10)).toEqual([])
        }))

      it.effect("bodies come back byte for byte and still verify", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          const verifier = NodeCryptoSignatureVerifier.make()
          for (const r of yield* log.read(0, fixture.length)) {
            const e = JSON.parse(r.body) as Envelope
            expect(canonicalize(e)).toBe(r.body)
            expect(idOf(e)).toBe(r.id)
            expect(verifier.verify(e.scheme, e.sender, signingBytes(idBytesOf(e)), fromHex(e.sig))).toBe(true)
          }
        }))

      it.effect("scan visits the range in order and returns the count; without bodies the body is empty", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          const withBody: Array<LogRecord> = []
          expect(yield* log.scan(1, 100, { withBody: true }, (r) => withBody.push(r))).toBe(5)
          expect(withBody).toEqual(storedFixture.slice(1))
          const headers: Array<LogRecord> = []
          expect(yield* log.scan(0, 4, { withBody: false }, (r) => headers.push(r))).toBe(4)
          expect(headers).toEqual(storedFixture.slice(0, 4).map((r) => ({ ...r, body: "" })))
          expect(yield* log.scan(3, 3, { withBody: true }, () => expect.unreachable())).toBe(0)
          expect(yield* log.scan(5, 2, { withBody: false }, () => expect.unreachable())).toBe(0)
          expect(yield* log.scan(6, 9, { withBody: true }, () => expect.unreachable())).toBe(0)
        }))

      it.effect("scan without links leaves id empty and deps empty, with or without bodies", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          for (const withBody of [true, false]) {
            const seen: Array<LogRecord> = []
            expect(yield* log.scan(0, 100, { withBody, withLinks: false }, (r) => seen.push(r))).toBe(storedFixture.length)
            expect(seen).toEqual(storedFixture.map((r) => ({ ...r, id: "", deps: [], body: withBody ? r.body : "" })))
          }
          expect(storedFixture.some((r) => r.deps.length > 0)).toBe(true) // so the check above can fail
        }))

      it.effect("readCausal orders by (lamport, id), from a Lamport time, up to a limit", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          expect(yield* log.readCausal(0, 100)).toEqual(causalOrder)
          expect(yield* log.readCausal(1, 100)).toEqual(causalOrder)
          expect(yield* log.readCausal(0, 3)).toEqual(causalOrder.slice(0, 3))
          expect(yield* log.readCausal(2, 100)).toEqual(causalOrder.filter((r) => r.lamport >= 2))
          expect(yield* log.readCausal(2, 2)).toEqual(causalOrder.filter((r) => r.lamport >= 2).slice(0, 2))
          expect(yield* log.readCausal(4, 100)).toEqual([at(5)])
          expect(yield* log.readCausal(6, 100)).toEqual([])
          expect(yield* log.readCausal(0, 0)).toEqual([])
        }))

      it.effect("get finds a record by id", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          for (const r of storedFixture) expect(yield* log.get(r.id)).toEqual(Option.some(r))
          expect(yield* log.get(unknownId)).toEqual(Option.none())
        }))

      it.effect("lookup answers offset and Lamport time of the known ids only", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          const refs = yield* log.lookup([r3.id, unknownId, r0.id, r4.id])
          expect(new Map(refs)).toEqual(
            new Map([
              [r3.id, { offset: 3, lamport: r3.lamport }],
              [r0.id, { offset: 0, lamport: r0.lamport }],
              [r4.id, { offset: 4, lamport: r4.lamport }]
            ])
          )
          expect((yield* log.lookup([])).size).toBe(0)
          expect((yield* log.lookup([unknownId])).size).toBe(0)
        }))

      it.effect("dependents lists the records naming an id among their deps, in log order", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          expect(yield* log.dependents(r0.id)).toEqual([at(2), at(3), at(5)])
          expect(yield* log.dependents(r1.id)).toEqual([at(3), at(4)])
          expect(yield* log.dependents(r3.id)).toEqual([at(5)])
          expect(yield* log.dependents(r5.id)).toEqual([])
          expect(yield* log.dependents(unknownId)).toEqual([])
          // Paged: from an offset on, at most `limit`.
          expect(yield* log.dependents(r0.id, { limit: 2 })).toEqual([at(2), at(3)])
          expect(yield* log.dependents(r0.id, { from: at(3).offset })).toEqual([at(3), at(5)])
          expect(yield* log.dependents(r0.id, { from: at(3).offset + 1, limit: 5 })).toEqual([at(5)])
          expect(yield* log.dependents(r0.id, { from: at(5).offset + 1 })).toEqual([])
        }))

      it.effect("highestNonce is the highest (not the last) nonce per sender", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          expect(yield* log.highestNonce(alice.publicKey)).toEqual(Option.some(3))
          expect(yield* log.highestNonce(bob.publicKey)).toEqual(Option.some(7))
          expect(yield* log.highestNonce("02" + "00".repeat(32))).toEqual(Option.none())
        }))

      it.effect("senders: each sender's record count and latest Lamport time, in key order, in pages, with the count of all", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          const [first, second] = [alice.publicKey, bob.publicKey].sort() as [string, string]
          const stats = { [alice.publicKey]: { count: 3, latestLamport: 2 }, [bob.publicKey]: { count: 3, latestLamport: 5 } }
          expect(yield* log.senders(undefined, 10)).toEqual({ page: [first, second].map((sender) => ({ sender, ...stats[sender] })), total: 2 })
          expect(yield* log.senders(undefined, 1)).toEqual({ page: [{ sender: first, ...stats[first] }], total: 2 })
          expect(yield* log.senders(first, 1)).toEqual({ page: [{ sender: second, ...stats[second] }], total: 2 })
          expect(yield* log.senders(second, 1)).toEqual({ page: [], total: 2 })
        }))

      it.effect("maxLamport and endOffset", () =>
        Effect.gen(function*() {
          const log = yield* CausalLog
          expect(yield* log.maxLamport).toBe(5)
          expect(yield* log.endOffset).toBe(fixture.length)
        }))
    })
  })
}
