/**
 * The few protobuf encodings CometBFT hashes and signs (proto3, deterministic field order).
 * proto3 leaves out scalar fields at their zero value; embedded messages that gogoproto marks
 * non-nullable are always written, even when empty, so callers choose with `fieldMessage`.
 */

const EMPTY = new Uint8Array(0)

const TWO_POW_53 = 2 ** 53

/** The number of bytes of a varint (negative int64s take 10). */
export const varintSize = (value: bigint | number): number => {
  if (typeof value === "number" && value >= 0 && value < TWO_POW_53) {
    let size = 1
    for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++
    return size
  }
  let v = BigInt.asUintN(64, BigInt(value))
  let size = 1
  for (; v >= 0x80n; v >>= 7n) size++
  return size
}

/** Writes the varint of `value` at `pos` (there must be room) and returns the position after it. */
export const writeVarint = (out: Uint8Array, pos: number, value: bigint | number): number => {
  let p = pos
  if (typeof value === "number" && value >= 0 && value < TWO_POW_53) {
    let v = value
    while (v >= 0x80) {
      out[p++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    out[p++] = v
    return p
  }
  let v = BigInt.asUintN(64, BigInt(value))
  while (v >= 0x80n) {
    out[p++] = Number(v & 0x7fn) | 0x80
    v >>= 7n
  }
  out[p++] = Number(v)
  return p
}

/** The varint of a non-negative integer, or of an int64 (negatives as 64-bit two's complement, 10 bytes). */
export const encodeVarint = (value: bigint | number): Uint8Array => {
  const out = new Uint8Array(varintSize(value))
  writeVarint(out, 0, value)
  return out
}

/** Concatenation of byte strings. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

const tag = (field: number, wireType: number): number => (field << 3) | wireType

/** A varint field (uint64/int64/enum); empty at zero. */
export const fieldVarint = (field: number, value: bigint | number): Uint8Array =>
  value === 0 || value === 0n ? EMPTY : concatBytes([Uint8Array.of(tag(field, 0)), encodeVarint(value)])

/** An sfixed64 field (little-endian two's complement); empty at zero. */
export const fieldSfixed64 = (field: number, value: bigint): Uint8Array => {
  if (value === 0n) return EMPTY
  const out = new Uint8Array(9)
  out[0] = tag(field, 1)
  new DataView(out.buffer).setBigInt64(1, value, true)
  return out
}

/** A bytes or string field; empty when the value is empty. */
export const fieldBytes = (field: number, value: Uint8Array): Uint8Array =>
  value.length === 0 ? EMPTY : fieldMessage(field, value)

/** A length-delimited field written even when empty (embedded, non-nullable messages). */
export const fieldMessage = (field: number, value: Uint8Array): Uint8Array =>
  concatBytes([Uint8Array.of(tag(field, 2)), encodeVarint(value.length), value])

/** A google.protobuf.Timestamp message body. */
export const encodeTimestamp = (seconds: bigint, nanos: number): Uint8Array =>
  concatBytes([fieldVarint(1, seconds), fieldVarint(2, nanos)])
