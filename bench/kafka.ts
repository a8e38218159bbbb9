/**
 * The Kafka adapter end to end against raw kafkajs on the same broker, in one run.
 *
 * Broker: KAFKA_BROKERS (real Kafka; the adapter creates its topics, the raw topic is created
 * here) or else librdkafka's mock cluster through infra/mock-kafka (built if needed).
 *
 * The same BENCH_MESSAGES (20,000) signed orders (UserOrder, 64 senders, a causal chain per
 * sender), in batches of BENCH_BATCH (1,024, the ingest writer's largest batch, which it
 * appends when loaded), one batch after the other (as that writer does), over
 * BENCH_PARTITIONS (6) partitions keyed by sender:
 *
 * - raw (peer): kafkajs `producer.send` of each batch (acks=all, the adapter's headers and
 *   key), one consumer of the topic; from the first send to the last message consumed.
 *   Latency: send call to consumption, per message.
 * - adapter: `CausalLog.append` of each batch through KafkaCausalLog (events, then the
 *   sequence record, acknowledged once merged) and the projection runner folding LogIndex
 *   from the log's subscription; from the first append to the projection having folded the
 *   last record. Latency: append call to the projection's offset covering the record.
 *
 * Both consumers wait at most BENCH_FETCH_WAIT_MS at the broker per fetch: 100 (the adapter's
 * default) on real Kafka, 5 on the mock, which holds a fetch for the whole wait even when data
 * arrives (a real broker answers at once).
 *
 * Then a second reader of the full topics in each round, from its first consumed message to
 * its last: raw, a kafkajs consumer; adapter, a fresh instance rebuilding its index, whose
 * merge checks every record (envelope, canonical encoding, id, headers, signature) before it
 * applies it. The writing instance does not check its own appends again (its ingest admitted
 * them), so record checking costs on the reading side: readerOverhead.
 *
 * Rounds alternate raw and adapter (BENCH_ROUNDS, 3), each on fresh topics; throughputs are
 * medians, latencies pooled over the rounds. Last line:
 * {"adapterPerSec","rawPerSec","p50Ms","p99Ms","overhead","verified","readerPerSec","rawReadPerSec","readerOverhead"}
 * with overhead = 1 - adapter/raw and readerOverhead = 1 - readerPerSec/rawReadPerSec.
 */
import { randomUUID } from "node:crypto"
import { Effect, Fiber, Layer } from "effect"
import { Kafka, logLevel } from "kafkajs"
import * as KafkaCausalLog from "../src/adapters/kafka/KafkaCausalLog.ts"
import { eventHeaders } from "../src/adapters/kafka/KafkaRecordCodec.ts"
import * as SqliteProjectionStore from "../src/adapters/storage/SqliteProjectionStore.ts"
import { CausalLog, type NewRecord } from "../src/ports/CausalLog.ts"
import { LogIndex } from "../src/projections/LogIndex/LogIndex.ts"
import * as ProjectionRunner from "../src/projections/ProjectionRunner.ts"
import * as Ingest from "../src/services/Ingest.ts"
import { startBroker, type TestBroker } from "../test/kafka/support/TestBroker.ts"
import { recordOf } from "../test/support/fixtures.ts"
import { benchSender, orderStream } from "./support/signedEnvelopes.ts"
import { fmt, median } from "./support/stats.ts"

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000)
// The ingest writer appends what is queued, up to its maxBatch (1,024): under load, full batches.
const BATCH = Number(process.env.BENCH_BATCH ?? Ingest.defaultOptions.maxBatch)
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 6)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
// How long a fetch may wait at the broker, for both peers. A real broker answers a waiting
// fetch as soon as data arrives, so this only bounds idle polling (the adapter's default is
// 100 ms); librdkafka's mock holds every fetch for the whole wait, which would measure its
// timer instead of either client, so on the mock both peers wait 5 ms.
let fetchWaitMs = 100

/** A phase mark on stderr: seconds since the process started (performance.timeOrigin). */
const phase = (what: string): void => {
  process.stderr.write(`[bench:kafka +${(performance.now() / 1000).toFixed(2)}s] ${what}\n`)
}
process.on("exit", (code) => phase(`process exit (${code})`))

