/**
 * The Kafka log's `append`: refuse duplicates and records over the broker's limit before
 * producing; produce the events (acks=all), then the sequence record naming them; succeed
 * once the merge has applied the batch, with its offsets. One append at a time per instance.
 * Every produce's outcome feeds the broker health.
 */
import { randomUUID } from "node:crypto"
import { type Clock, Deferred, Effect, Option, Ref, Semaphore } from "effect"
import type { Producer } from "kafkajs"
import { type Appended, CausalLogError, type NewRecord } from "../../ports/CausalLog.ts"
import * as SqliteCausalLog from "../storage/SqliteCausalLog.ts"
import type { BrokerHealth } from "./BrokerHealth.ts"
import type { Clients } from "./KafkaClients.ts"
import {
  client,
  describeError,
  DuplicateRecord,
  KafkaClientError,
  LostSequenceRace,
  RecordTooLarge,
  SequenceTimeout
} from "./KafkaErrors.ts"
import type { KafkaLocalIndex } from "./KafkaLocalIndex.ts"
import type { KafkaMerge } from "./KafkaMerge.ts"
import { encodeSequence, eventHeaders, eventWireBytes, partitionFor, type SequenceBatch } from "./KafkaRecordCodec.ts"
import type { TopicNames } from "./KafkaTopics.ts"

/** What `append` works with. */
export interface KafkaAppendDeps {
  readonly topics: TopicNames
  readonly readOnly: boolean
  /** How long append waits for its batch to be applied. */
  readonly appendTimeoutMs: number
  /** How many sequence records may come between an event's produce and the one naming it. */
  readonly sequenceWindow: number
  readonly clients: Ref.Ref<Option.Option<Clients>>
  readonly local: KafkaLocalIndex
  readonly merge: KafkaMerge
  readonly health: BrokerHealth
  readonly clock: Clock.Clock
}

/** The port's `append` for one Kafka log. */
export const makeAppend = (deps: KafkaAppendDeps) => {
  const { clients, health, merge, topics } = deps
  const lock = Semaphore.makeUnsafe(1)

  const connected = Ref.get(clients).pipe(
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new KafkaClientError({ operation: "append", cause: new Error("not connected to Kafka") })),
      onSome: Effect.succeed
    }))
  )

  const produced = <A>(effect: Effect.Effect<A, KafkaClientError>) =>
    effect.pipe(
      Effect.tap(() => Effect.sync(() => health.traffic(deps.clock.currentTimeMillisUnsafe()))),
      Effect.tapError((e) => Effect.sync(() => health.failed(`${e.operation}: ${describeError(e.cause)}`)))
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

  return (batch: ReadonlyArray<NewRecord>): Effect.Effect<ReadonlyArray<Appended>, CausalLogError> =>
    Effect.gen(function*() {
      if (batch.length === 0) return []
      if (deps.readOnly) return yield* new SqliteCausalLog.LogIsReadOnly({ path: `${topics.events}, ${topics.sequence}` })
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
      const known = yield* deps.local.service.lookup([...seen])
      for (const r of batch) if (known.has(r.id)) return yield* new DuplicateRecord({ id: r.id })

      // The sequence record naming these events must come within the window (ADR 0001).
      const m = merge.merger
      if (m === undefined) return yield* new KafkaClientError({ operation: "append", cause: new Error("the local index is being rebuilt") })
      const until = m.nextOffset(-1) + deps.sequenceWindow
      const events = yield* produce(c, producer, batch, until)
      yield* merge.ownEvents(batch, until, events)
      const id = randomUUID()
      const value = encodeSequence({ v: 1, batch: id, events })
      const waiter = yield* merge.awaiting(id)
      const outcome = yield* produced(client("produce sequence", () =>
        producer.send({ topic: topics.sequence, acks: -1, messages: [{ partition: 0, value }] }))).pipe(
          Effect.flatMap((sent) => merge.ownSequence(Number(sent[0]?.baseOffset ?? -1), value)),
          Effect.andThen(Deferred.await(waiter).pipe(
            Effect.timeoutOrElse({
              duration: deps.appendTimeoutMs,
              orElse: () => Effect.fail(new SequenceTimeout({ batch: id, timeoutMs: deps.appendTimeoutMs }))
            })
          )),
          Effect.ensuring(merge.forget(id))
        )
      if (outcome._tag === "Skipped") return yield* new LostSequenceRace({ batch: id, reason: outcome.reason })
      if (outcome._tag === "Failed") return yield* new KafkaClientError({ operation: "apply to the local index", cause: outcome.cause })
      return outcome.acks
    }).pipe(lock.withPermit, Effect.mapError((cause) => new CausalLogError({ operation: "append", cause })))
}
