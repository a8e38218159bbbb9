/**
 * The Kafka CausalLog (kafkajs). Design and the reasons for it: docs/adr/0001-kafka-total-order.md.
 *
 * - `{prefix}events` (several partitions, key = sender) holds the records; `{prefix}sequence`
 *   (one partition) holds one ordering decision per appended batch, naming where its events
 *   are. The total order, and so the dense global offset, is the sequence topic's order as
 *   decided by `SequenceMerger`: the same on every instance and in every replay.
 * - Every instance materializes the log into a local index (SQLite), and every read of the
 *   port is answered from it. Kept in a file (`indexPath`), it holds the merge's position too,
 *   written in the same transaction as each decision, so a restart reads only what the topics
 *   gained since (after checking they are the same topics); in memory it is rebuilt from the
 *   topics at every start.
 * - append: refuse duplicates and records over the broker's limit before producing; produce
 *   the events (acks=all, idempotent where the broker supports it), then the sequence
 *   record; succeed once the local merge has applied the batch, with its offsets.
 * - Start: connects in the background with exponential backoff, logging each failure; the
 *   log is usable (`ready`) once it has caught up with the sequence topic as of connecting.
 * - Once ready, produce and fetch failing without a break for `disconnectGraceMs` make it
 *   `Disconnected` (the port's `unavailable` says why, so /readyz answers 503); the next fetch
 *   or acknowledged produce makes it ready again. One log line per transition.
 */
import { hash, randomUUID } from "node:crypto"
import { Clock, Deferred, Effect, Exit, Layer, Metric, Option, Ref, Result, type Scope, Semaphore } from "effect"
import type { Admin, Consumer, EachBatchPayload, KafkaMessage, Producer } from "kafkajs"
import * as NodeCryptoSignatureVerifier from "../signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteCausalLog from "../storage/SqliteCausalLog.ts"
import type { SignatureVerifierService } from "../../ports/SignatureVerifier.ts"
import { badSignature, checkRecord, type RecordRefused, type SignatureToCheck } from "../../domain/RecordCheck.ts"
import {
  type Appended,
  CausalLog,
  CausalLogError,
  type CausalLogService,
  type NewRecord
} from "../../ports/CausalLog.ts"
import {
  causeText,
  client,
  describeError as describe,
  DuplicateRecord,
  KafkaClientError,
  LostSequenceRace,
  RecordTooLarge,
  SequenceTimeout,
  TopicLayoutError
} from "./KafkaErrors.ts"
import {
  decodeEvent,
  decodeSequence,
  encodeSequence,
  eventHeaders,
  type EventRecord,
  eventWireBytes,
  partitionFor,
  type SequenceBatch
} from "./KafkaRecordCodec.ts"
import type { Decision, Offered, SequenceMerger } from "./SequenceMerger.ts"
import { type IndexStart, KafkaLocalIndex, readIndexState } from "./KafkaLocalIndex.ts"
import { type Clients, connectProducer, disconnect, isClosing, makeConsumer, makeKafka } from "./KafkaClients.ts"
import { connectLoop } from "./ConnectLoop.ts"
import { checkReadable, ensureTopics, maxBytesOf, topicEnds } from "./KafkaTopics.ts"
import { BrokerHealth } from "./BrokerHealth.ts"
import { watchBrokers } from "./BrokerWatch.ts"
import { type Capabilities, type ConnectionStatus, describeStatus } from "./KafkaConnectionStatus.ts"

export { type Capabilities, type ConnectionStatus, describeStatus, type IndexStart, readIndexState }

