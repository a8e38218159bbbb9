/**
 * One decode per record: a logged record's envelope, its payload decoded by its type's schema
 * (`decodePayload`, the same decoder admission uses), computed once per record object and
 * shared by every fold and reader that looks at it — the mempool, operators, chain-state and
 * chain-watches projections and settlement used to parse and decode each body themselves.
 *
 * The log holds only admitted records (ingest decoded them; the Kafka merge checks every
 * record from its bytes before it counts), so a body that does not decode here is a corrupt
 * record: `undefined`, and every fold skips it alike.
 */
import { Result } from "effect"
import { decodePayload, isMessageType, type MessageType, type PayloadOf } from "../domain/MessageTypes.ts"
import type { LogRecord } from "../ports/CausalLog.ts"

/** A record's decoded envelope fields: what the folds read from a body. */
export interface RecordEvent<T extends MessageType = MessageType> {
  readonly type: T
  readonly payload: PayloadOf<T>
  /** The envelope's expiry (Unix ms), or null. */
  readonly expiry: number | null
}

// Keyed by the record object: a page of records is folded by every projection in turn, and
// each record is decoded by the first one that asks. Nothing keeps a record alive for it.
const memo = new WeakMap<LogRecord, RecordEvent | null>()

const decode = (record: LogRecord): RecordEvent | null => {
  if (!isMessageType(record.type) || record.body === "") return null
  let parsed: unknown
  try {
    parsed = JSON.parse(record.body)
  } catch {
    return null
  }
  if (typeof parsed !== "object" || parsed === null) return null
  const { payload, expiry } = parsed as { readonly payload?: unknown; readonly expiry?: unknown }
  // Every admitted envelope has its expiry (null or a number); the folds that do not read it
  // never required it, so a body without one (hand-made in tests) reads as "no expiry".
  if (expiry !== undefined && expiry !== null && typeof expiry !== "number") return null
  const decoded = decodePayload(record.type, payload)
  return Result.isSuccess(decoded) ? { type: record.type, payload: decoded.success as PayloadOf<MessageType>, expiry: expiry ?? null } : null
}

/** The record's decoded envelope fields, decoded once per record; undefined for a corrupt record. */
export const eventOf = (record: LogRecord): RecordEvent | undefined => {
  let event = memo.get(record)
  if (event === undefined) {
    event = decode(record)
    memo.set(record, event)
  }
  return event ?? undefined
}

/** The record's payload if it is of `type` and decodes; undefined otherwise. */
export const payloadOf = <T extends MessageType>(record: LogRecord, type: T): PayloadOf<T> | undefined =>
  record.type === type ? (eventOf(record)?.payload as PayloadOf<T> | undefined) : undefined
