/**
 * ibc-go's `ibc.core.channel.v2.Packet` in protobuf, as a v2 `send_packet` event carries it
 * (`encoded_packet_hex`): sequence = 1 (uint64), source_client = 2, destination_client = 3
 * (strings), timeout_timestamp = 4 (uint64, seconds), payloads = 5 (repeated Payload:
 * source_port = 1, destination_port = 2, version = 3, encoding = 4 (strings), value = 5
 * (bytes)). Decoding is strict on wire types and lengths; unknown fields are skipped, as
 * gogoproto does. What it gives is unproven: the tracker binds it to the proven commitment.
 *
 * Also `ibc.core.channel.v2.Acknowledgement` (a v2 `write_acknowledgement` event's
 * `encoded_acknowledgement_hex`): app_acknowledgements = 1 (repeated bytes).
 */

/** A decoded v2 packet (uint64 fields as decimal strings, `value` hex). */
export interface DecodedPacketV2 {
  readonly sequence: string
  readonly sourceClient: string
  readonly destinationClient: string
  readonly timeoutTimestamp: string
  readonly payloads: ReadonlyArray<{ readonly sourcePort: string; readonly destinationPort: string; readonly version: string; readonly encoding: string; readonly value: string }>
}

interface Field {
  readonly number: number
  readonly varint?: bigint
  readonly bytes?: Uint8Array
}

// The fields of one message, or undefined when the bytes are not protobuf.
const fieldsOf = (data: Uint8Array): ReadonlyArray<Field> | undefined => {
  const out: Array<Field> = []
  let i = 0
  const varint = (): bigint | undefined => {
    let v = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (i >= data.length) return undefined
      const b = data[i++] as number
      v |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return v < 1n << 64n ? v : undefined
    }
    return undefined
  }
  while (i < data.length) {
    const tag = varint()
    if (tag === undefined || tag >> 3n === 0n) return undefined
    const number = Number(tag >> 3n)
    switch (Number(tag & 7n)) {
      case 0: {
        const v = varint()
        if (v === undefined) return undefined
        out.push({ number, varint: v })
        break
      }
      case 1:
        if (i + 8 > data.length) return undefined
        i += 8
        break
      case 2: {
        const len = varint()
        if (len === undefined || BigInt(i) + len > BigInt(data.length)) return undefined
        out.push({ number, bytes: data.subarray(i, i + Number(len)) })
        i += Number(len)
        break
      }
      case 5:
        if (i + 4 > data.length) return undefined
        i += 4
        break
      default:
        return undefined
    }
  }
  return out
}

const utf8 = new TextDecoder("utf-8", { fatal: true })

// The last occurrence of a scalar field wins, as in protobuf; a wrong wire type is a failure.
const scalar = (fields: ReadonlyArray<Field>, number: number, kind: "varint" | "bytes"): Field | undefined | null => {
  const found = fields.filter((f) => f.number === number)
  if (found.some((f) => (kind === "varint" ? f.varint === undefined : f.bytes === undefined))) return null
  return found.at(-1)
}

const text = (fields: ReadonlyArray<Field>, number: number): string | undefined => {
  const f = scalar(fields, number, "bytes")
  if (f === null) return undefined
  try {
    return f === undefined ? "" : utf8.decode(f.bytes)
  } catch {
    return undefined
  }
}

const uint = (fields: ReadonlyArray<Field>, number: number): string | undefined => {
  const f = scalar(fields, number, "varint")
  return f === null ? undefined : String(f?.varint ?? 0n)
}