const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number

/** The broker: real Kafka from KAFKA_BROKERS, else the mock cluster. */
const broker = async (): Promise<{ readonly brokers: ReadonlyArray<string>; readonly kind: string; readonly createTopics: TestBroker["createTopics"]; readonly stop: () => Promise<void> }> => {
  const env = process.env.KAFKA_BROKERS
  if (env !== undefined && env !== "") {
    const brokers = env.split(",").map((b) => b.trim())
    return {
      brokers,
      kind: `kafka at ${env}`,
      createTopics: async (prefix, partitions) => {
        const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin()
        await admin.connect()
        await admin.createTopics({
          waitForLeaders: true,
          topics: [
            { topic: `${prefix}events`, numPartitions: partitions },
            { topic: `${prefix}sequence`, numPartitions: 1 }
          ]
        })
        await admin.disconnect()
      },
      stop: () => Promise.resolve()
    }
  }
  phase("mock cluster start")
  const choice = await startBroker()
  phase("mock cluster started")
  if ("skipped" in choice) throw new Error(choice.skipped)
  return { ...choice.broker, kind: choice.broker.kind === "mock" ? "librdkafka mock cluster" : "testcontainers Kafka" }
}

phase("signing orders")
const records: ReadonlyArray<NewRecord> = orderStream(MESSAGES, Array.from({ length: 64 }, (_, i) => benchSender(i))).map((s) => recordOf(s.envelope))
const batches: Array<ReadonlyArray<NewRecord>> = []
for (let i = 0; i < records.length; i += BATCH) batches.push(records.slice(i, i + BATCH))
phase(`signed ${records.length} orders`)

interface Round {
  readonly perSec: number
  readonly latencies: Array<number>
  /**
   * A second reader of the full topics, from its first consumed message to its last: raw, a
   * kafkajs consumer; adapter, a fresh instance whose merge checks every record (envelope, id,
   * headers, signature) before applying it.
   */
  readonly readPerSec: number
}

const rawRound = async (b: Awaited<ReturnType<typeof broker>>): Promise<Round> => {
  const prefix = `bench.raw.${randomUUID().slice(0, 8)}.`
  phase("raw: create topics")
  await b.createTopics(prefix, PARTITIONS)
  phase("raw: topics created")
  const topic = `${prefix}events`
  const kafka = new Kafka({ brokers: [...b.brokers], logLevel: logLevel.NOTHING })
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  const consumer = kafka.consumer({ groupId: `${prefix}consumer`, maxWaitTimeInMs: fetchWaitMs, allowAutoTopicCreation: false })
  await Promise.all([producer.connect(), consumer.connect()])
  await consumer.subscribe({ topic, fromBeginning: true })
  phase("raw: connected, subscribed")
  const latencies: Array<number> = []
  let consumed = 0
  let allConsumed: () => void = () => undefined
  const done = new Promise<void>((r) => (allConsumed = r))
  const joined = new Promise<void>((r) => consumer.on(consumer.events.GROUP_JOIN, () => r()))
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = performance.now()
      for (const m of batch.messages) latencies.push(now - Number(m.headers?.["t0"]?.toString()))
      consumed += batch.messages.length
      if (consumed >= MESSAGES) allConsumed()
    }
  })
  phase("raw: consumer running, awaiting group join")
  await joined
  phase("raw: group joined; producing")
  const start = performance.now()
  for (const batch of batches) {
    const t0 = String(performance.now())
    await producer.send({ topic, acks: -1, messages: batch.map((r) => ({ key: r.sender, value: r.body, headers: { ...eventHeaders(r, 0), t0 } })) })
  }
  phase("raw: all produced")
  await done
  const elapsed = (performance.now() - start) / 1000
  phase(`raw: all consumed (${elapsed.toFixed(2)} s measured); disconnecting`)
  await Promise.all([consumer.disconnect().then(() => phase("raw: consumer disconnected")), producer.disconnect().then(() => phase("raw: producer disconnected"))])
  // A second consumer reads the full topic: first message to last.
  const reader = kafka.consumer({ groupId: `${prefix}reader`, maxWaitTimeInMs: fetchWaitMs, allowAutoTopicCreation: false })
  await reader.connect()
  await reader.subscribe({ topic, fromBeginning: true })
  let read = 0
  let first = 0
  let readAll: () => void = () => undefined
  const readDone = new Promise<void>((r) => (readAll = r))
  await reader.run({
    eachBatch: async ({ batch }) => {
      if (read === 0) first = performance.now()
      read += batch.messages.length
      if (read >= MESSAGES) readAll()
    }
  })
  await readDone
  const readSeconds = (performance.now() - first) / 1000
  phase(`raw: second reader read all (${readSeconds.toFixed(2)} s from its first message)`)
  await reader.disconnect()
  return { perSec: MESSAGES / elapsed, latencies, readPerSec: MESSAGES / readSeconds }
}

