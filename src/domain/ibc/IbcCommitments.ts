/**
 * IBC packet and acknowledgement commitments exactly as ibc-go computes them (ICS-04), the
 * values a chain stores under `commitments/...` and `acks/...` in its `ibc` store and that
 * store proofs prove.
 *
 * - v1 packet: sha256(be8(timeoutTimestamp) || be8(revisionNumber) || be8(revisionHeight) || sha256(data))
 *   (04-channel/types/packet.go CommitPacket).
 * - v2 packet: sha256(0x02 || sha256(destinationClient) || sha256(be8(timeoutTimestamp)) ||
 *   sha256(payloadHash_1 || ... || payloadHash_n)), payloadHash = sha256(sha256(sourcePort) ||
 *   sha256(destinationPort) || sha256(version) || sha256(encoding) || sha256(value))
 *   (04-channel/v2/types/commitment.go; big-endian timeout, whatever older prose says).
 * - v1 acknowledgement: sha256(ack); v2: sha256(0x02 || sha256(ack_1) || ... || sha256(ack_n)).
 *
 * Inputs as the vectors give them: bytes are hex without 0x, uint64 fields decimal strings
 * (or bigint / safe integers), strings UTF-8. Results are lowercase hex without 0x. Malformed
 * input is a `MalformedIbcInput` failure, never a throw.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { Data, Result } from "effect"

/** An input is not what the commitment needs (hex bytes, a uint64, a string). */
export class MalformedIbcInput extends Data.TaggedError("MalformedIbcInput")<{
  readonly field: string
  readonly reason: string
}> {}

/** A uint64 as a decimal string, a bigint or a safe integer. */
export type Uint64Input = string | bigint | number

/** A v1 packet's committed fields. */
export interface PacketV1 {
  /** Hex, no 0x. */
  readonly data: string
  readonly timeoutHeight: { readonly revisionNumber: Uint64Input; readonly revisionHeight: Uint64Input }
  /** Nanoseconds since the epoch; 0 for none. */
  readonly timeoutTimestamp: Uint64Input
}

/** One v2 payload. `value` is hex, no 0x. */
export interface PayloadV2 {
  readonly sourcePort: string
  readonly destinationPort: string
  readonly version: string
  readonly encoding: string
  readonly value: string
}

/** A v2 packet's committed fields (`sequence` and `sourceClient` are carried, not committed). */
export interface PacketV2 {
  readonly sequence?: Uint64Input
  readonly sourceClient?: string
  readonly destinationClient: string
  /** Seconds since the epoch. */
  readonly timeoutTimestamp: Uint64Input
  readonly payloads: ReadonlyArray<PayloadV2>
}

const MAX_UINT64 = (1n << 64n) - 1n

const uint64 = (field: string, value: unknown): Result.Result<bigint, MalformedIbcInput> => {
  let n: bigint | undefined
  if (typeof value === "bigint") n = value
  else if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value)
  else if (typeof value === "string" && /^[0-9]{1,20}$/u.test(value)) n = BigInt(value)
  if (n === undefined || n < 0n || n > MAX_UINT64) return Result.fail(new MalformedIbcInput({ field, reason: "not a uint64 (decimal string, bigint or safe integer)" }))
  return Result.succeed(n)
}

const hexField = (field: string, value: unknown): Result.Result<Uint8Array, MalformedIbcInput> =>
  typeof value === "string" && /^(?:[0-9a-fA-F]{2})*$/u.test(value)
    ? Result.succeed(hexToBytes(value))
    : Result.fail(new MalformedIbcInput({ field, reason: "not hex bytes without 0x" }))

const stringField = (field: string, value: unknown): Result.Result<Uint8Array, MalformedIbcInput> =>
  typeof value === "string" ? Result.succeed(utf8ToBytes(value)) : Result.fail(new MalformedIbcInput({ field, reason: "not a string" }))

const be8 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, n)
  return out
}

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => concatBytes(...parts)

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null

const VERSION_2 = Uint8Array.of(0x02)

/** The v1 packet commitment bytes. */
export const packetCommitmentV1Bytes = (packet: PacketV1): Result.Result<Uint8Array, MalformedIbcInput> =>
  Result.gen(function* () {
    if (!isObject(packet) || !isObject(packet.timeoutHeight)) return yield* Result.fail(new MalformedIbcInput({ field: "packet", reason: "not { data, timeoutHeight, timeoutTimestamp }" }))
    const data = yield* hexField("data", packet.data)
    const timestamp = yield* uint64("timeoutTimestamp", packet.timeoutTimestamp)
    const revisionNumber = yield* uint64("timeoutHeight.revisionNumber", packet.timeoutHeight.revisionNumber)
    const revisionHeight = yield* uint64("timeoutHeight.revisionHeight", packet.timeoutHeight.revisionHeight)
    return sha256(concat([be8(timestamp), be8(revisionNumber), be8(revisionHeight), sha256(data)]))
  })

