/**
 * The Kafka log under failure: brokers unreachable at start, the broker going away and
 * coming back mid-ingest, a consumer-group rebalance in the middle of a replay, and a
 * record over the broker's limit.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, Option } from "effect"
import { Kafka, logLevel } from "kafkajs"
import * as KafkaCausalLog from "../../src/adapters/kafka/KafkaCausalLog.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { Appended, NewRecord } from "../../src/ports/CausalLog.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"
import { awaitEnd, snapshotOf } from "./support/digests.ts"
import { freshTopics, optionsFor } from "./support/kafkaLayer.ts"
import { forward, freePort } from "./support/Forwarder.ts"
import { startBroker } from "./support/TestBroker.ts"

const choice = await startBroker()

const keys: ReadonlyArray<KeyFile> = ["ann", "ben", "dee", "hal"].map((l) => testKey(l))

/** Batch `i` of `size` records, one per sender in turn (so several partitions), Lamport rising. */
const batchOf = (i: number, size: number): Array<NewRecord> =>
  Array.from({ length: size }, (_, j) => {
    const key = keys[j % keys.length] as KeyFile
    const n = i * size + j + 1
    return recordOf(envelope(key, { nonce: n, lamport: n, payload: { component: "failover", status: "ok", latencyMs: n } }))
  })

