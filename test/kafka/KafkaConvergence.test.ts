/**
 * ADR 0001's claim, tested: two instances on one Kafka log, ingesting concurrently into
 * several partitions (and racing on the same messages), reach the same records in the same
 * order and the same projection digests; a third instance replaying the topics from the
 * beginning reaches them too.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import * as KafkaCausalLog from "../../src/adapters/kafka/KafkaCausalLog.ts"
import { partitionFor } from "../../src/adapters/kafka/KafkaRecordCodec.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { CausalLog, type CausalLogService } from "../../src/ports/CausalLog.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { awaitEnd, snapshotOf } from "./support/digests.ts"
import { freshTopics, optionsFor } from "./support/kafkaLayer.ts"
import { startBroker } from "./support/TestBroker.ts"

const choice = await startBroker()

const ingestOver = (log: CausalLogService) =>
  Ingest.make({ ...Ingest.defaultOptions, pendingTimeoutMs: 2000 }).pipe(
    Effect.provide(Layer.mergeAll(Layer.succeed(CausalLog, log), NodeCryptoSignatureVerifier.layer))
  )

/** `count` messages of one sender, lamport 1.. and nonce 1.. */
const messagesOf = (key: KeyFile, count: number, from = 1): Array<Envelope> =>
  Array.from({ length: count }, (_, i) =>
    envelope(key, { nonce: from + i, lamport: from + i, payload: { component: `c${i % 3}`, status: "ok", latencyMs: i } }))

/** Submit in batches of `size`, one batch after the other; returns every result. */
const submitInBatches = (ingest: Ingest.IngestService, messages: ReadonlyArray<Envelope>, size: number) =>
  Effect.gen(function*() {
    const out: Array<Ingest.SubmitResult> = []
    for (let i = 0; i < messages.length; i += size) out.push(...(yield* ingest.submitMany(messages.slice(i, i + size))))
    return out
  })

if ("skipped" in choice) {
  describe.skip(`Kafka convergence (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())

  describe(`Kafka convergence (${broker.kind})`, () => {
    it.live("two instances converge on one order and one digest; a replay from the topics reaches both", () =>
      Effect.scoped(Effect.gen(function*() {
        const partitions = 4
        const prefix = yield* freshTopics(broker, "converge", partitions)
        const options = optionsFor(broker, prefix, { partitions })
        const [a, b] = yield* Effect.all([KafkaCausalLog.start(options), KafkaCausalLog.start(options)], { concurrency: 2 })
        yield* Effect.all([a.ready, b.ready], { concurrency: 2 })
        const ingestA = yield* ingestOver(a.service)
        const ingestB = yield* ingestOver(b.service)

        const [alice, carol, bob, dave] = ["ann", "dee", "ben", "hal"].map((l) => testKey(l)) as [KeyFile, KeyFile, KeyFile, KeyFile]
        // The senders spread over several partitions (else the test would not be about them).
        const used = new Set([alice, carol, bob, dave].map((k) => partitionFor(k.publicKey, partitions)))
        expect(used.size).toBe(4)

        // Phase 1: both instances ingest their own senders at the same time.
        const onA = [...messagesOf(alice, 40), ...messagesOf(carol, 40)]
        const onB = [...messagesOf(bob, 40), ...messagesOf(dave, 40)]
        const [resA, resB] = yield* Effect.all([submitInBatches(ingestA, onA, 8), submitInBatches(ingestB, onB, 8)], { concurrency: 2 })
        expect([...resA, ...resB].every(Result.isSuccess)).toBe(true)

        // Phase 2: each message submitted to both instances at once: it lands once. The
        // messages go one after another: racing them all at once may let a later nonce land
        // first, and then an earlier one is rightly refused on both instances as replayed.
        const raced = messagesOf(alice, 6, 41)
        const racing = yield* Effect.all(
          raced.map((m) => Effect.all([Effect.result(ingestA.submit(m)), Effect.result(ingestB.submit(m))], { concurrency: 2 })),
          { concurrency: 1 }
        )
        for (const [ra, rb] of racing) {
          expect(Result.isSuccess(ra) || Result.isSuccess(rb)).toBe(true)
          expect(Result.isSuccess(ra) && Result.isSuccess(rb)).toBe(false)
        }

        // Phase 3: a message on B that depends on one A acknowledged.
        const cause = envelope(carol, { nonce: 41, lamport: 50 })
        const ackA = yield* ingestA.submit(cause)
        yield* awaitEnd(b.service, ackA.offset + 1)
        const effect = envelope(dave, { nonce: 41, lamport: 51, deps: [idOf(cause)] })
        const ackB = yield* ingestB.submit(effect)
        expect(ackB.offset).toBeGreaterThan(ackA.offset)

        const total = onA.length + onB.length + raced.length + 2
        yield* Effect.all([awaitEnd(a.service, total), awaitEnd(b.service, total)], { concurrency: 2 })
        const [snapA, snapB] = [yield* snapshotOf(a.service), yield* snapshotOf(b.service)]
        expect(snapA.end).toBe(total)
        expect(new Set(snapA.records.map((r) => r.id)).size).toBe(total)
        expect(snapB.records).toEqual(snapA.records)
        expect(snapB.digests).toEqual(snapA.digests)
        // Both instances' ingests interleaved: the order is neither instance's alone.
        const senders = snapA.records.slice(0, onA.length + onB.length).map((r) => r.sender)
        const firstB = senders.findIndex((s) => s === bob.publicKey || s === dave.publicKey)
        expect(senders.slice(firstB).some((s) => s === alice.publicKey || s === carol.publicKey)).toBe(true)

        // A third instance rebuilds from the topics alone.
        const c = yield* KafkaCausalLog.start(options)
        yield* c.ready
        const snapC = yield* snapshotOf(c.service)
        expect(snapC.records).toEqual(snapA.records)
        expect(snapC.digests).toEqual(snapA.digests)
      })), 60_000)
  })
}
