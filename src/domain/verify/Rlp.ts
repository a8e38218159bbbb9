/**
 * Recursive Length Prefix (Ethereum Yellow Paper, appendix B), strict: the decoder accepts
 * only the one canonical encoding of each value, the property ethereum/tests'
 * invalidRLPTest.json checks. Non-canonical input is refused rather than normalised because
 * proof verifiers hash what they decode: two encodings of one value would be two hashes.
 *
 * Decoded byte strings are views into the input (no copies): callers must not mutate the
 * input while they hold a decoded value.
 */
import { Data, Result } from "effect"

/** A value RLP can encode: a byte string or a (nested) list of them. */
export type RlpItem = Uint8Array | ReadonlyArray<RlpItem>

/** The input is not exactly one canonical RLP item. */
export class MalformedRlp extends Data.TaggedError("MalformedRlp")<{
  readonly reason: string
  /** Byte offset in the input where the problem was found. */
  readonly offset: number
}> {}

/** Where one item sits in a buffer: `[payloadStart, end)` is its payload, `end` is where the next item starts. */
export interface RlpSpan {
  readonly isList: boolean
  readonly payloadStart: number
  readonly end: number
}

/** Deepest list nesting `decodeRlp` follows: deeper input is refused instead of exhausting the stack. */
export const MAX_RLP_DEPTH = 1024

/**
 * The span of the item whose first byte is at `offset`, which must end at or before `limit`;
 * a string (the reason) when the header is not canonical or the item overruns `limit`.
 * Only the header is checked: the payload of a list is not walked.
 */
export const readRlpSpan = (bytes: Uint8Array, offset: number, limit: number): RlpSpan | string => {
  if (offset >= limit) return "truncated: missing item"
  const prefix = bytes[offset] as number
  if (prefix < 0x80) return { isList: false, payloadStart: offset, end: offset + 1 }
  if (prefix <= 0xb7) {
    const end = offset + 1 + (prefix - 0x80)
    if (end > limit) return "truncated: string payload"
    if (prefix === 0x81 && (bytes[offset + 1] as number) < 0x80) return "non-canonical: single byte below 0x80 encoded as a string"
    return { isList: false, payloadStart: offset + 1, end }
  }
  if (prefix < 0xc0) return longSpan(bytes, offset, limit, prefix - 0xb7, false)
  if (prefix <= 0xf7) {
    const end = offset + 1 + (prefix - 0xc0)
    if (end > limit) return "truncated: list payload"
    return { isList: true, payloadStart: offset + 1, end }
  }
  return longSpan(bytes, offset, limit, prefix - 0xf7, true)
}

const longSpan = (bytes: Uint8Array, offset: number, limit: number, lengthOfLength: number, isList: boolean): RlpSpan | string => {
  const payloadStart = offset + 1 + lengthOfLength
  if (payloadStart > limit) return "truncated: length bytes"
  if (bytes[offset + 1] === 0) return "non-canonical: leading zero in length"
  // Up to 8 length bytes: a double loses precision above 2^53, but any such length already
  // overruns every buffer, which is all the check below needs to know.
  let length = 0
  for (let i = offset + 1; i < payloadStart; i++) length = length * 256 + (bytes[i] as number)
  if (length < 56) return "non-canonical: long form for a payload under 56 bytes"
  if (length > limit - payloadStart) return isList ? "truncated: list payload" : "truncated: string payload"
  return { isList, payloadStart, end: payloadStart + length }
}

/** Decode exactly one canonical RLP item spanning all of `bytes`. */
export const decodeRlp = (bytes: Uint8Array): Result.Result<RlpItem, MalformedRlp> => {
  const out = decodeAt(bytes, 0, bytes.length, 0)
  if ("reason" in out) return Result.fail(new MalformedRlp(out))
  return out.end === bytes.length
    ? Result.succeed(out.item)
    : Result.fail(new MalformedRlp({ reason: "trailing bytes after the item", offset: out.end }))
}

interface Decoded {
  readonly item: RlpItem
  readonly end: number
}
interface Problem {
  readonly reason: string
  readonly offset: number
}

const decodeAt = (bytes: Uint8Array, offset: number, limit: number, depth: number): Decoded | Problem => {
  const span = readRlpSpan(bytes, offset, limit)
  if (typeof span === "string") return { reason: span, offset }
  if (!span.isList) return { item: bytes.subarray(span.payloadStart, span.end), end: span.end }
  if (depth >= MAX_RLP_DEPTH) return { reason: `lists nested deeper than ${MAX_RLP_DEPTH}`, offset }
  const items: Array<RlpItem> = []
  let at = span.payloadStart
  while (at < span.end) {
    const child = decodeAt(bytes, at, span.end, depth + 1)
    if ("reason" in child) return child
    items.push(child.item)
    at = child.end
  }
  return { item: items, end: span.end }
}

/** The RLP encoding of a byte string. */
export const encodeRlpBytes = (bytes: Uint8Array): Uint8Array => {
  if (bytes.length === 1 && (bytes[0] as number) < 0x80) return bytes.slice()
  const header = lengthHeader(0x80, bytes.length)
  const out = new Uint8Array(header.length + bytes.length)
  out.set(header, 0)
  out.set(bytes, header.length)
  return out
}

/** The RLP encoding of a list whose items are already RLP-encoded (e.g. embedded trie nodes). */
export const encodeRlpList = (encodedItems: ReadonlyArray<Uint8Array>): Uint8Array => {
  let length = 0
  for (const item of encodedItems) length += item.length
  const header = lengthHeader(0xc0, length)
  const out = new Uint8Array(header.length + length)
  out.set(header, 0)
  let at = header.length
  for (const item of encodedItems) {
    out.set(item, at)
    at += item.length
  }
  return out
}

/** The RLP encoding of a byte string or nested list. */
export const encodeRlp = (item: RlpItem): Uint8Array =>
  item instanceof Uint8Array ? encodeRlpBytes(item) : encodeRlpList(item.map(encodeRlp))

const lengthHeader = (base: 0x80 | 0xc0, length: number): Uint8Array => {
  if (length < 56) return Uint8Array.of(base + length)
  const lengthBytes: Array<number> = []
  for (let n = length; n > 0; n = Math.floor(n / 256)) lengthBytes.unshift(n % 256)
  return Uint8Array.of(base + 55 + lengthBytes.length, ...lengthBytes)
}

/** The canonical RLP scalar payload of a non-negative integer: big-endian, no leading zeros, empty for 0. */
export const scalarToBytes = (value: bigint): Uint8Array => {
  if (value < 0n) throw new RangeError("RLP scalars are non-negative")
  let hex = value === 0n ? "" : value.toString(16)
  if (hex.length % 2 === 1) hex = `0${hex}`
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** The integer an RLP scalar payload encodes; a reason string when it has a leading zero or exceeds `maxBytes`. */
export const bytesToScalar = (bytes: Uint8Array, maxBytes: number): bigint | string => {
  if (bytes.length > maxBytes) return `scalar longer than ${maxBytes} bytes`
  if (bytes.length > 0 && bytes[0] === 0) return "non-canonical: scalar with a leading zero byte"
  let value = 0n
  for (const b of bytes) value = (value << 8n) | BigInt(b)
  return value
}