/** How the Kafka log connects and lays out its topics. */
export interface KafkaLogOptions {
  readonly brokers: ReadonlyArray<string>
  /** Prefix of the topic names (default "causeway."). */
  readonly topicPrefix?: string
  readonly clientId?: string
  /** Partitions of the events topic when this adapter creates it (default 12). */
  readonly partitions?: number
  /** Replication factor of the topics it creates (default: the broker's default.replication.factor, and its min.insync.replicas). */
  readonly replicationFactor?: number
  /** Largest record when the broker does not tell its `max.message.bytes` (default Kafka's 1048588). */
  readonly maxRecordBytes?: number
  /** Consumer group of the materializer; default a fresh one per start (it reads from the beginning). */
  readonly groupId?: string
  /** How long append waits for its batch to be applied (default 30 s). */
  readonly appendTimeoutMs?: number
  /** Connection retry backoff (default 500 ms doubling to 30 s). */
  readonly retryInitialMs?: number
  readonly retryMaxMs?: number
  /** Consumer group session timeout and heartbeat (default 10 s, 1 s). */
  readonly sessionTimeoutMs?: number
  readonly heartbeatIntervalMs?: number
  /** Longest a fetch waits at the broker for new data (default 100 ms). */
  readonly maxWaitTimeMs?: number
  /**
   * How long produce and fetch may fail without a break, once ready, before the log reports
   * itself `Disconnected` (not ready; default 5 s). It is ready again at the next fetch or
   * acknowledged produce.
   */
  readonly disconnectGraceMs?: number
  /**
   * Where the local index (the materialized log and the merge's position) is kept: a file, so
   * a restart reads only the topics' tail, or ":memory:" (default), rebuilt from the topics at
   * every start. A file that does not match the topics (another cluster, other topics) is
   * rebuilt.
   */
  readonly indexPath?: string
  /**
   * How many sequence records may be written after an event's produce before the sequence
   * record naming it: a later one is skipped (default 100,000). Each event carries its own
   * limit (`until`), so instances configured differently still decide alike; this only bounds
   * how long an orphan (an event whose sequence record never came) is kept and re-read.
   */
  readonly sequenceWindow?: number
  /**
   * Checks the signature of every event consumed from the topics (default node:crypto's,
   * on libuv's thread pool). Events this instance appended itself are not checked again:
   * its ingest admitted them.
   */
  readonly verifier?: SignatureVerifierService
  /**
   * TLS to the brokers (PEM text); absent: plaintext. The brokers' certificate is always
   * verified (against `ca`, else Node's root certificates); `cert` and `key` authenticate this
   * client to brokers that ask for a certificate.
   */
  readonly ssl?: { readonly ca?: string; readonly cert?: string; readonly key?: string }
  /** SASL authentication to the brokers, over TLS when `ssl` is set. Never logged. */
  readonly sasl?: {
    readonly [M in "plain" | "scram-sha-256" | "scram-sha-512"]: { readonly mechanism: M; readonly username: string; readonly password: string }
  }["plain" | "scram-sha-256" | "scram-sha-512"]
  /**
   * Read the topics only (`causeway replay --brokers`): no producer is connected, missing
   * topics are an error instead of being created, and `append` fails with `LogIsReadOnly`.
   * Needs only Read and Describe on the topics, and Read on the consumer group.
   */
  readonly readOnly?: boolean
}

/** A started Kafka log: its service (usable once `ready`), status and topic names. */
export interface KafkaLogHandle {
  readonly service: CausalLogService
  /** Waits until connected and caught up with the log as it was when the connection came up. */
  readonly ready: Effect.Effect<void>
  readonly status: Effect.Effect<ConnectionStatus>
  readonly topics: { readonly events: string; readonly sequence: string }
  /** How many events were consumed but not applied (awaiting their sequence record, or orphans). */
  readonly buffered: Effect.Effect<number>
  /** How many times the materializer's consumer joined its group (1 + rebalances and restarts). */
  readonly groupJoins: Effect.Effect<number>
  /** Messages consumed from each topic since start (redeliveries included). */
  readonly consumed: Effect.Effect<{ readonly events: number; readonly sequence: number }>
  /** How the local index started: resumed from its file at a record count, or rebuilt (and why). */
  readonly indexStart: Effect.Effect<IndexStart | undefined>
  /** Events consumed from the topics and refused by the record check since start, by kind. */
  readonly refused: Effect.Effect<Readonly<Record<string, number>>>
}

type AppendOutcome =
  | { readonly _tag: "Applied"; readonly acks: ReadonlyArray<Appended> }
  | { readonly _tag: "Skipped"; readonly reason: string }
  | { readonly _tag: "Failed"; readonly cause: unknown }

const DEFAULT_MAX_RECORD_BYTES = 1_048_588

const fail = (operation: string) => (cause: unknown) => new CausalLogError({ operation, cause })

const refusedRecords = Metric.counter("causeway_log_records_refused_total", {
  description: "Records read from the log's storage that failed the record check (never applied), by kind"
})

// Ids through node:crypto (OpenSSL), as ingest computes them.
const sha256Text = (text: string): Uint8Array => hash("sha256", text, "buffer")