if ("skipped" in choice) {
  describe.skip(`Kafka failures (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())

  describe(`Kafka failures (${broker.kind})`, () => {
    it.live("brokers unreachable at start: retries with backoff and a log line per attempt, no failure; ready once they answer", () => {
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => {
        lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      return Effect.scoped(Effect.gen(function*() {
        const prefix = yield* freshTopics(broker, "unreachable")
        const port = yield* freePort()
        const handle = yield* KafkaCausalLog.start(optionsFor(broker, prefix, {
          brokers: [`127.0.0.1:${port}`],
          retryInitialMs: 100,
          retryMaxMs: 400
        }))

        yield* Effect.sleep("1500 millis")
        const waiting = yield* handle.status
        expect(waiting._tag).toBe("Connecting")
        expect(waiting._tag === "Connecting" && waiting.attempt).toBeGreaterThanOrEqual(3)
        expect(waiting._tag === "Connecting" && waiting.lastError).toMatch(/ECONNREFUSED|connect/i)
        const failures = lines.filter((l) => l.includes(`cannot connect to 127.0.0.1:${port}`))
        expect(failures.length).toBeGreaterThanOrEqual(3)
        expect(failures[0]).toMatch(/retrying in 100 ms/)
        expect(failures.some((l) => /retrying in 400 ms/.test(l))).toBe(true) // backoff reached its cap
        // Not ready, and appends say why instead of hanging.
        expect(Exit.isSuccess(yield* Effect.exit(Effect.timeout(handle.ready, 10)))).toBe(false)
        const refused = yield* Effect.flip(handle.service.append(batchOf(0, 1)))
        expect(refused._tag).toBe("CausalLogError")
        expect(String(refused.cause)).toMatch(/not connected/)

        // The broker becomes reachable on that address: the next attempt connects.
        yield* forward(port, broker.brokers[0] as string)
        yield* handle.ready
        expect((yield* handle.status)._tag).toBe("Ready")
        const acks = yield* handle.service.append(batchOf(0, 2))
        expect(acks.map((a) => a.offset)).toEqual([0, 1])
      })).pipe(Effect.provide(Logger.layer([capture])))
    }, 30_000)

    it.live("a record over the broker's limit is refused before anything of its batch is produced", () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = yield* freshTopics(broker, "toolarge")
        const handle = yield* KafkaCausalLog.start(optionsFor(broker, prefix, { maxRecordBytes: 4096 }))
        yield* handle.ready
        const small = batchOf(0, 2)
        const big = recordOf(envelope(keys[0] as KeyFile, { nonce: 99, lamport: 99, payload: { component: "x".repeat(6000), status: "ok", latencyMs: 1 } }))
        const error = yield* Effect.flip(handle.service.append([...small, big]))
        expect(error._tag).toBe("CausalLogError")
        expect(error.cause).toBeInstanceOf(KafkaCausalLog.RecordTooLarge)
        const tooLarge = error.cause as KafkaCausalLog.RecordTooLarge
        expect(tooLarge.id).toBe(big.id)
        expect(tooLarge.limit).toBe(4096)
        expect(tooLarge.message).toMatch(/over the broker's limit of 4096/)
        // Nothing reached the topics: their end offsets did not move.
        const admin = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING }).admin()
        yield* Effect.promise(() => admin.connect())
        const ends = yield* Effect.promise(() => Promise.all([admin.fetchTopicOffsets(`${prefix}events`), admin.fetchTopicOffsets(`${prefix}sequence`)]))
        yield* Effect.promise(() => admin.disconnect())
        expect(ends.flat().every((o) => o.high === "0")).toBe(true)
        expect(yield* handle.service.endOffset).toBe(0)
        // The same batch without the big record goes through.
        expect((yield* handle.service.append(small)).length).toBe(2)
      })), 30_000)

    it.live("the broker goes down and comes back mid-ingest: no acknowledged record is lost, none is applied twice", () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = yield* freshTopics(broker, "restart")
        const options = optionsFor(broker, prefix)
        const a = yield* KafkaCausalLog.start(options)
        yield* a.ready

        const acked: Array<Appended> = []
        const failed: Array<string> = []
        let phase: "before" | "down" | "after" | "stop" = "before"
        const ackedIn = { before: 0, down: 0, after: 0, stop: 0 }
        let spannedOutage = 0
        const writer = yield* Effect.forkChild(Effect.gen(function*() {
          for (let i = 0; phase !== "stop"; i++) {
            const started = phase
            const exit = yield* Effect.exit(a.service.append(batchOf(i, 4)))
            if (Exit.isSuccess(exit)) {
              acked.push(...exit.value)
              ackedIn[started]++
              if (started !== "after" && phase !== started) spannedOutage++
            } else failed.push(String(exit.cause))
            yield* Effect.sleep("20 millis")
          }
        }))
        yield* Effect.sleep("500 millis")
        yield* Effect.promise(() => broker.down())
        phase = "down"
        yield* Effect.sleep("1500 millis")
        yield* Effect.promise(() => broker.up())
        phase = "after"
        while (ackedIn.after < 5) yield* Effect.sleep("100 millis")
        phase = "stop"
        yield* Fiber.join(writer)

        expect(ackedIn.before).toBeGreaterThan(0)
        // An append in flight when the broker went down was retried and acknowledged.
        expect(spannedOutage).toBeGreaterThan(0)
        // A fresh instance replays the topics; the first one has merged as far.
        const b = yield* KafkaCausalLog.start(options)
        yield* b.ready
        const end = yield* b.service.endOffset
        yield* awaitEnd(a.service, end)
        const [snapA, snapB] = [yield* snapshotOf(a.service), yield* snapshotOf(b.service)]
        const ids = snapB.records.map((r) => r.id)
        expect(new Set(ids).size).toBe(ids.length) // none applied twice
        for (const ack of acked) expect(snapB.records[ack.offset]?.id).toBe(ack.id) // none lost, each where acknowledged
        expect(snapB.records.length).toBeGreaterThanOrEqual(acked.length)
        expect(snapA.records).toEqual(snapB.records)
        expect(snapA.digests).toEqual(snapB.digests)
      })), 60_000)

    it.live("a consumer-group rebalance in the middle of a replay: the replay still reaches the same records and digests", () =>
      Effect.scoped(Effect.gen(function*() {
        const prefix = yield* freshTopics(broker, "rebalance")
        const a = yield* KafkaCausalLog.start(optionsFor(broker, prefix))
        yield* a.ready
        for (let i = 0; i < 40; i++) yield* a.service.append(batchOf(i, 5))
        const expected = yield* snapshotOf(a.service)
        expect(expected.end).toBe(200)

        // Another member of the replayer's group consumes everything and commits its offsets
        // (at the end of every partition), so the group resumes there after each rebalance.
        const groupId = `${prefix}replayer`
        const intruder = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING }).consumer({
          groupId,
          sessionTimeout: 3000,
          heartbeatInterval: 300,
          maxWaitTimeInMs: 100
        })
        let intruderJoins = 0
        intruder.on(intruder.events.GROUP_JOIN, () => void intruderJoins++)
        yield* Effect.promise(async () => {
          await intruder.connect()
          await intruder.subscribe({ topics: [`${prefix}events`, `${prefix}sequence`], fromBeginning: true })
          await intruder.run({ autoCommit: true, eachBatch: async () => {} })
        })
        yield* Effect.addFinalizer(() => Effect.promise(() => intruder.disconnect()))
        while (intruderJoins === 0) yield* Effect.sleep("100 millis")

        const b = yield* KafkaCausalLog.start(optionsFor(broker, prefix, { groupId, sessionTimeoutMs: 3000, heartbeatIntervalMs: 300 }))
        // B joins, the group rebalances, the partitions are split between the two members:
        // B cannot finish while the intruder holds some of them.
        while ((yield* b.groupJoins) === 0) yield* Effect.sleep("100 millis")
        yield* Effect.sleep("1000 millis")
        expect((yield* b.status)._tag).toBe("CatchingUp")
        // The intruder leaves mid-replay: another rebalance hands B every partition.
        yield* Effect.promise(() => intruder.disconnect())
        yield* b.ready
        expect(yield* b.groupJoins).toBeGreaterThanOrEqual(2)
        const got = yield* snapshotOf(b.service)
        expect(got.records).toEqual(expected.records)
        expect(got.digests).toEqual(expected.digests)
        expect(Option.isSome(yield* b.service.get(expected.records[199]?.id ?? ""))).toBe(true)
      })), 60_000)
  })
}
