/** Why the Kafka log refused or could not do something; each travels as a CausalLogError's cause. */
import { type Cause, Data, Effect } from "effect"

/** A record is larger than the broker accepts; refused before anything of its batch is produced. */
export class RecordTooLarge extends Data.TaggedError("RecordTooLarge")<{
  readonly id: string
  readonly bytes: number
  readonly limit: number
}> {
  override get message(): string {
    return `record ${this.id} is ${this.bytes} bytes on the wire, over the broker's limit of ${this.limit}`
  }
}

/** An id is already in the log, or twice in one batch: the batch is refused whole. */
export class DuplicateRecord extends Data.TaggedError("DuplicateRecord")<{ readonly id: string }> {
  override get message(): string {
    return `duplicate id ${this.id}`
  }
}

/**
 * The merge skipped this batch whole (ADR 0001), so none of it is acknowledged: usually
 * another instance sequenced a batch holding one of its ids first; or its sequence record
 * came after its events' window.
 */
export class LostSequenceRace extends Data.TaggedError("LostSequenceRace")<{ readonly batch: string; readonly reason: string }> {
  override get message(): string {
    return `batch ${this.batch} was skipped by the merge (${this.reason}); nothing of it was applied`
  }
}

/** The batch was produced but not applied in time; it may still be applied later. */
export class SequenceTimeout extends Data.TaggedError("SequenceTimeout")<{
  readonly batch: string
  readonly timeoutMs: number
}> {
  override get message(): string {
    return `batch ${this.batch} was not sequenced within ${this.timeoutMs} ms; it may still appear in the log`
  }
}

/** kafkajs failed (connection, protocol, timeout). */
export class KafkaClientError extends Data.TaggedError("KafkaClientError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `${this.operation}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** The topics are missing or misshapen and cannot be created. */
export class TopicLayoutError extends Data.TaggedError("TopicLayoutError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

/** A kafkajs call, its rejection wrapped at the edge into a `KafkaClientError` naming the operation. */
export const client = <A>(operation: string, f: () => Promise<A>): Effect.Effect<A, KafkaClientError> =>
  Effect.tryPromise({ try: f, catch: (cause) => new KafkaClientError({ operation, cause }) })

/** What went wrong, as one line (kafkajs rejects with errors and with plain objects alike). */
export const describeError = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e)

/** A cause as one line: its failures and defects described, interruptions named. */
export const causeText = (cause: Cause.Cause<unknown>): string =>
  cause.reasons.map((r) => (r._tag === "Fail" ? describeError(r.error) : r._tag === "Die" ? describeError(r.defect) : "interrupted")).join("; ")