// Refusals logged one by one; past this many, one line per REFUSALS_LINE_EVERY (a writer
// flooding the topics with junk must not flood the log too).
const REFUSAL_LINES = 100
const REFUSALS_LINE_EVERY = 1000

/** Start the Kafka log in the scope: connect in the background, merge, serve. */
export const start = (options: KafkaLogOptions): Effect.Effect<KafkaLogHandle, CausalLogError, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = options.topicPrefix ?? "causeway."
    const topics = { events: `${prefix}events`, sequence: `${prefix}sequence` }
    const appendTimeoutMs = options.appendTimeoutMs ?? 30_000
    const services = yield* Effect.context<never>()
    const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromiseWith(services)(effect)

    const indexPath = options.indexPath ?? ":memory:"
    const sequenceWindow = options.sequenceWindow ?? 100_000
    const local = yield* KafkaLocalIndex.open(indexPath, topics)
    const index = local.service
    let stopConsumer: Deferred.Deferred<string> | undefined
    let currentConsumer: Consumer | undefined
    const consumedCount = { events: 0, sequence: 0 }
    const status = yield* Ref.make<ConnectionStatus>({ _tag: "Connecting", attempt: 0, lastError: undefined })
    const readyLatch = yield* Deferred.make<void>()
    const clients = yield* Ref.make<Option.Option<Clients>>(Option.none())
    let merger: SequenceMerger | undefined
    let catchUpTarget = 0
    // One merge step at a time (kafkajs hands batches over one by one, but appends and the
    // ready check look too); one append at a time per instance.
    const mergeLock = yield* Semaphore.make(1)
    const appendLock = yield* Semaphore.make(1)
    const waiters = new Map<string, Deferred.Deferred<AppendOutcome>>()
    let groupJoins = 0
    const verifier = options.verifier ?? NodeCryptoSignatureVerifier.make()
    const refusedCount: Record<string, number> = {}
    let refusals = 0

    // Broker health once ready (BrokerHealth); kafkajs's callbacks read the time from the same Clock.
    const clock = yield* Clock.clockWith(Effect.succeed)
    const health = new BrokerHealth(options.disconnectGraceMs ?? 5000, clock.currentTimeMillisUnsafe())
    const traffic = () => health.traffic(clock.currentTimeMillisUnsafe())
    const failed = (reason: string) => health.failed(reason)
    const { connecting, kafka } = makeKafka(options, services)

    // -- the merge --------------------------------------------------------------------

    const checkReady = Effect.gen(function*() {
      if (merger === undefined) return
      const s = yield* Ref.get(status)
      if (s._tag === "CatchingUp") {
        if (merger.decidedThrough >= catchUpTarget) {
          const c = yield* Ref.get(clients)
          if (Option.isSome(c)) {
            yield* Effect.sync(traffic) // connecting and catching up talked to the brokers
            yield* Ref.set(status, { _tag: "Ready", capabilities: c.value.capabilities })
            yield* Deferred.succeed(readyLatch, undefined)
            yield* Effect.logInfo("kafka log ready").pipe(Effect.annotateLogs({ records: yield* index.endOffset, sequence: catchUpTarget }))
          }
        } else yield* Ref.set(status, { ...s, decided: merger.decidedThrough })
      }
    })

    // Throw the merge away and read the topics again from the beginning into an empty index:
    // the consumer is stopped, and the connect loop clears the index and reconnects.
    const requestRebuild = (reason: string) =>
      Effect.gen(function*() {
        merger = undefined
        local.requestRebuild(reason)
        yield* Ref.set(status, { _tag: "Connecting", attempt: 0, lastError: `rebuilding the local index: ${reason}` })
        if (stopConsumer !== undefined) Deferred.doneUnsafe(stopConsumer, Exit.succeed(`rebuilding the local index: ${reason}`))
      })

    // Decide and apply sequence records while their events are here. Consecutive decisions are
    // written in one transaction together with the merge's position, so a file index always
    // holds exactly the records its saved position has decided.
    const drain = Effect.gen(function*() {
      const m = merger
      if (m === undefined) return
      let records: Array<NewRecord> = []
      let decided: Array<{ readonly decision: Extract<Decision, { readonly seqOffset: number }>; readonly from: number }> = []
      const inGroup = new Set<string>()
      const flush = Effect.gen(function*() {
        if (decided.length === 0) return
        const [batch, done] = [records, decided]
        records = []
        decided = []
        inGroup.clear()
        const written = yield* Effect.exit(local.write(batch, m))
        for (const { decision, from } of done) {
          const outcome: AppendOutcome = Exit.isFailure(written)
            ? { _tag: "Failed", cause: written.cause }
            : decision._tag === "Apply"
            ? { _tag: "Applied", acks: written.value.slice(from, from + decision.records.length) }
            : { _tag: "Skipped", reason: decision.reason }
          const waiter = decision.batch === undefined ? undefined : waiters.get(decision.batch)
          if (waiter !== undefined) {
            waiters.delete(decision.batch as string)
            yield* Deferred.succeed(waiter, outcome)
          }
        }
        if (Exit.isFailure(written)) {
          yield* Effect.logError(`kafka log: writing the local index ${indexPath} failed (${causeText(written.cause)}); rebuilding it from the topics`)
          yield* requestRebuild(`a write failed: ${causeText(written.cause)}`)
        }
      })
      while (merger === m) {
        const ids = m.headIds()
        const known = new Set<string>()
        if (ids.length > 0) {
          for (const id of ids) if (inGroup.has(id)) known.add(id)
          for (const id of (yield* index.lookup(ids)).keys()) known.add(id)
        }
        const decision: Decision = m.decide(known)
        if (decision._tag === "Idle" || decision._tag === "Wait") break
        if (decision._tag === "Skip") {
          yield* Effect.logWarning(`kafka log: sequence record ${decision.seqOffset} skipped: ${decision.reason}`)
        }
        m.commit(decision)
        decided.push({ decision, from: records.length })
        if (decision._tag === "Apply") {
          for (const r of decision.records) {
            records.push(r)
            inGroup.add(r.id)
          }
        }
        if (records.length >= 4096 || decided.length >= 256) yield* flush
      }
      yield* flush
      yield* checkReady
    })

    const refuse = (partition: number, offset: number, kind: string, reason: string) =>
      Effect.gen(function*() {
        refusedCount[kind] = (refusedCount[kind] ?? 0) + 1
        refusals++
        yield* Metric.update(Metric.withAttributes(refusedRecords, { kind }), 1)
        if (refusals <= REFUSAL_LINES) {
          yield* Effect.logWarning(`kafka log: event ${topics.events}[${partition}]@${offset} refused (${kind}): ${reason}`)
        } else if (refusals % REFUSALS_LINE_EVERY === 0) {
          yield* Effect.logWarning(`kafka log: ${refusals} events refused so far (${JSON.stringify(refusedCount)}); latest ${topics.events}[${partition}]@${offset}: ${reason}`)
        }
      })

    // Every event consumed from the topics is checked from its bytes before the merge may
    // apply it (docs/adr/0002): a refused one is offered as undecodable, so the merge drops it
    // and skips a sequence record naming it, at the same point of the log on every instance.
    // Redeliveries (below `from`) and events the index already holds are left as they are:
    // the merge ignores them.
    const checkEvents = (
      partition: number,
      offered: ReadonlyArray<Offered<EventRecord>>,
      from: number,
      known: ReadonlySet<string> | undefined
    ) =>
      Effect.gen(function*() {
        const out: Array<Offered<EventRecord>> = offered.slice()
        const pending: Array<{ readonly i: number; readonly check: SignatureToCheck }> = []
        for (let i = 0; i < offered.length; i++) {
          const o = offered[i] as Offered<EventRecord>
          if (o.offset < from) continue
          if (Result.isFailure(o.value)) {
            yield* refuse(partition, o.offset, "header", o.value.failure)
            continue
          }
          if (known?.has(o.value.success.record.id) === true) continue
          const checked = checkRecord(o.value.success.record, sha256Text)
          if (Result.isSuccess(checked)) pending.push({ i, check: checked.success })
          else {
            out[i] = { offset: o.offset, value: Result.fail(`refused: ${checked.failure.reason}`) }
            yield* refuse(partition, o.offset, checked.failure.kind, checked.failure.reason)
          }
        }
        if (pending.length === 0) return out
        const verdicts = yield* verifier.verifyMany(pending.map((p) => p.check))
        for (let k = 0; k < pending.length; k++) {
          if (verdicts[k] === true) continue
          const { i } = pending[k] as { readonly i: number }
          const o = offered[i] as Offered<EventRecord>
          const refusal: RecordRefused = badSignature(Result.getOrThrow(o.value).record)
          out[i] = { offset: o.offset, value: Result.fail(`refused: ${refusal.reason}`) }
          yield* refuse(partition, o.offset, refusal.kind, refusal.reason)
        }
        return out
      })

    // Events are decoded and checked (signatures on the thread pool) before the merge lock is
    // taken, so several partitions' batches are checked at once while the merge goes on; the
    // merger's position read here only spares the check of redeliveries, which it ignores.
    const offer = (consumer: Consumer, topic: string, partition: number, messages: ReadonlyArray<KafkaMessage>) =>
      Effect.gen(function*() {
        const before = merger
        if (before === undefined || consumer !== currentConsumer) return
        if (topic === topics.sequence) return yield* merge(consumer, topic, partition, messages, undefined)
        consumedCount.events += messages.length
        const offered = messages.map((msg) => ({ offset: Number(msg.offset), value: decodeEvent(msg) }))
        // Events read again after a restart: those whose ids the index holds were applied
        // (or are copies of applied ones) before it, and are not kept.
        const again: Array<string> = []
        for (const o of offered) {
          if (before.consumedBefore(partition, o.offset) && Result.isSuccess(o.value)) again.push(o.value.success.record.id)
        }
        const known = again.length === 0 ? undefined : new Set((yield* index.lookup(again)).keys())
        const checked = yield* checkEvents(partition, offered, before.nextOffset(partition), known)
        return yield* merge(consumer, topic, partition, messages, { checked, known, merger: before })
      })

    const merge = (
      consumer: Consumer,
      topic: string,
      partition: number,
      messages: ReadonlyArray<KafkaMessage>,
      events: { readonly checked: ReadonlyArray<Offered<EventRecord>>; readonly known: ReadonlySet<string> | undefined; readonly merger: SequenceMerger } | undefined
    ) =>
      mergeLock.withPermit(Effect.gen(function*() {
        const m = merger
        // A consumer being replaced may still hand over a batch: only the current one feeds the merge
        // (and the merger checked against must still be the one in place).
        if (m === undefined || consumer !== currentConsumer || (events !== undefined && events.merger !== m)) return
        let seekTo: number | undefined
        if (topic === topics.sequence) {
          consumedCount.sequence += messages.length
          seekTo = m.offerSequence(messages.map((msg) => ({ offset: Number(msg.offset), value: decodeSequence(msg.value) })))
          if (m.mismatch !== undefined) {
            yield* Effect.logWarning(`kafka log: the local index ${indexPath} does not match the topics (${m.mismatch}); rebuilding it from the topics`)
            return yield* requestRebuild(m.mismatch)
          }
        } else if (events !== undefined) {
          seekTo = m.offerEvents(partition, events.checked, events.known)
        }
        if (seekTo !== undefined) {
          yield* Effect.logDebug(`kafka log: ${topic}[${partition}] resumed past ${seekTo}; seeking back`)
          yield* Effect.sync(() => consumer.seek({ topic, partition, offset: String(seekTo) }))
          return
        }
        yield* drain
      }))

    // -- connecting -------------------------------------------------------------------

    const connectOnce = Effect.gen(function*() {
      const opened: { admin?: Admin; producer?: Producer; consumer?: Consumer } = {}
      const attempt = Effect.gen(function*() {
        const admin = connecting.admin()
        opened.admin = admin
        yield* client("admin.connect", () => admin.connect())
        const layout = yield* ensureTopics(admin, topics, {
          partitions: options.partitions ?? 12,
          replicationFactor: options.replicationFactor,
          readOnly: options.readOnly === true
        })
        // A reader produces nothing: no producer, and no record size limit to learn.
        const maxBytes = options.readOnly === true ? Option.none() : yield* maxBytesOf(admin, topics)
        const { producer, idempotentProducer } = options.readOnly === true
          ? { producer: undefined, idempotentProducer: false }
          : yield* connectProducer(kafka)
        opened.producer = producer
        const capabilities: Capabilities = {
          idempotentProducer,
          describeConfigs: Option.isSome(maxBytes),
          maxRecordBytes: Option.getOrElse(maxBytes, () => options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES)
        }
        const ends = yield* topicEnds(admin, topics)
        catchUpTarget = ends.sequence.high
        yield* mergeLock.withPermit(Effect.gen(function*() {
          if (merger !== undefined) return
          const cluster = yield* Effect.option(client("describeCluster", () => admin.describeCluster()))
          merger = yield* local.restore(layout.partitions, Option.match(cluster, { onNone: () => null, onSome: (c) => c.clusterId }), ends)
        }))
        if (merger !== undefined) yield* checkReadable(merger, ends, topics)
        if (merger !== undefined && merger.partitions !== layout.partitions) {
          return yield* new TopicLayoutError({ reason: `${topics.events} went from ${merger.partitions} to ${layout.partitions} partitions` })
        }
        const consumer = makeConsumer(kafka, {
          groupId: options.groupId ?? `${prefix}materializer.${randomUUID()}`,
          sessionTimeout: options.sessionTimeoutMs ?? 10_000,
          heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
          maxWaitTimeInMs: options.maxWaitTimeMs ?? 100
        })
        opened.consumer = consumer
        currentConsumer = consumer
        // After a rebalance the group resumes where its last commit (by anyone) left off, or
        // at the beginning: put each partition back where this merge stands.
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          if (isClosing(consumer)) {
            consumer.disconnect().catch(() => undefined)
            return
          }
          groupJoins++
          const m = merger
          if (m === undefined) return
          for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
            for (const partition of partitions) {
              consumer.seek({ topic, partition, offset: String(m.nextOffset(topic === topics.sequence ? -1 : partition)) })
            }
          }
        })
        yield* client("consumer.connect", () => consumer.connect())
        yield* client("consumer.subscribe", () => consumer.subscribe({ topics: [topics.events, topics.sequence], fromBeginning: true }))
        yield* Ref.set(status, { _tag: "CatchingUp", target: catchUpTarget, decided: merger?.decidedThrough ?? 0 })
        yield* Ref.set(clients, Option.some({ admin, producer, consumer, partitions: layout.partitions, capabilities }))
        // The consumer joins its group in the background (seconds on some brokers): this
        // instance's own appends reach the merge without it, and catching up waits for it.
        const stopped = Deferred.makeUnsafe<string>()
        stopConsumer = stopped
        consumer.on(consumer.events.FETCH, traffic)
        consumer.on(consumer.events.CRASH, (event) => {
          failed(`consumer: ${describe(event.payload.error)}`)
          if (!event.payload.restart) Deferred.doneUnsafe(stopped, Exit.succeed(describe(event.payload.error)))
        })
        consumer.run({
          autoCommit: false,
          eachBatchAutoResolve: true,
          // Batches of different partitions are checked at once (one at a time per partition).
          partitionsConsumedConcurrently: 4,
          eachBatch: ({ batch }: EachBatchPayload) => run(offer(consumer, batch.topic, batch.partition, batch.messages))
        }).catch((e: unknown) => Deferred.doneUnsafe(stopped, Exit.succeed(describe(e))))
        yield* Effect.logInfo("kafka log connected").pipe(Effect.annotateLogs({ brokers: options.brokers.join(","), topics: `${topics.events},${topics.sequence}`, partitions: layout.partitions, ...capabilities }))
        yield* mergeLock.withPermit(checkReady)
        return stopped
      })
      const exit = yield* Effect.exit(attempt)
      if (Exit.isFailure(exit)) {
        yield* Ref.set(clients, Option.none())
        yield* disconnect(opened)
      }
      return yield* exit
    })

    // Connect until it works: one clear line per failed attempt, backoff doubling to a cap.
    // A consumer that kafkajs gave up on (a non-retriable crash) is replaced the same way;
    // the merge keeps its place, and the new consumer seeks there on joining.
    const connection = connectLoop({
      connect: Effect.map(connectOnce, Deferred.await),
      initialDelayMs: options.retryInitialMs ?? 500,
      maxDelayMs: options.retryMaxMs ?? 30_000,
      failed: (attempt, cause, delay) =>
        Effect.gen(function*() {
          const reason = causeText(cause)
          yield* Ref.set(status, { _tag: "Connecting", attempt, lastError: reason })
          yield* Effect.logWarning(`kafka log: cannot connect to ${options.brokers.join(",")} (attempt ${attempt}): ${reason}; retrying in ${delay} ms`)
        }),
      ended: (reason) =>
        Effect.gen(function*() {
          if (local.rebuilding === undefined) yield* Effect.logError(`kafka log: the consumer stopped (${reason}); reconnecting`)
          currentConsumer = undefined
          const c = yield* Ref.getAndSet(clients, Option.none())
          if (Option.isSome(c)) yield* disconnect(c.value)
          if (local.rebuilding !== undefined) {
            yield* mergeLock.withPermit(Effect.gen(function*() {
              merger = undefined
              yield* local.clear
            }))
          }
        }).pipe(Effect.orDie)
    })

    yield* Effect.forkScoped(connection)
    yield* Effect.forkScoped(watchBrokers({
      health,
      status,
      brokers: options.brokers.join(","),
      probe: Ref.get(clients).pipe(
        // Failures are kafkajs's own, which the health describes as "probe: ..."
        Effect.map(Option.map((c) => client("probe", () => c.admin.fetchTopicOffsets(topics.sequence)).pipe(Effect.mapError((e) => e.cause))))
      )
    }))
    yield* Effect.addFinalizer(() =>
      Ref.get(clients).pipe(Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: disconnect })))
    )

    // -- the port ---------------------------------------------------------------------

    const connected = Ref.get(clients).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(new KafkaClientError({ operation: "append", cause: new Error("not connected to Kafka") })),
        onSome: Effect.succeed
      }))
    )

    // Every produce's outcome feeds the broker health above.
    const produced = <A>(effect: Effect.Effect<A, KafkaClientError>) =>
      effect.pipe(
        Effect.tap(() => Effect.sync(traffic)),
        Effect.tapError((e) => Effect.sync(() => failed(`${e.operation}: ${describe(e.cause)}`)))
      )

    const produce = (c: Clients, producer: Producer, batch: ReadonlyArray<NewRecord>, until: number) =>
      Effect.gen(function*() {
        const partitionOf = batch.map((r) => partitionFor(r.sender, c.partitions))
        const sent = yield* produced(client("produce events", () =>
          producer.send({
            topic: topics.events,
            acks: -1,
            messages: batch.map((r, i) => ({ partition: partitionOf[i], key: r.sender, value: r.body, headers: eventHeaders(r, until) }))
          })))
        // kafkajs sends one record batch per partition, in the order given: the broker gives
        // it consecutive offsets from its base.
        const base = new Map(sent.map((m) => [m.partition, Number(m.baseOffset)]))
        const used = new Map<number, number>()
        const events: Array<readonly [number, number, SequenceBatch["events"][number][2]]> = []
        for (let i = 0; i < batch.length; i++) {
          const p = partitionOf[i] as number
          const k = used.get(p) ?? 0
          used.set(p, k + 1)
          const b = base.get(p)
          if (b === undefined) return yield* new KafkaClientError({ operation: "produce events", cause: new Error(`no offset for partition ${p}`) })
          events.push([p, b + k, (batch[i] as NewRecord).id])
        }
        return events
      })

    // Read-your-writes: what this instance produced and Kafka acknowledged is fed to the merge
    // at once, as the bytes the consumer would deliver, decoded by the same decoders, at the
    // offsets Kafka gave; the merge takes it only where it continues what it has (else the
    // consumer delivers it in turn, and the copy it then gets is ignored). This saves a fetch
    // round trip per append and changes no decision. These events are not checked again
    // (`checkEvents`): the append's caller, this instance's ingest, admitted them, and the
    // check is a pure function of the same bytes, so another reader accepts them alike.
    const ownEvents = (batch: ReadonlyArray<NewRecord>, until: number, events: ReadonlyArray<readonly [number, number, string]>) =>
      mergeLock.withPermit(Effect.sync(() => {
        const m = merger
        if (m === undefined) return
        const order = events.map((e, i) => i).sort((a, b) => {
          const [ea, eb] = [events[a] as readonly [number, number, string], events[b] as readonly [number, number, string]]
          return ea[0] - eb[0] || ea[1] - eb[1]
        })
        for (const i of order) {
          const r = batch[i] as NewRecord
          const [partition, offset] = events[i] as readonly [number, number, string]
          const headers = Object.fromEntries(Object.entries(eventHeaders(r, until)).map(([k, v]) => [k, Buffer.from(v)]))
          const value = decodeEvent({ value: Buffer.from(r.body), headers })
          if (m.nextOffset(partition) === offset) m.offerEvents(partition, [{ offset, value }])
        }
      }))

    const ownSequence = (offset: number, value: string) =>
      mergeLock.withPermit(Effect.gen(function*() {
        const m = merger
        if (m === undefined || m.nextOffset(-1) !== offset) return
        m.offerSequence([{ offset, value: decodeSequence(Buffer.from(value)) }])
        yield* drain
      }))

    const append = (batch: ReadonlyArray<NewRecord>) =>
      Effect.gen(function*() {
        if (batch.length === 0) return []
        if (options.readOnly === true) return yield* new SqliteCausalLog.LogIsReadOnly({ path: `${topics.events}, ${topics.sequence}` })
        const c = yield* connected
        const producer = c.producer
        if (producer === undefined) return yield* new KafkaClientError({ operation: "append", cause: new Error("no producer") })
        const seen = new Set<string>()
        for (const r of batch) {
          if (seen.has(r.id)) return yield* new DuplicateRecord({ id: r.id })
          seen.add(r.id)
          const bytes = eventWireBytes(r)
          if (bytes > c.capabilities.maxRecordBytes) return yield* new RecordTooLarge({ id: r.id, bytes, limit: c.capabilities.maxRecordBytes })
        }
        const known = yield* index.lookup([...seen])
        for (const r of batch) if (known.has(r.id)) return yield* new DuplicateRecord({ id: r.id })

        // The sequence record naming these events must come within the window (ADR 0001).
        const m = merger
        if (m === undefined) return yield* new KafkaClientError({ operation: "append", cause: new Error("the local index is being rebuilt") })
        const until = m.nextOffset(-1) + sequenceWindow
        const events = yield* produce(c, producer, batch, until)
        yield* ownEvents(batch, until, events)
        const id = randomUUID()
        const value = encodeSequence({ v: 1, batch: id, events })
        const waiter = yield* Deferred.make<AppendOutcome>()
        waiters.set(id, waiter)
        const outcome = yield* produced(client("produce sequence", () =>
          producer.send({ topic: topics.sequence, acks: -1, messages: [{ partition: 0, value }] }))).pipe(
            Effect.flatMap((sent) => ownSequence(Number(sent[0]?.baseOffset ?? -1), value)),
            Effect.andThen(Deferred.await(waiter).pipe(
              Effect.timeoutOrElse({ duration: appendTimeoutMs, orElse: () => Effect.fail(new SequenceTimeout({ batch: id, timeoutMs: appendTimeoutMs })) })
            )),
            Effect.ensuring(Effect.sync(() => waiters.delete(id)))
          )
        if (outcome._tag === "Skipped") return yield* new LostSequenceRace({ batch: id, reason: outcome.reason })
        if (outcome._tag === "Failed") return yield* new KafkaClientError({ operation: "apply to the local index", cause: outcome.cause })
        return outcome.acks
      }).pipe(appendLock.withPermit, Effect.mapError(fail("append")))

    const service: CausalLogService = {
      ...index,
      append,
      unavailable: Ref.get(status).pipe(Effect.map((s) => s._tag === "Ready" ? Option.none() : Option.some(describeStatus(s))))
    }

    const handle: KafkaLogHandle = {
      service,
      ready: Deferred.await(readyLatch),
      status: Ref.get(status),
      topics,
      buffered: Effect.sync(() => merger?.bufferedCount ?? 0),
      groupJoins: Effect.sync(() => groupJoins),
      consumed: Effect.sync(() => ({ ...consumedCount })),
      indexStart: Effect.sync(() => local.started),
      refused: Effect.sync(() => ({ ...refusedCount }))
    }
    return handle
  })

/**
 * The Kafka log, once ready (waits, retrying the connection, until it is). `whileConnecting`
 * runs in its own scope until then, e.g. a stand-in answering health checks.
 */
export const make = <E>(
  options: KafkaLogOptions,
  whileConnecting?: (status: Effect.Effect<ConnectionStatus>) => Effect.Effect<void, E, Scope.Scope>
) =>
  Effect.gen(function*() {
    const handle = yield* start(options)
    if (whileConnecting === undefined) yield* handle.ready
    else yield* Effect.scoped(whileConnecting(handle.status).pipe(Effect.andThen(handle.ready)))
    return handle.service
  })

/** The Kafka log as a layer (see `make`). */
export const layer = <E = never>(
  options: KafkaLogOptions,
  whileConnecting?: (status: Effect.Effect<ConnectionStatus>) => Effect.Effect<void, E, Scope.Scope>
) => Layer.effect(CausalLog, make(options, whileConnecting))

/** Re-exported so callers can match on the append error's cause. */
export { DuplicateRecord, KafkaClientError, LostSequenceRace, RecordTooLarge, SequenceTimeout, TopicLayoutError }
