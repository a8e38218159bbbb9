/**
 * EVM block headers as JSON-RPC returns them, checked: the header's hash is recomputed as
 * keccak256 of the RLP list of its consensus fields, never taken from the RPC's `hash`.
 *
 * The list is the Yellow Paper header (15 fields) followed by the fields each fork
 * appended, in order: baseFeePerGas (London), withdrawalsRoot (Shanghai), blobGasUsed,
 * excessBlobGas, parentBeaconBlockRoot (Cancun), requestsHash (Prague). A fork field the
 * header lacks is left out of the list, without a placeholder, as alloy/reth encode it: a
 * real chain's headers carry a prefix of the sequence, but anvil's pre-Cancun headers carry
 * the blob gas fields without withdrawalsRoot. Leaving gaps is safe for what is trusted here:
 * the fields read from a header (parentHash, stateRoot, number, timestamp) sit at fixed
 * positions before any fork field. Fields the RPC adds that are not in the header (size,
 * totalDifficulty, transactions, ...) are ignored.
 *
 * Failures are values (`Result`), as in the offline verifiers.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Data, Result, Schema } from "effect"
import { decodeRlp, encodeRlp, scalarToBytes } from "../verify/Rlp.ts"

const hexOfBytes = (n: number) => Schema.String.check(Schema.isPattern(new RegExp(`^0x[0-9a-fA-F]{${2 * n}}$`, "u")))
const Hash0x = hexOfBytes(32)
// A QUANTITY of at most 256 bits; leading zeros tolerated (the RLP scalar is re-derived canonically).
const Quantity0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{1,64}$/u))
// extraData is at most 32 bytes on Ethereum; other EVM chains (Clique, BSC) carry seals in it.
const Data0x = Schema.String.check(Schema.isPattern(/^0x(?:[0-9a-fA-F]{2})*$/u), Schema.isMaxLength(2 + 2 * 65_536))

/** The header fields of an eth_getBlockByNumber / eth_getBlockByHash result (other fields ignored). */
export const RpcBlockHeader = Schema.Struct({
  hash: Hash0x,
  parentHash: Hash0x,
  sha3Uncles: Hash0x,
  miner: hexOfBytes(20),
  stateRoot: Hash0x,
  transactionsRoot: Hash0x,
  receiptsRoot: Hash0x,
  logsBloom: hexOfBytes(256),
  difficulty: Quantity0x,
  number: Quantity0x,
  gasLimit: Quantity0x,
  gasUsed: Quantity0x,
  timestamp: Quantity0x,
  extraData: Data0x,
  mixHash: Hash0x,
  nonce: hexOfBytes(8),
  baseFeePerGas: Schema.optionalKey(Quantity0x),
  withdrawalsRoot: Schema.optionalKey(Hash0x),
  blobGasUsed: Schema.optionalKey(Quantity0x),
  excessBlobGas: Schema.optionalKey(Quantity0x),
  parentBeaconBlockRoot: Schema.optionalKey(Hash0x),
  requestsHash: Schema.optionalKey(Hash0x)
})
export type RpcBlockHeader = typeof RpcBlockHeader.Type

type Field = keyof RpcBlockHeader
type Encoding = "bytes" | "quantity"

// The consensus fields in RLP order, with how each is encoded.
const BASE_FIELDS: ReadonlyArray<readonly [Field, Encoding]> = [
  ["parentHash", "bytes"],
  ["sha3Uncles", "bytes"],
  ["miner", "bytes"],
  ["stateRoot", "bytes"],
  ["transactionsRoot", "bytes"],
  ["receiptsRoot", "bytes"],
  ["logsBloom", "bytes"],
  ["difficulty", "quantity"],
  ["number", "quantity"],
  ["gasLimit", "quantity"],
  ["gasUsed", "quantity"],
  ["timestamp", "quantity"],
  ["extraData", "bytes"],
  ["mixHash", "bytes"],
  ["nonce", "bytes"]
]

/** The fields forks appended to the header, in the order they were appended. */
export const FORK_FIELDS: ReadonlyArray<readonly [Field, Encoding]> = [
  ["baseFeePerGas", "quantity"],
  ["withdrawalsRoot", "bytes"],
  ["blobGasUsed", "quantity"],
  ["excessBlobGas", "quantity"],
  ["parentBeaconBlockRoot", "bytes"],
  ["requestsHash", "bytes"]
]

/** A header whose hash was recomputed. Hashes and roots are lowercase hex without 0x. */
export interface CheckedEvmHeader {
  readonly height: number
  readonly hash: string
  readonly parentHash: string
  readonly stateRoot: string
  /** Block time, Unix milliseconds. */
  readonly time: number
}

