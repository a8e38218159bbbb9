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
 *
 * `start` composes the parts, each in its own file: `KafkaLocalIndex` (the index and its saved
 * position), `KafkaConnection` (clients, topics, consumer; `ConnectLoop` retries it),
 * `KafkaMerge` (the merger at work, fed by `EventChecker`), `KafkaReadiness` (Connecting →
 * CatchingUp → Ready), `BrokerHealth` with `BrokerWatch` (Ready ⇄ Disconnected, on Effect's
 * Clock) and `KafkaAppend` (the port's append).
 */
import { Clock, Effect, Layer, Option, Ref, type Scope } from "effect"
import { CausalLog, type CausalLogError, type CausalLogService } from "../../ports/CausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../signatures/NodeCryptoSignatureVerifier.ts"
import { BrokerHealth } from "./BrokerHealth.ts"
import { watchBrokers } from "./BrokerWatch.ts"
import { connectLoop } from "./ConnectLoop.ts"
import { EventChecker } from "./EventChecker.ts"
import { makeAppend } from "./KafkaAppend.ts"
import { KafkaConnection } from "./KafkaConnection.ts"
import { type Capabilities, type ConnectionStatus, describeStatus } from "./KafkaConnectionStatus.ts"
import {
  causeText,
  DuplicateRecord,
  KafkaClientError,
  LostSequenceRace,
  RecordTooLarge,
  SequenceTimeout,
  TopicLayoutError
} from "./KafkaErrors.ts"
import { type IndexStart, KafkaLocalIndex, readIndexState } from "./KafkaLocalIndex.ts"
import type { KafkaLogOptions } from "./KafkaLogOptions.ts"
import { KafkaReadiness } from "./KafkaReadiness.ts"

export { type Capabilities, type ConnectionStatus, describeStatus, type IndexStart, type KafkaLogOptions, readIndexState }

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

/**
 * Start the Kafka log in the scope: connect in the background (retrying), merge what the
 * topics hold into the local index, watch the brokers, serve the port from the index.
 */
export const start = (options: KafkaLogOptions): Effect.Effect<KafkaLogHandle, CausalLogError, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = options.topicPrefix ?? "causeway."
    const topics = { events: `${prefix}events`, sequence: `${prefix}sequence` }
    const indexPath = options.indexPath ?? ":memory:"
    const brokers = options.brokers.join(",")
    const services = yield* Effect.context<never>()
    const clock = yield* Clock.clockWith(Effect.succeed)

    const local = yield* KafkaLocalIndex.open(indexPath, topics)
    const readiness = yield* KafkaReadiness.make
    const health = new BrokerHealth(options.disconnectGraceMs ?? 5000, clock.currentTimeMillisUnsafe())
    const checker = new EventChecker(options.verifier ?? NodeCryptoSignatureVerifier.make(), topics.events)
    const kafka = yield* KafkaConnection.make({ options, topics, local, checker, readiness, health, clock, services })
    const merge = kafka.merge

    // A consumer that kafkajs gave up on (a non-retriable crash) is replaced like a failed
    // connect; the merge keeps its place, and the new consumer seeks there on joining.
    yield* Effect.forkScoped(connectLoop({
      connect: kafka.connect,
      initialDelayMs: options.retryInitialMs ?? 500,
      maxDelayMs: options.retryMaxMs ?? 30_000,
      failed: (attempt, cause, delay) =>
        Effect.gen(function*() {
          const reason = causeText(cause)
          yield* readiness.connecting(attempt, reason)
          yield* Effect.logWarning(`kafka log: cannot connect to ${brokers} (attempt ${attempt}): ${reason}; retrying in ${delay} ms`)
        }),
      ended: (reason) =>
        Effect.gen(function*() {
          if (local.rebuilding === undefined) yield* Effect.logError(`kafka log: the consumer stopped (${reason}); reconnecting`)
          yield* kafka.close
          if (local.rebuilding !== undefined) yield* merge.reset(local.clear)
        }).pipe(Effect.orDie)
    }))
    yield* Effect.forkScoped(watchBrokers({ health, status: readiness.status, brokers, probe: kafka.probe }))
    yield* Effect.addFinalizer(() => kafka.close)

    const service: CausalLogService = {
      ...local.service,
      append: makeAppend({
        topics,
        readOnly: options.readOnly === true,
        appendTimeoutMs: options.appendTimeoutMs ?? 30_000,
        sequenceWindow: options.sequenceWindow ?? 100_000,
        clients: kafka.clients,
        local,
        merge,
        health,
        clock
      }),
      unavailable: Ref.get(readiness.status).pipe(Effect.map((s) => s._tag === "Ready" ? Option.none() : Option.some(describeStatus(s))))
    }
    return {
      service,
      ready: readiness.ready,
      status: Ref.get(readiness.status),
      topics,
      buffered: Effect.sync(() => merge.buffered),
      groupJoins: Effect.sync(() => kafka.groupJoins),
      consumed: Effect.sync(() => merge.consumed),
      indexStart: Effect.sync(() => local.started),
      refused: Effect.sync(() => checker.refused)
    }
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