/** The hash of one v2 payload. */
const payloadHash = (payload: PayloadV2, i: number): Result.Result<Uint8Array, MalformedIbcInput> =>
  Result.gen(function* () {
    if (!isObject(payload)) return yield* Result.fail(new MalformedIbcInput({ field: `payloads[${i}]`, reason: "not an object" }))
    const parts = [
      yield* stringField(`payloads[${i}].sourcePort`, payload.sourcePort),
      yield* stringField(`payloads[${i}].destinationPort`, payload.destinationPort),
      yield* stringField(`payloads[${i}].version`, payload.version),
      yield* stringField(`payloads[${i}].encoding`, payload.encoding),
      yield* hexField(`payloads[${i}].value`, payload.value)
    ]
    return sha256(concat(parts.map((p) => sha256(p))))
  })

/** The v2 packet commitment bytes. */
export const packetCommitmentV2Bytes = (packet: PacketV2): Result.Result<Uint8Array, MalformedIbcInput> =>
  Result.gen(function* () {
    if (!isObject(packet) || !Array.isArray(packet.payloads)) return yield* Result.fail(new MalformedIbcInput({ field: "packet", reason: "not { destinationClient, timeoutTimestamp, payloads[] }" }))
    const destination = yield* stringField("destinationClient", packet.destinationClient)
    const timeout = yield* uint64("timeoutTimestamp", packet.timeoutTimestamp)
    const hashes: Array<Uint8Array> = []
    for (let i = 0; i < packet.payloads.length; i++) hashes.push(yield* payloadHash(packet.payloads[i] as PayloadV2, i))
    return sha256(concat([VERSION_2, sha256(destination), sha256(be8(timeout)), sha256(concat(hashes))]))
  })

/** The v1 acknowledgement commitment bytes: sha256 of the acknowledgement (hex, no 0x). */
export const acknowledgementCommitmentV1Bytes = (ack: string): Result.Result<Uint8Array, MalformedIbcInput> =>
  Result.map(hexField("ack", ack), (bytes) => sha256(bytes))

/** The v2 acknowledgement commitment bytes over the apps' acknowledgements (each hex, no 0x). */
export const acknowledgementCommitmentV2Bytes = (acks: ReadonlyArray<string>): Result.Result<Uint8Array, MalformedIbcInput> =>
  Result.gen(function* () {
    if (!Array.isArray(acks)) return yield* Result.fail(new MalformedIbcInput({ field: "appAcknowledgements", reason: "not an array" }))
    const parts: Array<Uint8Array> = [VERSION_2]
    for (let i = 0; i < acks.length; i++) parts.push(sha256(yield* hexField(`appAcknowledgements[${i}]`, acks[i])))
    return sha256(concat(parts))
  })

/** Lowercase hex without 0x, as ibc-go prints commitments. */
export const commitmentHex = (bytes: Uint8Array): string => bytesToHex(bytes)

// ---------------------------------------------------------------------------------------------
// Store keys (ICS-24 paths in the `ibc` store)

/** v1 packet commitment key: `commitments/ports/{port}/channels/{channel}/sequences/{seq}`. */
export const packetCommitmentPathV1 = (port: string, channel: string, sequence: bigint): string =>
  `commitments/ports/${port}/channels/${channel}/sequences/${sequence}`

/** v1 packet receipt key: `receipts/ports/{port}/channels/{channel}/sequences/{seq}`. */
export const packetReceiptPathV1 = (port: string, channel: string, sequence: bigint): string =>
  `receipts/ports/${port}/channels/${channel}/sequences/${sequence}`

/** v1 acknowledgement key: `acks/ports/{port}/channels/{channel}/sequences/{seq}`. */
export const packetAcknowledgementPathV1 = (port: string, channel: string, sequence: bigint): string =>
  `acks/ports/${port}/channels/${channel}/sequences/${sequence}`

const v2Key = (clientId: string, kind: number, sequence: bigint): Uint8Array => concat([utf8ToBytes(clientId), Uint8Array.of(kind), be8(sequence)])

/** v2 packet commitment key: `clientId || 0x01 || be8(sequence)` (24-host/v2). */
export const packetCommitmentKeyV2 = (clientId: string, sequence: bigint): Uint8Array => v2Key(clientId, 0x01, sequence)
/** v2 packet receipt key: `clientId || 0x02 || be8(sequence)`. */
export const packetReceiptKeyV2 = (clientId: string, sequence: bigint): Uint8Array => v2Key(clientId, 0x02, sequence)
/** v2 acknowledgement key: `clientId || 0x03 || be8(sequence)`. */
export const packetAcknowledgementKeyV2 = (clientId: string, sequence: bigint): Uint8Array => v2Key(clientId, 0x03, sequence)
