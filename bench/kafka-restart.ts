/**
 * Restart time of the Kafka log: an instance whose local index is a file resumes from it and
 * reads only what the topics gained; one whose index is in memory (the peer: what every
 * start cost before the index file) reads both topics from the beginning.
 *
 * Broker: librdkafka's mock cluster through infra/mock-kafka (built if needed). The log:
 * BENCH_MESSAGES (20,000) signed orders (64 senders) appended through the adapter in batches
 * of 1,024 over 12 partitions; then BENCH_TAIL (1,024) more appended by another instance while
 * the file-index instance is down.
 *
 * Measured, each BENCH_ROUNDS (3) times, median: from `start` to `ready` (caught up with the
 * sequence topic as of connecting) for
 * - rebuildMs: index in memory, reading the whole log;
 * - resumeMs: the file index, nothing new in the topics;
 * - resumeTailMs: the file index, the tail appended meanwhile.
 * The log is spread over 12 partitions (the adapter's default).
 * Last line: {"records","rebuildMs","resumeMs","resumeTailMs","ratio"}, ratio = resumeTailMs / rebuildMs.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect } from "effect"
import * as KafkaCausalLog from "../src/adapters/kafka/KafkaCausalLog.ts"
import type { NewRecord } from "../src/ports/CausalLog.ts"
import { freshPrefix, startBroker } from "../test/kafka/support/TestBroker.ts"
import { recordOf } from "../test/support/fixtures.ts"
import { benchSender, orderStream } from "./support/signedEnvelopes.ts"
import { fmt, median } from "./support/stats.ts"

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000)
const TAIL = Number(process.env.BENCH_TAIL ?? 1024)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const BATCH = 1024
// The adapter's default. librdkafka's mock keeps a bounded log per partition and deletes the
// oldest records beyond it (a few MB): 50,000 orders over 12 partitions lose some, and
// the log (rightly) refuses to start on a topic missing records.
const PARTITIONS = 12

const choice = await startBroker()
if ("skipped" in choice) throw new Error(choice.skipped)
const { broker } = choice

const records: ReadonlyArray<NewRecord> = orderStream(MESSAGES + TAIL * ROUNDS, Array.from({ length: 64 }, (_, i) => benchSender(i))).map((s) => recordOf(s.envelope))

const prefix = freshPrefix("bench-restart")
await broker.createTopics(prefix, PARTITIONS)
const dir = mkdtempSync(join(tmpdir(), "causeway-bench-restart-"))
const indexPath = join(dir, "kafka-index.sqlite")
const options = (index: string): KafkaCausalLog.KafkaLogOptions => ({
  brokers: broker.brokers,
  topicPrefix: prefix,
  partitions: PARTITIONS,
  replicationFactor: 1,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  // The mock holds each fetch for the whole wait even when data is there (bench:kafka says more).
  maxWaitTimeMs: 5,
  indexPath: index
})

/** One life: start, time to ready, `body`, stop. */
const life = <A>(index: string, body: (log: KafkaCausalLog.KafkaLogHandle) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const t0 = performance.now()
    const log = yield* KafkaCausalLog.start(options(index))
    yield* log.ready.pipe(Effect.timeoutOrElse({
      duration: "120 seconds",
      orElse: () => Effect.flatMap(log.status, (s) => Effect.die(new Error(`not ready after 120 s: ${KafkaCausalLog.describeStatus(s)}`)))
    }))
    const readyMs = performance.now() - t0
    const records = yield* log.service.endOffset
    const start = yield* log.indexStart
    const consumed = yield* log.consumed
    const result = yield* body(log)
    return { readyMs, records, start, consumed, result }
  })).pipe(Effect.orDie))

let appended = 0
const appendUpTo = (n: number) => (log: KafkaCausalLog.KafkaLogHandle) =>
  Effect.gen(function*() {
    while (appended < n) {
      const to = Math.min(n, appended + BATCH)
      yield* log.service.append(records.slice(appended, to))
      appended = to
    }
  })

// The log, written through a file-index instance.
const t0 = performance.now()
await life(indexPath, appendUpTo(MESSAGES))
process.stderr.write(`wrote ${fmt(MESSAGES)} records in ${fmt(performance.now() - t0)} ms\n`)

const rebuild: Array<number> = []
const resume: Array<number> = []
const resumeTail: Array<number> = []
let total = MESSAGES
for (let round = 0; round < ROUNDS; round++) {
  const full = await life(":memory:", () => Effect.void)
  rebuild.push(full.readyMs)
  const quiet = await life(indexPath, () => Effect.void)
  resume.push(quiet.readyMs)
  // Another instance appends the tail while this one is down.
  total += TAIL
  await life(":memory:", appendUpTo(total))
  const tail = await life(indexPath, () => Effect.void)
  resumeTail.push(tail.readyMs)
  if (full.records !== total - TAIL || quiet.records !== total - TAIL || tail.records !== total) {
    throw new Error(`record counts differ: ${full.records}, ${quiet.records}, ${tail.records}; expected ${total - TAIL}, ${total}`)
  }
  if (tail.start?._tag !== "Resumed") throw new Error(`the file index did not resume: ${JSON.stringify(tail.start)}`)
  process.stderr.write(
    `round ${round + 1}: rebuild ${fmt(full.readyMs)} ms (${fmt(full.consumed.events)} events read), resume ${fmt(quiet.readyMs)} ms (${fmt(quiet.consumed.events)}), ` +
      `resume with ${fmt(TAIL)} new ${fmt(tail.readyMs)} ms (${fmt(tail.consumed.events)})\n`
  )
}
rmSync(dir, { recursive: true, force: true })
await broker.stop()

const result = {
  records: total,
  rebuildMs: Math.round(median(rebuild)),
  resumeMs: Math.round(median(resume)),
  resumeTailMs: Math.round(median(resumeTail)),
  ratio: Number((median(resumeTail) / median(rebuild)).toFixed(3))
}
console.log(`restart of a ${fmt(MESSAGES)}-record Kafka log (${broker.kind}): rebuild ${fmt(result.rebuildMs)} ms, resume ${fmt(result.resumeMs)} ms, resume with ${fmt(TAIL)} new ${fmt(result.resumeTailMs)} ms`)
console.log(JSON.stringify(result))
process.exit(0)
