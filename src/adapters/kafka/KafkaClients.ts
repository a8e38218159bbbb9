/**
 * The kafkajs clients of one Kafka log: how they are configured, connected and closed. The
 * rest of the adapter never builds or tears down a kafkajs object itself.
 */
import { type Context, Effect, Exit } from "effect"
import {
  type Admin,
  type Consumer,
  type ConsumerConfig,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  type Producer,
  type SASLOptions
} from "kafkajs"
import type { Capabilities } from "./KafkaConnectionStatus.ts"
import { client } from "./KafkaErrors.ts"

/** The clients of a connected log. */
export interface Clients {
  readonly admin: Admin
  /** None when the log is read-only. */
  readonly producer: Producer | undefined
  readonly consumer: Consumer
  readonly partitions: number
  readonly capabilities: Capabilities
}

/** How to reach the brokers. */
export interface BrokerAccess {
  readonly brokers: ReadonlyArray<string>
  readonly clientId?: string | undefined
  readonly ssl?: { readonly ca?: string; readonly cert?: string; readonly key?: string } | undefined
  readonly sasl?: SASLOptions | undefined
}

/** kafkajs log entries become debug lines of the service's own log. */
const kafkajsLogger = (services: Context.Context<never>) => () => (entry: LogEntry) => {
  if (entry.level > logLevel.WARN) return
  const { message, ...rest } = entry.log
  Effect.runForkWith(services)(
    Effect.logDebug(`kafkajs ${entry.namespace}: ${message}`).pipe(Effect.annotateLogs({ kafkajs: JSON.stringify(rest).slice(0, 500) }))
  )
}

/**
 * The two kafkajs instances of a log, logging through `services`: `kafka` retries produce and
 * fetch through a broker restart (about 30 s in all), while `connecting` fails fast (the
 * connect loop does the backoff, and logs it).
 */
export const makeKafka = (access: BrokerAccess, services: Context.Context<never>): { readonly kafka: Kafka; readonly connecting: Kafka } => {
  const config: KafkaConfig = {
    clientId: access.clientId ?? "causeway",
    brokers: [...access.brokers],
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    logCreator: kafkajsLogger(services),
    ...(access.ssl === undefined ? {} : { ssl: { ...access.ssl, rejectUnauthorized: true } }),
    ...(access.sasl === undefined ? {} : { sasl: { ...access.sasl } })
  }
  return {
    kafka: new Kafka({ ...config, retry: { initialRetryTime: 250, maxRetryTime: 5000, retries: 10 } }),
    connecting: new Kafka({ ...config, retry: { retries: 0 } })
  }
}

/** A connected producer: idempotent where the broker supports it (the librdkafka mock refuses InitProducerId). */
export const connectProducer = (kafka: Kafka) =>
  Effect.gen(function*() {
    const idempotent = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false })
    const connected = yield* Effect.exit(client("producer.connect", () => idempotent.connect()))
    if (Exit.isSuccess(connected)) return { producer: idempotent, idempotentProducer: true }
    yield* Effect.promise(() => idempotent.disconnect().catch(() => undefined))
    yield* Effect.logWarning(
      "kafka log: the broker refused InitProducerId; producing without idempotence (a retried produce may write a copy, which the merge drops by id)"
    )
    const plain = kafka.producer({ allowAutoTopicCreation: false })
    yield* client("producer.connect", () => plain.connect())
    return { producer: plain, idempotentProducer: false }
  })

// kafkajs (2.2.4) cannot stop a consumer that is still joining its group: `disconnect`
// returns, the join completes, and the consumer goes on fetching with no owner (and keeps
// the process alive). So a consumer is marked closing: it disconnects again as soon as it
// joins (`isClosing`, checked by its GROUP_JOIN handler), and a crash does not restart it.
const closing = new WeakMap<Consumer, { closing: boolean }>()

/** A consumer (not connected) that a crash restarts until it is closed. */
export const makeConsumer = (kafka: Kafka, config: Omit<ConsumerConfig, "retry" | "allowAutoTopicCreation">): Consumer => {
  const mark = { closing: false }
  const consumer = kafka.consumer({
    ...config,
    allowAutoTopicCreation: false,
    retry: { retries: 5, restartOnFailure: () => Promise.resolve(mark.closing !== true) }
  })
  closing.set(consumer, mark)
  return consumer
}

/** Whether `disconnect` was asked of this consumer. */
export const isClosing = (consumer: Consumer): boolean => closing.get(consumer)?.closing === true

/** A kafkajs call whose failure nobody can act on (closing): settled either way. */
const settle = (f: () => Promise<unknown>) => Effect.tryPromise(f).pipe(Effect.ignore)

/** Close whichever clients were opened, at once. Leaving the group is not waited for beyond 500 ms. */
export const disconnect = ({ admin, consumer, producer }: Partial<Clients>): Effect.Effect<void> =>
  Effect.all([
    consumer === undefined ? Effect.void : Effect.suspend(() => {
      const mark = closing.get(consumer)
      if (mark !== undefined) mark.closing = true
      return settle(() => consumer.disconnect()).pipe(Effect.timeoutOption(500))
    }),
    producer === undefined ? Effect.void : settle(() => producer.disconnect()),
    admin === undefined ? Effect.void : settle(() => admin.disconnect())
  ], { concurrency: "unbounded", discard: true })
