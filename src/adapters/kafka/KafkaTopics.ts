/**
 * The Kafka log's two topics as the brokers hold them: created when missing (never by a
 * reader), checked for their layout, their record size limit, where each partition starts and
 * ends, and whether the merge can still read them from where it stands.
 */
import { Effect, Exit, Option } from "effect"
import type { Admin } from "kafkajs"
import { causeText, client, type KafkaClientError, TopicLayoutError } from "./KafkaErrors.ts"
import type { SequenceMerger } from "./SequenceMerger.ts"

/** The topic names of one log. */
export interface TopicNames {
  readonly events: string
  readonly sequence: string
}

/** How the topics are created when missing. */
export interface TopicLayout {
  /** Partitions of the events topic. */
  readonly partitions: number
  /** Unset: the broker's default.replication.factor and min.insync.replicas. */
  readonly replicationFactor: number | undefined
  /** A reader never creates topics. */
  readonly readOnly: boolean
}

/** Low and high watermarks of the sequence topic and of each events partition. */
export interface TopicEnds {
  readonly sequence: PartitionEnds
  readonly events: ReadonlyArray<PartitionEnds>
}

/** Low and high watermarks of one partition. */
export interface PartitionEnds {
  readonly partition: number
  readonly low: number
  readonly high: number
}

/** Create the topics if missing (and allowed), then check their layout: how many events partitions there are. */
export const ensureTopics = (admin: Admin, topics: TopicNames, layout: TopicLayout) =>
  Effect.gen(function*() {
    const existing = new Set(yield* client("listTopics", () => admin.listTopics()))
    const missing = [topics.events, topics.sequence].filter((t) => !existing.has(t))
    if (missing.length > 0 && layout.readOnly) {
      return yield* new TopicLayoutError({ reason: `topics ${missing.join(", ")} do not exist (a reader never creates them)` })
    }
    if (missing.length > 0) {
      const rf = layout.replicationFactor
      const created = yield* Effect.exit(client("createTopics", () =>
        admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((topic) => ({
            topic,
            numPartitions: topic === topics.sequence ? 1 : layout.partitions,
            ...(rf === undefined ? {} : { replicationFactor: rf }),
            // The topics are the log itself: nothing may age out of them.
            configEntries: [
              ...(rf === undefined ? [] : [{ name: "min.insync.replicas", value: String(Math.min(2, rf)) }]),
              { name: "retention.ms", value: "-1" },
              { name: "retention.bytes", value: "-1" },
              { name: "cleanup.policy", value: "delete" }
            ]
          }))
        })))
      if (Exit.isFailure(created)) {
        return yield* new TopicLayoutError({
          reason: `topics ${missing.join(", ")} are missing and the broker did not create them (${causeText(created.cause)})`
        })
      }
    }
    const meta = yield* client("fetchTopicMetadata", () => admin.fetchTopicMetadata({ topics: [topics.events, topics.sequence] }))
    const count = (name: string) => meta.topics.find((t) => t.name === name)?.partitions.length ?? 0
    if (count(topics.sequence) !== 1) {
      return yield* new TopicLayoutError({ reason: `${topics.sequence} has ${count(topics.sequence)} partitions; the total order needs exactly 1` })
    }
    if (count(topics.events) < 1) return yield* new TopicLayoutError({ reason: `${topics.events} has no partitions` })
    return { partitions: count(topics.events) }
  })

/** The events topic's `max.message.bytes`; none when the broker does not tell it. */
export const maxBytesOf = (admin: Admin, topics: TopicNames): Effect.Effect<Option.Option<number>> =>
  client("describeConfigs", () =>
    admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topics.events, configNames: ["max.message.bytes"] }] })).pipe(
      Effect.map((r) => {
        const v = r.resources[0]?.configEntries.find((e) => e.configName === "max.message.bytes")?.configValue
        return v === undefined ? undefined : Number(v)
      }),
      Effect.option,
      Effect.map(Option.flatMap(Option.fromUndefinedOr))
    )

/** Where both topics start and end now (low and high watermarks). */
export const topicEnds = (admin: Admin, topics: TopicNames): Effect.Effect<TopicEnds, KafkaClientError> =>
  Effect.gen(function*() {
    const [sequence, events] = yield* Effect.all([
      client("fetchTopicOffsets", () => admin.fetchTopicOffsets(topics.sequence)),
      client("fetchTopicOffsets", () => admin.fetchTopicOffsets(topics.events))
    ])
    const ends = (o: { readonly partition: number; readonly low: string; readonly high: string }) => ({
      partition: o.partition,
      low: Number(o.low),
      high: Number(o.high)
    })
    const head = sequence.find((o) => o.partition === 0)
    return { sequence: head === undefined ? { partition: 0, low: 0, high: 0 } : ends(head), events: events.map(ends) }
  })

/**
 * The merge reads every partition from where it stands; records deleted below that
 * (retention set on the topics, or their data removed) can never be read, and waiting for
 * them would spin on the same fetch forever. Refuse to start instead, saying which.
 */
export const checkReadable = (m: SequenceMerger, ends: TopicEnds, topics: TopicNames): Effect.Effect<void, TopicLayoutError> => {
  const missing: Array<string> = []
  if (ends.sequence.low > m.nextOffset(-1)) missing.push(`${topics.sequence} starts at ${ends.sequence.low}, the merge needs it from ${m.nextOffset(-1)}`)
  for (const e of ends.events) {
    const next = m.nextOffset(e.partition)
    if (e.low > next) missing.push(`${topics.events}[${e.partition}] starts at ${e.low}, the merge needs it from ${next}`)
  }
  return missing.length === 0 ? Effect.void : Effect.fail(
    new TopicLayoutError({
      reason: `records were deleted from the log's topics (retention, or their data removed), so the log cannot be read whole: ${missing.join("; ")}`
    })
  )
}