/** Wait (bounded) until the adapter's consumer has joined its group at least once. */
const awaitJoined = (handle: KafkaCausalLog.KafkaLogHandle) =>
  Effect.gen(function*() {
    const since = performance.now()
    while ((yield* handle.groupJoins) === 0) {
      if (performance.now() - since > 30_000) throw new Error("the adapter's consumer did not join its group within 30 s")
      yield* Effect.sleep(20)
    }
    phase(`adapter: consumer joined its group (waited ${Math.round(performance.now() - since)} ms after the round)`)
  })

const adapterRound = (b: Awaited<ReturnType<typeof broker>>): Promise<Round> =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const prefix = `bench.adapter.${randomUUID().slice(0, 8)}.`
    phase("adapter: create topics")
    yield* Effect.promise(() => b.createTopics(prefix, PARTITIONS))
    phase("adapter: topics created; starting")
    yield* Effect.addFinalizer(() => Effect.sync(() => phase("adapter: scope closing (disconnect)")))
    const handle = yield* KafkaCausalLog.start({ brokers: b.brokers, topicPrefix: prefix, partitions: PARTITIONS, replicationFactor: 1, maxWaitTimeMs: fetchWaitMs })
    phase("adapter: started, awaiting ready")
    yield* handle.ready
    phase(`adapter: ready (group joins so far ${yield* handle.groupJoins})`)
    const runner = yield* ProjectionRunner.make([LogIndex], { snapshotEvery: 10_000_000, pageSize: 4096 }).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(CausalLog, handle.service), SqliteProjectionStore.layerMemory))
    )
    phase("adapter: runner made; appending")
    const latencies: Array<number> = []
    const waits: Array<Fiber.Fiber<void>> = []
    const start = performance.now()
    for (const batch of batches) {
      const t0 = performance.now()
      const acks = yield* handle.service.append(batch)
      const end = (acks[acks.length - 1]?.offset ?? 0) + 1
      waits.push(yield* Effect.forkChild(runner.awaitOffset(end).pipe(Effect.andThen(Effect.sync(() => {
        const t1 = performance.now()
        for (let i = 0; i < acks.length; i++) latencies.push(t1 - t0)
      })))))
    }
    phase("adapter: all appended")
    for (const w of waits) yield* Fiber.join(w)
    const elapsed = (performance.now() - start) / 1000
    phase(`adapter: projection folded all (${elapsed.toFixed(2)} s measured; group joins ${yield* handle.groupJoins})`)
    const status = yield* runner.status
    if (status[0]?.offset !== MESSAGES) throw new Error(`the projection folded ${status[0]?.offset} of ${MESSAGES}`)
    // Outside the measurement: let the materializer's consumer finish joining its group before
    // the scope disconnects it. The round is over well before the join on the mock (which holds
    // a first join for its 3 s rebalance delay), and kafkajs 2.2.4 cannot stop a consumer that
    // is still joining: `runner.stop()` returns at once while `running` is false, so the join
    // completes after the disconnect and the consumer goes on fetching with no owner, polling
    // in this process during the later rounds and, once the broker stops, retrying and
    // restarting for minutes after the last line (the process did not exit).
    yield* awaitJoined(handle)
    // A second instance rebuilds its index from the topics, checking every record: first
    // consumed message to the last record applied.
    const reader = yield* KafkaCausalLog.start({ brokers: b.brokers, topicPrefix: prefix, partitions: PARTITIONS, replicationFactor: 1, maxWaitTimeMs: fetchWaitMs, indexPath: ":memory:" })
    let first = 0
    while (true) {
      const consumed = (yield* reader.consumed).events
      if (first === 0 && consumed > 0) first = performance.now()
      if ((yield* reader.service.endOffset) >= MESSAGES) break
      yield* Effect.sleep(2)
    }
    const readSeconds = (performance.now() - first) / 1000
    const refused = Object.values(yield* reader.refused).reduce((x, y) => x + y, 0)
    if (refused > 0) throw new Error(`the reader refused ${refused} records`)
    phase(`adapter: second instance checked and applied all (${readSeconds.toFixed(2)} s from its first consumed message)`)
    yield* awaitJoined(reader)
    return { perSec: MESSAGES / elapsed, latencies, readPerSec: MESSAGES / readSeconds }
  }))).finally(() => phase("adapter: scope closed"))

