/**
 * One Kafka log's connection to the brokers: an attempt (`connect`) opens the admin client,
 * lays out the topics, connects the producer, sets up the merge from the local index, and
 * starts the consumer; what it returns waits for that consumer to stop. `ConnectLoop` repeats
 * it. An attempt that fails closes what it opened; a stopped consumer's clients are closed by
 * `close` before the next attempt.
 */
import { randomUUID } from "node:crypto"
import { type Clock, type Context, Deferred, Effect, Exit, Option, Ref } from "effect"
import type { Admin, Consumer, Producer } from "kafkajs"
import type { BrokerHealth } from "./BrokerHealth.ts"
import type { EventChecker } from "./EventChecker.ts"
import { type Clients, connectProducer, disconnect, makeConsumer, makeKafka } from "./KafkaClients.ts"
import type { Capabilities } from "./KafkaConnectionStatus.ts"
import { runConsumer, seekOnJoin, subscribe } from "./KafkaConsumer.ts"
import { client, TopicLayoutError } from "./KafkaErrors.ts"
import type { KafkaLocalIndex } from "./KafkaLocalIndex.ts"
import type { KafkaLogOptions } from "./KafkaLogOptions.ts"
import { KafkaMerge } from "./KafkaMerge.ts"
import type { KafkaReadiness } from "./KafkaReadiness.ts"
import { checkReadable, ensureTopics, maxBytesOf, type TopicNames, topicEnds } from "./KafkaTopics.ts"

const DEFAULT_MAX_RECORD_BYTES = 1_048_588

/** What a connection works with. */
export interface KafkaConnectionDeps {
  readonly options: KafkaLogOptions
  readonly topics: TopicNames
  readonly local: KafkaLocalIndex
  /** Checks the consumed events before the merge takes them. */
  readonly checker: EventChecker
  readonly readiness: KafkaReadiness
  readonly health: BrokerHealth
  /** The clock the health's times come from (kafkajs's callbacks read it directly). */
  readonly clock: Clock.Clock
  /** The services kafkajs's callbacks run effects with (logging, the clock). */
  readonly services: Context.Context<never>
}

/** The connection of one Kafka log. */
export class KafkaConnection {
  /** The clients, while connected. */
  readonly clients: Ref.Ref<Option.Option<Clients>>
  /**
   * The merge the consumer feeds. When it moves on, the log may be caught up (Ready); when it
   * is thrown away, the consumer is stopped so that the next connect rebuilds the index.
   */
  readonly merge: KafkaMerge
  private readonly deps: KafkaConnectionDeps
  private readonly kafka: ReturnType<typeof makeKafka>
  private stop: Deferred.Deferred<string> | undefined = undefined
  private joins = 0

  private constructor(deps: KafkaConnectionDeps, clients: Ref.Ref<Option.Option<Clients>>) {
    this.deps = deps
    this.clients = clients
    this.kafka = makeKafka(deps.options, deps.services)
    const { clock, health, local, readiness } = deps
    this.merge = new KafkaMerge({
      local,
      topics: deps.topics,
      checker: deps.checker,
      indexPath: deps.options.indexPath ?? ":memory:",
      hooks: {
        moved: (m) =>
          Effect.gen({ self: this }, function*() {
            const connected = yield* Ref.get(this.clients)
            yield* readiness.moved(m.decidedThrough, Option.map(connected, (c) => c.capabilities), {
              traffic: Effect.sync(() => health.traffic(clock.currentTimeMillisUnsafe())),
              records: local.service.endOffset
            })
          }),
        thrownAway: (reason) =>
          Effect.gen({ self: this }, function*() {
            yield* readiness.connecting(0, `rebuilding the local index: ${reason}`)
            this.stopConsumer(`rebuilding the local index: ${reason}`)
          })
      }
    })
  }

  /** Not connected yet (its owner closes it, `close`, when done). */
  static make(deps: KafkaConnectionDeps): Effect.Effect<KafkaConnection> {
    return Effect.map(Ref.make<Option.Option<Clients>>(Option.none()), (clients) => new KafkaConnection(deps, clients))
  }

  /** How many times the consumer joined its group (1 + rebalances and restarts). */
  get groupJoins(): number {
    return this.joins
  }

