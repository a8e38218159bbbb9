/** How a Kafka log connects, lays out its topics and keeps its local index (`KafkaCausalLog.start`). */
import type { SignatureVerifierService } from "../../ports/SignatureVerifier.ts"

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
