import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Result } from "effect"
import { TestClock } from "effect/testing"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { envelope, testKey } from "../support/fixtures.ts"

const alice = testKey("alice")
const bob = testKey("bob", "secp256k1")
const carol = testKey("carol")

// Every case runs with signatures checked on the thread pool and on the event loop.
for (const verifyOffThread of [true, false]) {
  const pipeline = (options: Partial<Ingest.IngestOptions> = {}) =>
    Ingest.layer({ ...Ingest.defaultOptions, verifyOffThread, ...options }).pipe(
      Layer.provideMerge(Layer.mergeAll(MemoryCausalLog.layerMemory, NodeCryptoSignatureVerifier.layer))
    )

  /**
   * Wait until `n` messages are held (more, or fewer once some are released). In real time, not the test clock's: off the event loop,
   * a submission reaches the writer only when the thread pool has answered its signatures.
   */
  const untilHeld = (n: number) =>
    Effect.gen(function*() {
      const ingest = yield* Ingest.Ingest
      for (let i = 0; i < 5000 && (yield* ingest.pending) !== n; i++) {
        yield* Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 1)))
      }
      expect(yield* ingest.pending).toBe(n)
    })

  const rejectionOf = (value: unknown) =>
    Effect.gen(function*() {
      const ingest = yield* Ingest.Ingest
      const log = yield* CausalLog
      const before = yield* log.endOffset
      const error = yield* Effect.flip(ingest.submit(value))
      expect(yield* log.endOffset).toBe(before) // nothing appended on a rejection
      return error
    })

  describe(`Ingest (signatures ${verifyOffThread ? "off the event loop" : "on the event loop"})`, () => {
    it.effect("admits a valid message of either scheme and acknowledges offset and lamport", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const log = yield* CausalLog
        const a = envelope(alice, { lamport: 3 })
        const b = envelope(bob, { lamport: 4, deps: [idOf(a)] })
        const ra = yield* ingest.submit(a)
        const rb = yield* ingest.submit(b)
        expect(ra).toEqual({ id: idOf(a), offset: 0, lamport: 3 })
        expect(rb).toEqual({ id: idOf(b), offset: 1, lamport: 4 })
        expect(yield* ingest.clock).toBeGreaterThan(4)
        const stored = yield* log.get(idOf(b))
        expect(stored._tag).toBe("Some")
        expect(yield* log.dependents(idOf(a))).toHaveLength(1)
      }).pipe(Effect.provide(pipeline())))

    it.effect("rejects each malformed or unauthentic message with its own typed reason", () =>
      Effect.gen(function*() {
        const ok = envelope(alice)
        const cases: Array<[unknown, string]> = [
          ["not an object", "MalformedMessage"],
          [{ ...ok, extra: 1 }, "MalformedMessage"],
          [{ ...ok, nonce: -1 }, "MalformedMessage"],
          [{ ...ok, nonce: 1.5 }, "MalformedMessage"],
          [{ ...ok, payload: { component: "x", status: "maybe", latencyMs: 1 } }, "MalformedMessage"],
          [envelope(alice, { v: 2 }), "UnsupportedProtocol"],
          [envelope(alice, { flags: 1 << 7 }), "UnsupportedProtocol"],
          [envelope(alice, { type: "Teleport" }), "UnknownMessageType"],
          [{ ...ok, sig: ok.sig.replace(/^../, ok.sig.startsWith("00") ? "01" : "00") }, "InvalidSignature"],
          [{ ...ok, lamport: 2 }, "InvalidSignature"],
          [envelope(alice, { expiry: 0 }), "MessageExpired"],
          [envelope(alice, { lamport: 10_000_000 }), "InvalidLamport"],
          [envelope(alice, { payload: { component: "x".repeat(64), status: "ok", latencyMs: 1 } }), "MessageTooLarge"]
        ]
        for (const [value, tag] of cases) {
          const error = yield* rejectionOf(value)
          expect(error._tag, JSON.stringify(value).slice(0, 120)).toBe(tag)
          expect("reason" in error && typeof error.reason === "string" && error.reason.length > 0).toBe(true)
        }
      }).pipe(Effect.provide(pipeline({ maxMessageBytes: 400 }))))

    it.effect("rejects a duplicate id and a replayed nonce", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const first = envelope(alice, { nonce: 5 })
        yield* ingest.submit(first)
        expect((yield* rejectionOf(first))._tag).toBe("DuplicateMessage")
        expect((yield* rejectionOf(envelope(alice, { nonce: 5, lamport: 2 })))._tag).toBe("NonceReplayed")
        expect((yield* rejectionOf(envelope(alice, { nonce: 4, lamport: 2 })))._tag).toBe("NonceReplayed")
        yield* ingest.submit(envelope(alice, { nonce: 9, lamport: 2 }))
      }).pipe(Effect.provide(pipeline())))

    it.effect("rate limits a sender past its burst, and refills with time", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const results = yield* ingest.submitMany([1, 2, 3, 4].map((n) => envelope(alice, { nonce: n })))
        expect(results.map((r) => (Result.isSuccess(r) ? "ok" : r.failure._tag))).toEqual([
          "ok",
          "ok",
          "ok",
          "RateLimited"
        ])
        yield* TestClock.adjust("1 second")
        expect((yield* ingest.submit(envelope(alice, { nonce: 5 }))).offset).toBe(3)
        // other senders have their own bucket
        expect((yield* ingest.submit(envelope(bob))).offset).toBe(4)
      }).pipe(Effect.provide(pipeline({ rate: { ratePerSec: 1, burst: 3 } }))))

    it.effect("rejects a Lamport stamp not above a dependency's", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const a = envelope(alice, { lamport: 5 })
        yield* ingest.submit(a)
        const error = yield* rejectionOf(envelope(bob, { lamport: 5, deps: [idOf(a)] }))
        expect(error._tag).toBe("InvalidLamport")
      }).pipe(Effect.provide(pipeline())))

    it.effect("holds a message with unknown dependencies until they arrive", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const a = envelope(alice, { lamport: 1 })
        const b = envelope(bob, { lamport: 2, deps: [idOf(a)] })
        const waiting = yield* Effect.forkChild(ingest.submit(b))
        yield* untilHeld(1)
        yield* TestClock.adjust("100 millis")
        expect(yield* ingest.pending).toBe(1)
        const ra = yield* ingest.submit(a)
        const rb = yield* Fiber.join(waiting)
        expect(ra.offset).toBe(0)
        expect(rb.offset).toBe(1)
        expect(yield* ingest.pending).toBe(0)
      }).pipe(Effect.provide(pipeline())))

    it.effect("rejects a held message whose dependencies never arrive, and keeps the log unchanged", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const log = yield* CausalLog
        const ghost = envelope(alice, { lamport: 1, nonce: 99 })
        const b = envelope(bob, { lamport: 2, deps: [idOf(ghost)] })
        const waiting = yield* Effect.forkChild(Effect.flip(ingest.submit(b)))
        yield* untilHeld(1)
        yield* TestClock.adjust("2 seconds")
        const error = yield* Fiber.join(waiting)
        expect(error._tag).toBe("UnknownDependencies")
        expect(error._tag === "UnknownDependencies" && error.missing).toEqual([idOf(ghost)])
        expect(yield* log.endOffset).toBe(0)
        expect(yield* ingest.pending).toBe(0)
      }).pipe(Effect.provide(pipeline({ pendingTimeoutMs: 1000 }))))

    it.effect("refuses to hold more than the pending limit", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const ghost = idOf(envelope(alice, { nonce: 1000 }))
        const results = yield* Effect.forkChild(
          ingest.submitMany([1, 2, 3].map((n) => envelope(bob, { nonce: n, lamport: 2, deps: [ghost] })))
        )
        yield* untilHeld(2)
        yield* TestClock.adjust("10 seconds")
        const out = yield* Fiber.join(results)
        expect(out.map((r) => (Result.isFailure(r) ? r.failure._tag : "ok"))).toEqual([
          "UnknownDependencies",
          "UnknownDependencies",
          "RateLimited"
        ])
      }).pipe(Effect.provide(pipeline({ pendingLimit: 2 }))))

    it.effect("holds at most a sender's share of the buffer: one sender cannot fill it for the others", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const ghost = idOf(envelope(alice, { nonce: 1000 }))
        const results = yield* Effect.forkChild(
          ingest.submitMany([
            ...[1, 2, 3].map((n) => envelope(bob, { nonce: n, lamport: 2, deps: [ghost] })),
            envelope(carol, { nonce: 1, lamport: 2, deps: [ghost] })
          ])
        )
        yield* untilHeld(3)
        yield* TestClock.adjust("10 seconds")
        const out = yield* Fiber.join(results)
        expect(out.map((r) => (Result.isFailure(r) ? r.failure._tag : "ok"))).toEqual([
          "UnknownDependencies",
          "UnknownDependencies",
          "RateLimited",
          "UnknownDependencies"
        ])
        const refused = out[2]
        expect(refused !== undefined && Result.isFailure(refused) && refused.failure._tag === "RateLimited" && refused.failure.reason).toMatch(/its share of the buffer/)
      }).pipe(Effect.provide(pipeline({ pendingLimit: 10, pendingPerSender: 2 }))))

    it.effect("holds at most a client's share of the buffer whatever its keys; another address's is still held; the counts return to 0 on release and timeout", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const a = envelope(alice, { lamport: 1 })
        const ghost = idOf(envelope(alice, { nonce: 1000 }))
        const sybil = [1, 2, 3, 4].map((i) => testKey(`sybil-${i}`))
        const deps = [idOf(a), idOf(a), ghost, ghost]
        const one = { key: "address:192.0.2.1" }
        const other = { key: "address:198.51.100.7" }
        // Four fresh keys from one address: the fourth is past the address's share (3).
        const fromOne = yield* Effect.forkChild(ingest.offerMany(sybil.map((k, i) => envelope(k, { lamport: 2, deps: [deps[i] as (typeof deps)[number]] })), one))
        yield* untilHeld(3)
        const fromOther = yield* Effect.forkChild(ingest.offer(envelope(carol, { lamport: 2, deps: [ghost] }), other))
        yield* untilHeld(4)
        expect([yield* ingest.pendingOf(one.key), yield* ingest.pendingOf(other.key)]).toEqual([3, 1])
        // The dependency arrives (the instance's own submission, no client): two are released and appended.
        expect((yield* ingest.submit(a)).offset).toBe(0)
        yield* untilHeld(2)
        expect([yield* ingest.pendingOf(one.key), yield* ingest.pendingOf(other.key)]).toEqual([1, 1])
        // The ghost never does: the other two time out.
        yield* TestClock.adjust("10 seconds")
        const outOne = yield* Fiber.join(fromOne)
        const outOther = yield* Fiber.join(fromOther)
        expect(outOne.map((r) => (Result.isFailure(r) ? r.failure._tag : r.success.offset))).toEqual([1, 2, "UnknownDependencies", "RateLimited"])
        const refused = outOne[3]
        expect(refused !== undefined && Result.isFailure(refused) && refused.failure._tag === "RateLimited" && refused.failure.reason).toBe(
          "the client address:192.0.2.1 already has 3 messages waiting for dependencies, its share of the buffer (3)"
        )
        expect(Result.isFailure(outOther) && outOther.failure._tag).toBe("UnknownDependencies")
        expect([yield* ingest.pending, yield* ingest.pendingOf(one.key), yield* ingest.pendingOf(other.key)]).toEqual([0, 0, 0])
      }).pipe(Effect.provide(pipeline({ pendingLimit: 100, pendingPerClient: 3, pendingTimeoutMs: 1000 }))))

    it.effect("never holds the instance's own submissions to a client's share", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const ghost = idOf(envelope(alice, { nonce: 1000 }))
        const results = yield* Effect.forkChild(ingest.submitMany([1, 2, 3].map((i) => envelope(testKey(`own-${i}`), { lamport: 2, deps: [ghost] }))))
        yield* untilHeld(3)
        yield* TestClock.adjust("10 seconds")
        expect((yield* Fiber.join(results)).map((r) => (Result.isFailure(r) ? r.failure._tag : "ok"))).toEqual(Array(3).fill("UnknownDependencies"))
      }).pipe(Effect.provide(pipeline({ pendingLimit: 100, pendingPerClient: 1, pendingTimeoutMs: 1000 }))))

    it.effect("submitMany answers a batch larger than a hand-off to the pool in order, bad signatures where they were", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const log = yield* CausalLog
        const forged = new Set([0, 63, 64, 65, 130, 199])
        const values: Array<unknown> = Array.from({ length: 200 }, (_, i) => {
          const e = envelope(i % 2 === 0 ? alice : bob, { nonce: i + 1, lamport: 1 + (i % 7) })
          if (i === 100) return { junk: i }
          return forged.has(i) ? { ...e, sig: e.sig.slice(0, -2) + (e.sig.endsWith("00") ? "01" : "00") } : e
        })
        const out = yield* ingest.submitMany(values)
        expect(out.map((r) => (Result.isSuccess(r) ? "ok" : r.failure._tag))).toEqual(
          values.map((_, i) => (i === 100 ? "MalformedMessage" : forged.has(i) ? "InvalidSignature" : "ok"))
        )
        expect(yield* log.endOffset).toBe(200 - forged.size - 1)
        // Offsets follow the batch's order.
        const offsets = out.flatMap((r) => (Result.isSuccess(r) ? [r.success.offset] : []))
        expect(offsets).toEqual(offsets.map((_, k) => k))
      }).pipe(Effect.provide(pipeline({ rate: { ratePerSec: 1000, burst: 1000 } }))))

    it.effect("a dependency on a message of the same batch: appended together, or found in the log when that one is a duplicate", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const a = envelope(alice, { nonce: 1, lamport: 1 })
        const b = envelope(bob, { nonce: 1, lamport: 2, deps: [idOf(a)] })
        // b names a, which comes earlier in the same batch.
        expect((yield* ingest.submitMany([a, b])).map((r) => (Result.isSuccess(r) ? r.success.offset : r.failure._tag))).toEqual([0, 1])
        // a again (a duplicate, refused) and c naming it: a is in the log, so c is admitted at once.
        const c = envelope(bob, { nonce: 2, lamport: 3, deps: [idOf(a)] })
        expect((yield* ingest.submitMany([a, c])).map((r) => (Result.isSuccess(r) ? r.success.offset : r.failure._tag))).toEqual([
          "DuplicateMessage",
          2
        ])
        expect(yield* ingest.pending).toBe(0)
      }).pipe(Effect.provide(pipeline())))

    it.effect("a batch larger than maxAppend is appended in transactions of at most maxAppend, in order, a dependency across two of them included", () => {
      const sizes: Array<number> = []
      const counted = Layer.effect(CausalLog, Effect.map(CausalLog, (log) => ({ ...log, append: (batch: Parameters<typeof log.append>[0]) => {
        sizes.push(batch.length)
        return log.append(batch)
      } }))).pipe(Layer.provide(MemoryCausalLog.layerMemory))
      const layer = Ingest.layer({ ...Ingest.defaultOptions, verifyOffThread, maxAppend: 16, rate: { ratePerSec: 1000, burst: 1000 } }).pipe(
        Layer.provideMerge(Layer.mergeAll(counted, NodeCryptoSignatureVerifier.layer))
      )
      return Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const values = Array.from({ length: 40 }, (_, i) => envelope(alice, { nonce: i + 1, lamport: i + 1 }))
        // The last one names the first: appended 24 records later, in another transaction.
        const last = envelope(bob, { nonce: 1, lamport: 100, deps: [idOf(values[0] as (typeof values)[number])] })
        const out = yield* ingest.submitMany([...values, last])
        expect(out.map((r) => (Result.isSuccess(r) ? r.success.offset : r.failure._tag))).toEqual(Array.from({ length: 41 }, (_, k) => k))
        expect(sizes).toEqual([16, 16, 9])
      }).pipe(Effect.provide(layer))
    })

    it.effect("submitMany answers each message in order within one batch", () =>
      Effect.gen(function*() {
        const ingest = yield* Ingest.Ingest
        const a = envelope(alice, { nonce: 1, lamport: 1 })
        const b = envelope(alice, { nonce: 2, lamport: 2, deps: [idOf(a)] })
        const out = yield* ingest.submitMany([a, { junk: true }, b, a])
        expect(out.map((r) => (Result.isSuccess(r) ? r.success.offset : r.failure._tag))).toEqual([
          0,
          "MalformedMessage",
          1,
          "DuplicateMessage"
        ])
      }).pipe(Effect.provide(pipeline())))
  })
}
