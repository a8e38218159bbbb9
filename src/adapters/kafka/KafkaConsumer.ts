/**
 * The life of the Kafka log's consumer (the materializer's): joining its group at the merge's
 * position, subscribing to both topics, running (batches, fetches and crashes handed to the
 * log), and stopping (kafkajs gave up on it, or it was told to) with the reason.
 */
import { Deferred, Effect, Exit } from "effect"
import type { Consumer, EachBatchPayload } from "kafkajs"
import { client, describeError, type KafkaClientError } from "./KafkaErrors.ts"
import { isClosing } from "./KafkaClients.ts"
import type { TopicNames } from "./KafkaTopics.ts"
import type { SequenceMerger } from "./SequenceMerger.ts"

/**
 * After a rebalance the group resumes where its last commit (by anyone) left off, or at the
 * beginning: at every join, put each partition back where the merge (`at()`) stands. A
 * consumer being closed leaves again instead (kafkajs cannot stop one that is still joining).
 */
export const seekOnJoin = (consumer: Consumer, topics: TopicNames, at: () => SequenceMerger | undefined, joined: () => void): void => {
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    if (isClosing(consumer)) {
      consumer.disconnect().catch(() => undefined)
      return
    }
    joined()
    const m = at()
    if (m === undefined) return
    for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
      for (const partition of partitions) {
        consumer.seek({ topic, partition, offset: String(m.nextOffset(topic === topics.sequence ? -1 : partition)) })
      }
    }
  })
}

/** Connect and subscribe to both topics (from the beginning: `seekOnJoin` places it). */
export const subscribe = (consumer: Consumer, topics: TopicNames): Effect.Effect<void, KafkaClientError> =>
  Effect.gen(function*() {
    yield* client("consumer.connect", () => consumer.connect())
    yield* client("consumer.subscribe", () => consumer.subscribe({ topics: [topics.events, topics.sequence], fromBeginning: true }))
  })

/** What a running consumer hands to the log. */
export interface ConsumerHandlers {
  /** A fetch completed. */
  readonly fetched: () => void
  /** It crashed (kafkajs restarts it unless the crash is final or it is closing). */
  readonly crashed: (reason: string) => void
  /** One partition's batch; resolved once handled. */
  readonly eachBatch: (batch: EachBatchPayload["batch"]) => Promise<unknown>
  /** Tell it to stop: the log completes this with why (e.g. to rebuild the index). */
  readonly stop: Deferred.Deferred<string>
}

/**
 * Run the consumer in the background (it joins its group in the background, seconds on some
 * brokers); the result waits until it stops, and says why.
 */
export const runConsumer = (consumer: Consumer, handlers: ConsumerHandlers): Effect.Effect<Effect.Effect<string>> =>
  Effect.sync(() => {
    const { stop } = handlers
    consumer.on(consumer.events.FETCH, handlers.fetched)
    consumer.on(consumer.events.CRASH, (event) => {
      handlers.crashed(`consumer: ${describeError(event.payload.error)}`)
      if (!event.payload.restart) Deferred.doneUnsafe(stop, Exit.succeed(describeError(event.payload.error)))
    })
    consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      // Batches of different partitions are checked at once (one at a time per partition).
      partitionsConsumedConcurrently: 4,
      eachBatch: ({ batch }: EachBatchPayload) => handlers.eachBatch(batch).then(() => undefined)
    }).catch((e: unknown) => Deferred.doneUnsafe(stop, Exit.succeed(describeError(e))))
    return Deferred.await(stop)
  })
