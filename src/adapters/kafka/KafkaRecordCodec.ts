/**
 * The Kafka wire layout of the causal log (docs/adr/0001-kafka-total-order.md):
 *
 * - events topic: key = the sender (the stream key), value = the canonical envelope bytes,
 *   headers `v`, `id`, `lamport`, `type`, `sender`, `nonce`, `deps` (comma-separated ids),
 *   `until` (the last sequence-topic offset whose record may still apply the event);
 * - sequence topic (one partition): one JSON record per appended batch,
 *   `{"v":1,"batch":"<uuid>","events":[[partition, offset, id], ...]}` in append order.
 *
 * Everything read back from Kafka is decoded here with Schema; deeper code trusts it.
 */
import { Result, Schema } from "effect"
import { MessageId, NonNegativeInt } from "../../domain/Primitives.ts"
import type { NewRecord } from "../../ports/CausalLog.ts"

/** Version of both record layouts. */
export const LAYOUT_VERSION = "1"

const Decimal = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,15})$/))

const Deps = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{64}(?:,[0-9a-f]{64})*)?$/))

const EventHeaders = Schema.Struct({
  v: Schema.Literal(LAYOUT_VERSION),
  id: MessageId,
  lamport: Decimal,
  type: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(128)),
  sender: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256)),
  nonce: Decimal,
  deps: Deps,
  until: Decimal
})
const decodeHeaders = Schema.decodeUnknownResult(EventHeaders)

/**
 * An event as the events topic holds it: the record, and the last sequence-topic offset whose
 * record may still apply it. A sequence record further on that names it is skipped, so an
 * event whose sequence record never came (an orphan) is dropped by every reader at the same
 * point of the log (ADR 0001).
 */
export interface EventRecord {
  readonly record: NewRecord
  readonly until: number
}

/** The headers of an event record. */
export const eventHeaders = (r: NewRecord, until: number): Record<string, string> => ({
  v: LAYOUT_VERSION,
  id: r.id,
  lamport: String(r.lamport),
  type: r.type,
  sender: r.sender,
  nonce: String(r.nonce),
  deps: r.deps.join(","),
  until: String(until)
})

/** Bytes an event takes in a record batch, near enough to hold it to the broker's limit. */
export const eventWireBytes = (r: NewRecord): number => {
  let bytes = 70 + Buffer.byteLength(r.body) + Buffer.byteLength(r.sender) // record overhead, value, key
  for (const [k, v] of Object.entries(eventHeaders(r, Number.MAX_SAFE_INTEGER))) bytes += 10 + k.length + Buffer.byteLength(v)
  return bytes
}

/** A consumed event as kafkajs hands it over. */
export interface RawMessage {
  readonly value: Buffer | null
  readonly headers?: Record<string, Buffer | string | ReadonlyArray<Buffer | string> | undefined> | undefined
}

const headerText = (v: Buffer | string | ReadonlyArray<Buffer | string> | undefined): string | undefined =>
  v === undefined ? undefined : typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : undefined

/** An event record back from the events topic, or why it is not one. */
export const decodeEvent = (m: RawMessage): Result.Result<EventRecord, string> => {
  const raw: Record<string, string | undefined> = {}
  for (const [k, v] of Object.entries(m.headers ?? {})) raw[k] = headerText(v)
  const h = decodeHeaders(raw)
  if (Result.isFailure(h)) return Result.fail(`bad event headers: ${String(h.failure)}`)
  if (m.value === null) return Result.fail("event without a value")
  const { id, lamport, type, sender, nonce, deps, until } = h.success
  return Result.succeed({
    record: {
      id,
      lamport: Number(lamport),
      type,
      sender,
      nonce: Number(nonce),
      deps: deps === "" ? [] : (deps.split(",") as Array<MessageId>),
      body: m.value.toString("utf8")
    },
    until: Number(until)
  })
}

/** One appended batch as the sequence topic records it: where each of its events is. */
export const SequenceBatch = Schema.Struct({
  v: Schema.Literal(1),
  batch: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(64)),
  events: Schema.Array(Schema.Tuple([NonNegativeInt, NonNegativeInt, MessageId])).check(Schema.isMinLength(1))
})
export type SequenceBatch = typeof SequenceBatch.Type

const decodeSequenceJson = Schema.decodeUnknownResult(Schema.fromJsonString(SequenceBatch))

/** A sequence record's value, or why it is not one. */
export const decodeSequence = (value: Buffer | null): Result.Result<SequenceBatch, string> => {
  if (value === null) return Result.fail("sequence record without a value")
  const r = decodeSequenceJson(value.toString("utf8"))
  return Result.isFailure(r) ? Result.fail(`bad sequence record: ${String(r.failure)}`) : Result.succeed(r.success)
}

/** The value of a sequence record. */
export const encodeSequence = (batch: SequenceBatch): string => JSON.stringify(batch)

/** Kafka's murmur2 (the Java client's default partitioner), so every client keys alike. */
const murmur2 = (data: Uint8Array): number => {
  const b = (i: number): number => data[i] ?? 0
  const m = 0x5bd1e995
  let h = (0x9747b28c ^ data.length) | 0
  const n4 = data.length & ~3
  for (let i = 0; i < n4; i += 4) {
    let k = b(i) | (b(i + 1) << 8) | (b(i + 2) << 16) | (b(i + 3) << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
  }
  const rest = data.length & 3
  if (rest === 3) h ^= b(n4 + 2) << 16
  if (rest >= 2) h ^= b(n4 + 1) << 8
  if (rest >= 1) h = Math.imul(h ^ b(n4), m)
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h
}

/** The partition of a stream key: murmur2 of its UTF-8 bytes, positive, modulo the count. */
export const partitionFor = (key: string, partitions: number): number =>
  (murmur2(new TextEncoder().encode(key)) & 0x7fffffff) % partitions