  /** A cheap request to the brokers while connected (for `BrokerWatch`); failures are kafkajs's own. */
  get probe(): Effect.Effect<Option.Option<Effect.Effect<unknown, unknown>>> {
    return Ref.get(this.clients).pipe(
      Effect.map(Option.map((c) => client("probe", () => c.admin.fetchTopicOffsets(this.deps.topics.sequence)).pipe(Effect.mapError((e) => e.cause))))
    )
  }

  // Stop the running consumer, for `reason` (what its `connect` returned completes).
  private stopConsumer(reason: string): void {
    if (this.stop !== undefined) Deferred.doneUnsafe(this.stop, Exit.succeed(reason))
  }

  /** Close the clients (the consumer's batches no longer feed the merge). */
  get close(): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      this.merge.feedFrom(undefined)
      const c = yield* Ref.getAndSet(this.clients, Option.none())
      if (Option.isSome(c)) yield* disconnect(c.value)
    })
  }

  /** One attempt; on success, what waits for the consumer to stop (and says why). */
  get connect() {
    return Effect.gen({ self: this }, function*() {
      const opened: { admin?: Admin; producer?: Producer; consumer?: Consumer } = {}
      const exit = yield* Effect.exit(this.attempt(opened))
      if (Exit.isFailure(exit)) {
        yield* Ref.set(this.clients, Option.none())
        yield* disconnect(opened)
      }
      return yield* exit
    })
  }

  private attempt(opened: { admin?: Admin; producer?: Producer; consumer?: Consumer }) {
    const { health, local, options, readiness, topics } = this.deps
    const merge = this.merge
    const { connecting, kafka } = this.kafka
    return Effect.gen({ self: this }, function*() {
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
      readiness.aimAt(ends.sequence.high)
      // The merge keeps its place across reconnects; it is set up from the index only when there is none.
      const merger = yield* merge.ensure(Effect.gen(function*() {
        const cluster = yield* Effect.option(client("describeCluster", () => admin.describeCluster()))
        return yield* local.restore(layout.partitions, Option.match(cluster, { onNone: () => null, onSome: (c) => c.clusterId }), ends)
      }))
      yield* checkReadable(merger, ends, topics)
      if (merger.partitions !== layout.partitions) {
        return yield* new TopicLayoutError({ reason: `${topics.events} went from ${merger.partitions} to ${layout.partitions} partitions` })
      }
      const consumer = makeConsumer(kafka, {
        groupId: options.groupId ?? `${options.topicPrefix ?? "causeway."}materializer.${randomUUID()}`,
        sessionTimeout: options.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: options.heartbeatIntervalMs ?? 1000,
        maxWaitTimeInMs: options.maxWaitTimeMs ?? 100
      })
      opened.consumer = consumer
      merge.feedFrom(consumer)
      seekOnJoin(consumer, topics, () => merge.merger, () => this.joins++)
      yield* subscribe(consumer, topics)
      yield* readiness.catchingUp(merge.merger?.decidedThrough ?? 0)
      yield* Ref.set(this.clients, Option.some({ admin, producer, consumer, partitions: layout.partitions, capabilities }))
      // The consumer joins its group in the background (seconds on some brokers): this
      // instance's own appends reach the merge without it, and catching up waits for it.
      const stop = Deferred.makeUnsafe<string>()
      this.stop = stop
      const { clock, services } = this.deps
      const stopped = yield* runConsumer(consumer, {
        stop,
        fetched: () => health.traffic(clock.currentTimeMillisUnsafe()),
        crashed: (reason) => health.failed(reason),
        eachBatch: (batch) =>
          Effect.runPromiseWith(services)(
            merge.offer(consumer, batch.topic, batch.partition, batch.messages, (offset) => consumer.seek({ topic: batch.topic, partition: batch.partition, offset: String(offset) }))
          )
      })
      yield* Effect.logInfo("kafka log connected").pipe(
        Effect.annotateLogs({ brokers: options.brokers.join(","), topics: `${topics.events},${topics.sequence}`, partitions: layout.partitions, ...capabilities })
      )
      yield* merge.check
      return stopped
    })
  }
}
