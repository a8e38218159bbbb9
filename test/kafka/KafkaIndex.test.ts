/**
 * The Kafka log's local index in a file (ADR 0001): a restart reads only what the topics
 * gained since, and reaches exactly the records and digests of a rebuild from the topics; a
 * file that mirrors other topics or another cluster is rebuilt; a writer killed mid-append
 * leaves a file that resumes to the same log; orphan events expire at the same point of the
 * log for every reader.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Kafka, logLevel } from "kafkajs"
import * as KafkaCausalLog from "../../src/adapters/kafka/KafkaCausalLog.ts"
import { encodeSequence, eventHeaders, partitionFor } from "../../src/adapters/kafka/KafkaRecordCodec.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { NewRecord } from "../../src/ports/CausalLog.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"
import { snapshotOf } from "./support/digests.ts"
import { freshTopics, optionsFor } from "./support/kafkaLayer.ts"
import { startBroker } from "./support/TestBroker.ts"
import { warningsLogger } from "./support/warnings.ts"

const choice = await startBroker()
const keys: ReadonlyArray<KeyFile> = ["ivy", "jon", "kim"].map((l) => testKey(l))

const batchOf = (i: number, size: number, label = "index"): Array<NewRecord> =>
  Array.from({ length: size }, (_, j) => {
    const n = i * size + j + 1
    return recordOf(envelope(keys[j % keys.length] as KeyFile, { nonce: n, lamport: n, payload: { component: label, status: "ok", latencyMs: n } }))
  })

/** One life of an instance over `options`: started, ready, `body`, stopped. */
const life = <A, E>(options: KafkaCausalLog.KafkaLogOptions, body: (log: KafkaCausalLog.KafkaLogHandle) => Effect.Effect<A, E>) =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* KafkaCausalLog.start(options)
    yield* handle.ready
    return yield* body(handle)
  })).pipe(Effect.orDie)

/** What an in-memory index rebuilt from the topics holds: the reference. */
const rebuilt = (options: KafkaCausalLog.KafkaLogOptions) => life({ ...options, indexPath: ":memory:" }, (log) => snapshotOf(log.service))


