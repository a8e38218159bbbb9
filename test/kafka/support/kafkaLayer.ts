/** Kafka logs for tests: fresh topics per log, options suited to a test broker. */
import { Effect, Layer } from "effect"
import * as KafkaCausalLog from "../../../src/adapters/kafka/KafkaCausalLog.ts"
import type { TestBroker } from "./TestBroker.ts"
import { freshPrefix } from "./TestBroker.ts"

/** Options for a log on `broker` under `prefix`. */
export const optionsFor = (broker: TestBroker, prefix: string, extra: Partial<KafkaCausalLog.KafkaLogOptions> = {}): KafkaCausalLog.KafkaLogOptions => ({
  brokers: broker.brokers,
  topicPrefix: prefix,
  replicationFactor: 1,
  partitions: 3,
  sessionTimeoutMs: 6000,
  heartbeatIntervalMs: 500,
  ...extra
})

/** Create fresh topics (3 event partitions) and return their prefix. */
export const freshTopics = (broker: TestBroker, label: string, partitions = 3) =>
  Effect.promise(async () => {
    const prefix = freshPrefix(label)
    await broker.createTopics(prefix, partitions)
    return prefix
  })

/** A CausalLog layer over new topics. */
export const freshLogLayer = (broker: TestBroker, label: string) =>
  Layer.unwrap(freshTopics(broker, label).pipe(Effect.map((prefix) => KafkaCausalLog.layer(optionsFor(broker, prefix)))))