/** The RPC's block is not a header of the expected shape. */
export class MalformedEvmHeader extends Data.TaggedError("MalformedEvmHeader")<{
  readonly reason: string
}> {}

/** The hash recomputed from the header's fields differs from the hash the RPC claims. */
export class EvmHeaderHashMismatch extends Data.TaggedError("EvmHeaderHashMismatch")<{
  readonly height: number
  readonly claimed: string
  readonly computed: string
}> {}

/** Why an RPC block header was not accepted. */
export type EvmHeaderError = MalformedEvmHeader | EvmHeaderHashMismatch

const decodeHeader = Schema.decodeUnknownResult(RpcBlockHeader)

/** keccak256 of the header's RLP: its block hash (0x-less lowercase hex). */
export const evmHeaderHash = (header: RpcBlockHeader): string => bytesToHex(keccak_256(evmHeaderRlp(header)))

/** The header's RLP, as the chain encodes it (what its hash is taken of). */
export const evmHeaderRlp = (header: RpcBlockHeader): Uint8Array => {
  const items: Array<Uint8Array> = []
  for (const [field, encoding] of BASE_FIELDS) items.push(encodeField(header[field] as string, encoding))
  for (const [field, encoding] of FORK_FIELDS) {
    const value = header[field]
    if (value !== undefined) items.push(encodeField(value, encoding))
  }
  return encodeRlp(items)
}

/** Decode an eth_getBlockBy* result's header fields (the claimed hash is not checked here). */
export const decodeRpcBlockHeader = (block: unknown): Result.Result<RpcBlockHeader, MalformedEvmHeader> => {
  const decoded = decodeHeader(block, { errors: "first" })
  return Result.isFailure(decoded)
    ? Result.fail(new MalformedEvmHeader({ reason: decoded.failure.message.replace(/\s*\n\s*/g, " ") }))
    : Result.succeed(decoded.success)
}

/**
 * Check an eth_getBlockBy* result: decode its header fields, recompute its hash and compare
 * with the claimed `hash`. The claimed hash is only a cross-check: what callers link is the
 * recomputed one.
 */
export const verifyEvmHeader = (block: unknown): Result.Result<CheckedEvmHeader, EvmHeaderError> => {
  const decoded = decodeHeader(block, { errors: "first" })
  if (Result.isFailure(decoded)) {
    return Result.fail(new MalformedEvmHeader({ reason: decoded.failure.message.replace(/\s*\n\s*/g, " ") }))
  }
  const header = decoded.success
  const height = BigInt(header.number)
  const seconds = BigInt(header.timestamp)
  if (height > BigInt(Number.MAX_SAFE_INTEGER)) return Result.fail(new MalformedEvmHeader({ reason: "number is beyond 2^53" }))
  if (seconds * 1000n > BigInt(Number.MAX_SAFE_INTEGER)) return Result.fail(new MalformedEvmHeader({ reason: "timestamp is beyond 2^53 ms" }))
  const computed = evmHeaderHash(header)
  const claimed = header.hash.slice(2).toLowerCase()
  if (claimed !== computed) return Result.fail(new EvmHeaderHashMismatch({ height: Number(height), claimed, computed }))
  return Result.succeed({
    height: Number(height),
    hash: computed,
    parentHash: header.parentHash.slice(2).toLowerCase(),
    stateRoot: header.stateRoot.slice(2).toLowerCase(),
    time: Number(seconds * 1000n)
  })
}

const encodeField = (value: string, encoding: Encoding): Uint8Array =>
  encoding === "quantity" ? scalarToBytes(BigInt(value)) : hexToBytes(value.slice(2))

/** The parentHash a header's RLP holds (field 0; 0x-less lowercase hex), if the RLP is a header list. */
export const parentHashOfHeader = (headerRlp: Uint8Array): string | undefined => {
  const decoded = decodeRlp(headerRlp)
  if (Result.isFailure(decoded) || decoded.success instanceof Uint8Array) return undefined
  const parent = decoded.success[0]
  return parent instanceof Uint8Array && parent.length === 32 ? bytesToHex(parent) : undefined
}

/** The timestamp (header field 11: Unix seconds) of a header's RLP, if it is a header list. */
export const timestampOfHeader = (headerRlp: Uint8Array): bigint | undefined => {
  const decoded = decodeRlp(headerRlp)
  if (Result.isFailure(decoded) || decoded.success instanceof Uint8Array) return undefined
  const time = decoded.success[11]
  if (!(time instanceof Uint8Array) || time.length > 8 || (time.length > 0 && time[0] === 0)) return undefined
  return time.length === 0 ? 0n : BigInt(`0x${bytesToHex(time)}`)
}