/** Decode an encoded v2 packet (bytes), or undefined when it is not one. */
export const decodePacketV2 = (bytes: Uint8Array): DecodedPacketV2 | undefined => {
  const fields = fieldsOf(bytes)
  if (fields === undefined) return undefined
  const sequence = uint(fields, 1)
  const sourceClient = text(fields, 2)
  const destinationClient = text(fields, 3)
  const timeoutTimestamp = uint(fields, 4)
  if (sequence === undefined || sourceClient === undefined || destinationClient === undefined || timeoutTimestamp === undefined) return undefined
  const payloads: Array<DecodedPacketV2["payloads"][number]> = []
  for (const f of fields) {
    if (f.number !== 5) continue
    if (f.bytes === undefined) return undefined
    const p = fieldsOf(f.bytes)
    if (p === undefined) return undefined
    const sourcePort = text(p, 1)
    const destinationPort = text(p, 2)
    const version = text(p, 3)
    const encoding = text(p, 4)
    const value = scalar(p, 5, "bytes")
    if (sourcePort === undefined || destinationPort === undefined || version === undefined || encoding === undefined || value === null) return undefined
    payloads.push({ sourcePort, destinationPort, version, encoding, value: Buffer.from(value?.bytes ?? new Uint8Array()).toString("hex") })
  }
  return { sequence, sourceClient, destinationClient, timeoutTimestamp, payloads }
}

const varintBytes = (n: bigint): Array<number> => {
  const out: Array<number> = []
  let v = n
  do {
    const b = Number(v & 0x7fn)
    v >>= 7n
    out.push(v === 0n ? b : b | 0x80)
  } while (v !== 0n)
  return out
}

const lengthDelimited = (number: number, bytes: Uint8Array): Array<number> =>
  bytes.length === 0 ? [] : [...varintBytes(BigInt((number << 3) | 2)), ...varintBytes(BigInt(bytes.length)), ...bytes]

const uintField = (number: number, n: bigint): Array<number> => (n === 0n ? [] : [...varintBytes(BigInt(number << 3)), ...varintBytes(n)])

/** Encode a v2 packet as gogoproto marshals it (fields in order, defaults omitted): the inverse of decodePacketV2. */
export const encodePacketV2 = (p: DecodedPacketV2): Uint8Array => {
  const enc = new TextEncoder()
  const payloads = p.payloads.flatMap((q) => {
    const body = Uint8Array.from([
      ...lengthDelimited(1, enc.encode(q.sourcePort)),
      ...lengthDelimited(2, enc.encode(q.destinationPort)),
      ...lengthDelimited(3, enc.encode(q.version)),
      ...lengthDelimited(4, enc.encode(q.encoding)),
      ...lengthDelimited(5, Buffer.from(q.value, "hex"))
    ])
    // An empty payload is still an element of the repeated field.
    return [...varintBytes(BigInt((5 << 3) | 2)), ...varintBytes(BigInt(body.length)), ...body]
  })
  return Uint8Array.from([
    ...uintField(1, BigInt(p.sequence)),
    ...lengthDelimited(2, enc.encode(p.sourceClient)),
    ...lengthDelimited(3, enc.encode(p.destinationClient)),
    ...uintField(4, BigInt(p.timeoutTimestamp)),
    ...payloads
  ])
}

/** Decode an encoded v2 acknowledgement (bytes) into its apps' acks (hex), or undefined when it is not one. */
export const decodeAcknowledgementV2 = (bytes: Uint8Array): ReadonlyArray<string> | undefined => {
  const fields = fieldsOf(bytes)
  if (fields === undefined) return undefined
  const acks: Array<string> = []
  for (const f of fields) {
    if (f.number !== 1) continue
    if (f.bytes === undefined) return undefined
    acks.push(Buffer.from(f.bytes).toString("hex"))
  }
  return acks
}

/** Encode a v2 acknowledgement as gogoproto marshals it: the inverse of decodeAcknowledgementV2. */
export const encodeAcknowledgementV2 = (acks: ReadonlyArray<string>): Uint8Array => {
  // Each element of a repeated bytes field is written, an empty one too.
  return Uint8Array.from(acks.flatMap((a) => {
    const body = Buffer.from(a, "hex")
    return [...varintBytes(BigInt((1 << 3) | 2)), ...varintBytes(BigInt(body.length)), ...body]
  }))
}
