/**
 * Records a hostile Kafka writer produces straight to the topics (with a sequence record
 * naming them) are checked from their bytes before the merge applies them: a body that is
 * not the signed envelope its headers describe never gets an offset, on the instance that
 * was running when they came and on one that rebuilds from the topics alike, and a validly
 * signed record from a writer outside causeway is applied like any other.
 */
import { randomUUID } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Kafka, logLevel } from "kafkajs"
import * as KafkaCausalLog from "../../src/adapters/kafka/KafkaCausalLog.ts"
import { encodeSequence, eventHeaders, partitionFor } from "../../src/adapters/kafka/KafkaRecordCodec.ts"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import type { NewRecord } from "../../src/ports/CausalLog.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"
import { awaitEnd, snapshotOf } from "./support/digests.ts"
import { freshTopics, optionsFor } from "./support/kafkaLayer.ts"
import { startBroker } from "./support/TestBroker.ts"
import { warningsLogger } from "./support/warnings.ts"

const choice = await startBroker()

const instance = testKey("forgery-instance")
const victim = testKey("forgery-victim")
const mallory = testKey("forgery-mallory")
const outsider = testKey("forgery-outsider")

/** A record as Kafka carries it: headers may lie about the body. */
interface Raw {
  readonly label: string
  readonly headers: NewRecord
  readonly body: string
}

const forgeries = (): ReadonlyArray<Raw> => {
  const signed = recordOf(envelope(mallory, { nonce: 1, lamport: 2 }))
  // 1. Unsigned: a body claiming the instance as its sender, with a signature of zeros.
  const unsignedEnv = { ...envelope(instance, { nonce: 7, lamport: 2, type: "NetworkHealth" }), sig: "00".repeat(64) }
  const unsigned = { ...recordOf(unsignedEnv as never), body: canonicalize(unsignedEnv) }
  // 2. Validly signed by mallory, under the victim's sender header.
  const underOther = { ...signed, sender: victim.publicKey }
  // 3. An id header that is not the body's hash.
  const wrongId = { ...recordOf(envelope(mallory, { nonce: 2, lamport: 2 })), id: "ab".repeat(32) } as NewRecord
  // 4. The victim's sender and a nonce of 2^53-1 in the headers, over mallory's body.
  const nonceLock = { ...recordOf(envelope(mallory, { nonce: 3, lamport: 2 })), sender: victim.publicKey, nonce: Number.MAX_SAFE_INTEGER }
  // 5. The envelope, validly signed, stored in another encoding than its canonical one.
  const spaced = recordOf(envelope(mallory, { nonce: 4, lamport: 2 }))
  // 6. Not JSON at all.
  const junk = { ...recordOf(envelope(mallory, { nonce: 5, lamport: 2 })), body: "not json" }
  return [
    { label: "unsigned", headers: unsigned, body: unsigned.body },
    { label: "signed under another sender", headers: underOther, body: signed.body },
    { label: "id not the body's hash", headers: wrongId, body: wrongId.body },
    { label: "nonce 2^53-1 under the victim", headers: nonceLock, body: nonceLock.body },
    { label: "not canonical", headers: spaced, body: JSON.stringify(JSON.parse(spaced.body), null, 1) },
    { label: "not JSON", headers: junk, body: junk.body }
  ]
}


if ("skipped" in choice) {
  describe.skip(`Kafka record checks (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  describe("Kafka record checks against a hostile writer", () => {
    it.live("forged records are skipped by every reader; a signed outsider's record is applied; the victim can still send", () => {
      const warnings: Array<string> = []
      return Effect.gen(function*() {
        const prefix = yield* freshTopics(broker, "forgery")
        const options = optionsFor(broker, prefix)
        const kafka = new Kafka({ clientId: "forger", brokers: [...broker.brokers], logLevel: logLevel.NOTHING })
        const producer = kafka.producer()
        yield* Effect.promise(() => producer.connect())
        yield* Effect.addFinalizer(() => Effect.promise(() => producer.disconnect()))
        // Each raw record is produced to its partition and named by a sequence record of its own.
        const produceRaw = (raws: ReadonlyArray<Raw>) =>
          Effect.promise(async () => {
            for (const raw of raws) {
              const partition = partitionFor(raw.headers.sender, 3)
              const sent = await producer.send({
                topic: `${prefix}events`,
                acks: -1,
                messages: [{ partition, key: raw.headers.sender, value: raw.body, headers: eventHeaders(raw.headers, 1_000) }]
              })
              const offset = Number(sent[0]?.baseOffset)
              await producer.send({
                topic: `${prefix}sequence`,
                acks: -1,
                messages: [{ partition: 0, value: encodeSequence({ v: 1, batch: randomUUID(), events: [[partition, offset, raw.headers.id]] }) }]
              })
            }
          })

        const forged = forgeries()
        const legit = recordOf(envelope(outsider, { nonce: 1, lamport: 3 }))
        const live = yield* Effect.scoped(Effect.gen(function*() {
          const a = yield* KafkaCausalLog.start(options)
          yield* a.ready
          yield* a.service.append([recordOf(envelope(victim, { nonce: 1, lamport: 1 }))])
          yield* produceRaw(forged)
          yield* produceRaw([{ label: "outsider", headers: legit, body: legit.body }])
          yield* awaitEnd(a.service, 2)
          // The victim's next message is taken: no forged nonce stands in its way.
          yield* a.service.append([recordOf(envelope(victim, { nonce: 2, lamport: 4 }))])
          return {
            snapshot: yield* snapshotOf(a.service),
            refused: yield* a.refused,
            victimNonce: yield* a.service.highestNonce(victim.publicKey),
            forgedFound: yield* Effect.forEach(forged, (f) => a.service.get(f.headers.id).pipe(Effect.map(Option.isSome)))
          }
        }))
        expect(live.snapshot.records.map((r) => r.sender)).toEqual([victim.publicKey, outsider.publicKey, victim.publicKey])
        expect(live.snapshot.records[1]?.id).toBe(legit.id)
        expect(live.forgedFound).toEqual(forged.map(() => false))
        expect(live.victimNonce).toEqual(Option.some(2))
        expect(live.refused).toEqual({ signature: 1, header: 2, id: 1, encoding: 1, body: 1 })
        for (const kind of ["signature", "header", "id", "encoding", "body"]) {
          expect(warnings.some((w) => w.includes(`refused (${kind})`)), kind).toBe(true)
        }

        // A reader that starts afterwards rebuilds the same log from the topics.
        const rebuilt = yield* Effect.scoped(Effect.gen(function*() {
          const b = yield* KafkaCausalLog.start(options)
          yield* b.ready
          return { snapshot: yield* snapshotOf(b.service), refused: yield* b.refused }
        }))
        expect(rebuilt.snapshot.records).toEqual(live.snapshot.records)
        expect(rebuilt.snapshot.digests).toEqual(live.snapshot.digests)
        expect(rebuilt.refused).toEqual(live.refused)
      }).pipe(Effect.scoped, Effect.orDie, Effect.provide(warningsLogger(warnings)))
    }, 90_000)
  })
}