if ("skipped" in choice) {
  describe.skip(`Kafka local index (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  const dirs: Array<string> = []
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "causeway-kafka-index-"))
    dirs.push(dir)
    return dir
  }
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
    await broker.stop()
  })

  describe(`Kafka local index (${broker.kind})`, () => {
    it.live("a restart resumes from the index file and reads only what the topics gained; it equals a rebuild", () =>
      Effect.gen(function*() {
        const indexPath = join(tempDir(), "kafka-index.sqlite")
        const options = optionsFor(broker, yield* freshTopics(broker, "index-resume"), { indexPath })

        const first = yield* life(options, (log) =>
          Effect.gen(function*() {
            for (let i = 0; i < 10; i++) yield* log.service.append(batchOf(i, 20))
            return { start: yield* log.indexStart, end: yield* log.service.endOffset }
          }))
        expect(first).toEqual({ start: { _tag: "Rebuilt", reason: "the index file is new" }, end: 200 })

        // Meanwhile another instance (index in memory) appends 40 more.
        yield* life({ ...options, indexPath: ":memory:" }, (log) =>
          Effect.gen(function*() {
            yield* log.service.append(batchOf(10, 20))
            yield* log.service.append(batchOf(11, 20))
          }))

        const second = yield* life(options, (log) =>
          Effect.gen(function*() {
            const caughtUp = { start: yield* log.indexStart, consumed: yield* log.consumed, end: yield* log.service.endOffset }
            // It goes on appending at the next dense offset.
            const acks = yield* log.service.append(batchOf(12, 20))
            return { ...caughtUp, firstAck: acks[0]?.offset, snapshot: yield* snapshotOf(log.service) }
          }))
        expect(second.start).toEqual({ _tag: "Resumed", records: 200, sequence: 10 })
        expect(second.end).toBe(240)
        expect(second.firstAck).toBe(240)
        // The 40 new events and 3 sequence records (the one before the position, checked again,
        // and the 2 new ones). A fetch from the start of a partition before the consumer's seek
        // lands would show here as more than that.
        expect(second.consumed).toEqual({ events: 40, sequence: 3 })

        const reference = yield* rebuilt(options)
        expect(second.snapshot.records).toEqual(reference.records)
        expect(second.snapshot.digests).toEqual(reference.digests)
      }), 90_000)

    it.live("an index file that mirrors other topics, or a sequence topic that is not the one it read, is rebuilt", () => {
      const warnings: Array<string> = []
      return Effect.gen(function*() {
        const indexPath = join(tempDir(), "kafka-index.sqlite")
        const a = optionsFor(broker, yield* freshTopics(broker, "index-a"), { indexPath })
        yield* life(a, (log) => Effect.forEach([0, 1, 2], (i) => log.service.append(batchOf(i, 10, "a"))))

        // Other topics: the file is emptied and filled from them.
        const b = optionsFor(broker, yield* freshTopics(broker, "index-b"), { indexPath })
        yield* life({ ...b, indexPath: ":memory:" }, (log) => Effect.forEach([0, 1, 2, 3], (i) => log.service.append(batchOf(i, 10, "b"))))
        const overB = yield* life(b, (log) => Effect.all({ start: log.indexStart, snapshot: snapshotOf(log.service) }))
        expect(overB.start).toEqual({ _tag: "Rebuilt", reason: `it mirrors the topics ${a.topicPrefix}events and ${a.topicPrefix}sequence` })
        expect(overB.snapshot.records).toEqual((yield* rebuilt(b)).records)
        expect(warnings.some((w) => w.includes("rebuilding the local index") && w.includes(`mirrors the topics ${a.topicPrefix}events`))).toBe(true)

        // The same topic names, but not the sequence topic the file was read from: here the
        // file is made to claim it mirrors `c`, whose topics hold more records than the file
        // (so every offset check passes) but other ones. The record before the position
        // differs, so the merge stops and the index is rebuilt from `c`.
        const c = optionsFor(broker, yield* freshTopics(broker, "index-c"), { indexPath })
        yield* life({ ...c, indexPath: ":memory:" }, (log) => Effect.forEach([0, 1, 2, 3, 4, 5], (i) => log.service.append(batchOf(i, 10, "c"))))
        const db = new DatabaseSync(indexPath)
        const state = JSON.parse((db.prepare("SELECT v FROM kafka_index WHERE k = 'state'").get() as { v: string }).v)
        expect(state.position.sequence).toBe(4)
        db.prepare("UPDATE kafka_index SET v = ? WHERE k = 'state'").run(JSON.stringify({
          ...state,
          topics: { events: `${c.topicPrefix}events`, sequence: `${c.topicPrefix}sequence` }
        }))
        db.close()
        const overC = yield* life(c, (log) => Effect.all({ start: log.indexStart, snapshot: snapshotOf(log.service), joins: log.groupJoins }))
        // The consumer that read the mismatch was replaced by a new one, which read `c` from the start.
        expect(overC.joins).toBeGreaterThanOrEqual(2)
        expect(overC.start).toMatchObject({ _tag: "Rebuilt", reason: expect.stringMatching(/^the sequence record at 3 is batch \S+ of 10, where the local index has batch \S+ of 10$/) })
        expect(warnings.some((w) => w.includes("does not match the topics (the sequence record at 3 is batch"))).toBe(true)
        expect(overC.snapshot.records).toEqual((yield* rebuilt(c)).records)
        expect(overC.snapshot.end).toBe(60)
      }).pipe(Effect.provide(warningsLogger(warnings)))
    }, 120_000)

    it.live("a writer killed mid-append leaves an index that resumes to the log a rebuild reads; every acknowledged record is in it", () =>
      Effect.gen(function*() {
        const indexPath = join(tempDir(), "kafka-index.sqlite")
        const options = optionsFor(broker, yield* freshTopics(broker, "index-crash"), { indexPath })
        const acked: Array<NewRecord["id"]> = []
        for (const batches of [8, 5]) {
          // Each life appends until it has seen `batches` acknowledgments, then is SIGKILLed
          // with its next append in flight.
          yield* Effect.promise(() =>
            new Promise<void>((resolve, reject) => {
              const child = spawn(process.execPath, ["test/kafka/support/appendForever.ts", broker.brokers.join(","), options.topicPrefix ?? "", indexPath], {
                stdio: ["ignore", "pipe", "pipe"]
              })
              let seen = 0
              let buffer = ""
              let stderr = ""
              child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
              child.stdout.on("data", (d: Buffer) => {
                buffer += d.toString()
                for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
                  const line = buffer.slice(0, nl)
                  buffer = buffer.slice(nl + 1)
                  if (!line.startsWith("acked ")) continue
                  acked.push(...((line.split(" ")[2] ?? "").split(",") as Array<NewRecord["id"]>))
                  if (++seen === batches) child.kill("SIGKILL")
                }
              })
              child.once("exit", (code, signal) => (signal === "SIGKILL" ? resolve() : reject(new Error(`writer exited ${code}: ${stderr}`))))
            })
          )
        }
        const resumed = yield* life(options, (log) => Effect.all({ start: log.indexStart, snapshot: snapshotOf(log.service) }))
        expect(resumed.start?._tag).toBe("Resumed")
        const reference = yield* rebuilt(options)
        expect(resumed.snapshot.records).toEqual(reference.records)
        expect(resumed.snapshot.digests).toEqual(reference.digests)
        const ids = new Set(resumed.snapshot.records.map((r) => r.id))
        expect(acked.length).toBe(130)
        expect(acked.filter((id) => !ids.has(id))).toEqual([])
      }), 120_000)

    it.live("records deleted from a topic (retention) below where the merge must read: not ready, with the reason; no spinning on one fetch", () =>
      Effect.gen(function*() {
        const prefix = yield* freshTopics(broker, "index-truncated")
        const kafka = new Kafka({ clientId: "truncate-test", brokers: [...broker.brokers], logLevel: logLevel.NOTHING })
        const admin = kafka.admin()
        const producer = kafka.producer()
        yield* Effect.promise(() => Promise.all([admin.connect(), producer.connect()]))
        // Make partition 1 lose its first records. The mock keeps a bounded log per partition
        // and deletes its oldest segments beyond it (real Kafka does the same under retention).
        let low = 0
        for (let i = 0; i < 64 && low === 0; i++) {
          yield* Effect.promise(() => producer.send({ topic: `${prefix}events`, acks: -1, messages: [{ partition: 1, value: Buffer.alloc(900_000, i) }] }))
          low = Number((yield* Effect.promise(() => admin.fetchTopicOffsets(`${prefix}events`))).find((o) => o.partition === 1)?.low ?? 0)
        }
        yield* Effect.promise(() => Promise.all([admin.disconnect(), producer.disconnect()]))
        expect(low).toBeGreaterThan(0)

        const status = yield* Effect.scoped(Effect.gen(function*() {
          const log = yield* KafkaCausalLog.start(optionsFor(broker, prefix, { indexPath: ":memory:", retryInitialMs: 100, retryMaxMs: 200 }))
          yield* Effect.sleep("2 seconds")
          return { status: yield* log.status, consumed: yield* log.consumed }
        }))
        expect(status.status).toMatchObject({
          _tag: "Connecting",
          lastError: `records were deleted from the log's topics (retention, or their data removed), so the log cannot be read whole: ${prefix}events[1] starts at ${low}, the merge needs it from 0`
        })
        expect(status.consumed).toEqual({ events: 0, sequence: 0 })
      }), 60_000)

    it.live("an orphan event expires at its window for every reader; a sequence record that comes later is skipped", () => {
      const warnings: Array<string> = []
      return Effect.gen(function*() {
        const indexPath = join(tempDir(), "kafka-index.sqlite")
        const prefix = yield* freshTopics(broker, "index-orphan")
        const options = optionsFor(broker, prefix, { indexPath, sequenceWindow: 3 })
        const kafka = new Kafka({ clientId: "orphan-test", brokers: [...broker.brokers], logLevel: logLevel.NOTHING })
        const producer = kafka.producer()
        yield* Effect.promise(() => producer.connect())
        const [orphan] = batchOf(0, 1, "orphan") as [NewRecord]
        const partition = partitionFor(orphan.sender, 3)

        const during = yield* life(options, (log) =>
          Effect.gen(function*() {
            yield* log.service.append(batchOf(1, 5))
            // An instance produced this event and died before its sequence record: it may be
            // sequenced by sequence offset 1 + 3 at the latest.
            const sent = yield* Effect.promise(() =>
              producer.send({ topic: `${prefix}events`, acks: -1, messages: [{ partition, key: orphan.sender, value: orphan.body, headers: eventHeaders(orphan, 1 + 3) }] })
            )
            const offset = Number(sent[0]?.baseOffset)
            // The consumer (joining its group in the background) brings it in.
            let bufferedBefore = 0
            for (let i = 0; i < 150 && bufferedBefore === 0; i++) {
              yield* Effect.sleep("100 millis")
              bufferedBefore = yield* log.buffered
            }
            for (let i = 2; i < 7; i++) yield* log.service.append(batchOf(i, 5))
            return { offset, bufferedBefore, bufferedAfter: yield* log.buffered }
          }))
        expect(during).toMatchObject({ bufferedBefore: 1, bufferedAfter: 0 })

        // Its sequence record arrives at offset 6, past the window: skipped, by this reader
        // and by a rebuild alike.
        yield* Effect.promise(() =>
          producer.send({ topic: `${prefix}sequence`, acks: -1, messages: [{ partition: 0, value: encodeSequence({ v: 1, batch: "late", events: [[partition, during.offset, orphan.id]] }) }] })
        )
        yield* Effect.promise(() => producer.disconnect())
        const after = yield* life(options, (log) =>
          Effect.gen(function*() {
            yield* log.service.append(batchOf(7, 5))
            return yield* Effect.all({ start: log.indexStart, snapshot: snapshotOf(log.service) })
          }))
        expect(after.start).toMatchObject({ _tag: "Resumed", records: 30 })
        expect(after.snapshot.end).toBe(35)
        expect(after.snapshot.records.some((r) => r.id === orphan.id)).toBe(false)
        expect(warnings.some((w) => w.includes("sequence record 6 skipped"))).toBe(true)
        expect((yield* rebuilt(options)).records).toEqual(after.snapshot.records)
      }).pipe(Effect.provide(warningsLogger(warnings)))
    }, 90_000)
  })
}
