/**
 * The causal log: an append-only sequence of signed envelopes with a global offset, each
 * keyed by Lamport time. Adapters: SQLite (embedded default), memory (tests), Kafka.
 */
import { Context, Data, type Effect, type Option, type Stream } from "effect"
import type { MessageId } from "../domain/Primitives.ts"

/** A record to append: the decoded header fields plus the canonical envelope text. */
/** A page of a message's dependents: records at offset `from` or later (default 0), at most `limit`. */
export interface DependentsPage {
  readonly from?: number
  readonly limit?: number
}

export interface NewRecord {
  readonly id: MessageId
  readonly lamport: number
  readonly type: string
  readonly sender: string
  readonly nonce: number
  readonly deps: ReadonlyArray<MessageId>
  /** Canonical JSON (RFC 8785) of the whole envelope, signature included. */
  readonly body: string
}

/** A record as stored, with its global offset (0-based, dense). */
export interface LogRecord extends NewRecord {
  readonly offset: number
}

/** Where an appended record landed. */
export interface Appended {
  readonly id: MessageId
  readonly offset: number
  readonly lamport: number
}

/** What the ingest path needs to know of a record already in the log. */
export interface RecordRef {
  readonly offset: number
  readonly lamport: number
}

/** The storage behind the log failed (I/O, corruption, broker). Not the sender's fault. */
export class CausalLogError extends Data.TaggedError("CausalLogError")<{
  readonly operation: string
  readonly cause: unknown
}> {}

/** What the log holds of one sender: its records and its latest Lamport time. */
export interface SenderStats {
  readonly sender: string
  readonly count: number
  readonly latestLamport: number
}

/** The causal log port. */
export interface CausalLogService {
  /** Append records atomically, in order; success means every one of them is durable. */
  readonly append: (records: ReadonlyArray<NewRecord>) => Effect.Effect<ReadonlyArray<Appended>, CausalLogError>
  /** Records with from <= offset < to (to clipped at the end). */
  readonly read: (from: number, to: number) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>
  /** Up to `limit` records in causal order (lamport, id), starting at Lamport time `fromLamport`. */
  readonly readCausal: (fromLamport: number, limit: number) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>
  /**
   * Visit records with from <= offset < to, in order, and return how many were visited.
   * With `withBody: false` the records' `body` is the empty string: replay of projections
   * that fold only header fields skips reading and decoding the envelopes. With
   * `withLinks: false` (default true) `id` is "" and `deps` is empty, for projections that
   * read neither.
   */
  readonly scan: (
    from: number,
    to: number,
    options: { readonly withBody: boolean; readonly withLinks?: boolean },
    visit: (record: LogRecord) => void
  ) => Effect.Effect<number, CausalLogError>
  /** A record by id. */
  readonly get: (id: string) => Effect.Effect<Option.Option<LogRecord>, CausalLogError>
  /** Offset and Lamport time of every id that is in the log. */
  readonly lookup: (ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyMap<string, RecordRef>, CausalLogError>
  /** Records that name `id` among their dependencies, in log order: from offset `page.from` on, at most `page.limit` (default: all). */
  readonly dependents: (id: string, page?: DependentsPage) => Effect.Effect<ReadonlyArray<LogRecord>, CausalLogError>
  /** The highest nonce accepted from a sender, if any. */
  readonly highestNonce: (sender: string) => Effect.Effect<Option.Option<number>, CausalLogError>
  /**
   * A page of the log's senders in key order: those after `after` (all when undefined), at most
   * `limit`; and how many senders the log holds. Kept on disk beside the records (the log index
   * keeps no per-sender table in memory).
   */
  readonly senders: (
    after: string | undefined,
    limit: number
  ) => Effect.Effect<{ readonly page: ReadonlyArray<SenderStats>; readonly total: number }, CausalLogError>
  /** The highest Lamport time in the log (0 when empty). */
  readonly maxLamport: Effect.Effect<number, CausalLogError>
  /** The offset the next record will get (= number of records). */
  readonly endOffset: Effect.Effect<number, CausalLogError>
  /** Every record from `fromOffset` on, then each new one as it is appended; never ends. */
  readonly subscribe: (fromOffset: number) => Stream.Stream<LogRecord, CausalLogError>
  /**
   * Why the log cannot take appends right now, if so (readiness). Only adapters whose storage
   * can go away while serving have it (Kafka: the brokers lost); absent means always able.
   */
  readonly unavailable?: Effect.Effect<Option.Option<string>>
}

/** The causal log service tag. */
export class CausalLog extends Context.Service<CausalLog, CausalLogService>()("causeway/CausalLog") {}