const main = async () => {
  const b = await broker()
  fetchWaitMs = Number(process.env.BENCH_FETCH_WAIT_MS ?? (b.kind === "librdkafka mock cluster" ? 5 : 100))
  console.log(`bench:kafka on ${b.kind}: ${fmt(MESSAGES)} signed orders in batches of ${BATCH}, ${PARTITIONS} partitions, ${ROUNDS} rounds, fetch wait ${fetchWaitMs} ms`)
  const raw: Array<Round> = []
  const adapter: Array<Round> = []
  try {
    for (let round = 0; round < ROUNDS; round++) {
      raw.push(await rawRound(b))
      adapter.push(await adapterRound(b))
      console.log(`round ${round + 1}: raw ${fmt(raw[round]?.perSec ?? 0)}/s  adapter ${fmt(adapter[round]?.perSec ?? 0)}/s  second reader: raw ${fmt(raw[round]?.readPerSec ?? 0)}/s  checking instance ${fmt(adapter[round]?.readPerSec ?? 0)}/s`)
    }
  } finally {
    phase("broker stop")
    await b.stop()
    phase("broker stopped")
  }
  const rawPerSec = median(raw.map((r) => r.perSec))
  const adapterPerSec = median(adapter.map((r) => r.perSec))
  const readerPerSec = median(adapter.map((r) => r.readPerSec))
  const rawReadPerSec = median(raw.map((r) => r.readPerSec))
  const lat = (rounds: ReadonlyArray<Round>) => rounds.flatMap((r) => r.latencies).sort((x, y) => x - y)
  const [a, r] = [lat(adapter), lat(raw)]
  const round2 = (x: number) => Math.round(x * 100) / 100
  console.log(`raw kafkajs produce/consume: ${fmt(rawPerSec)}/s  latency p50 ${round2(percentile(r, 50))} ms  p99 ${round2(percentile(r, 99))} ms`)
  console.log(`adapter append -> projection: ${fmt(adapterPerSec)}/s  latency p50 ${round2(percentile(a, 50))} ms  p99 ${round2(percentile(a, 99))} ms`)
  console.log(JSON.stringify({
    adapterPerSec: Math.round(adapterPerSec),
    rawPerSec: Math.round(rawPerSec),
    p50Ms: round2(percentile(a, 50)),
    p99Ms: round2(percentile(a, 99)),
    overhead: Math.round((1 - adapterPerSec / rawPerSec) * 1000) / 1000,
    verified: true,
    readerPerSec: Math.round(readerPerSec),
    rawReadPerSec: Math.round(rawReadPerSec),
    readerOverhead: Math.round((1 - readerPerSec / rawReadPerSec) * 1000) / 1000
  }))
}

await main()
phase(`main returned; active resources: ${process.getActiveResourcesInfo().join(", ")}`)
