/**
 * EVM receipts as evidence. `eth_getProof` cannot prove a log: the receipts trie can. A block's
 * receipts (the `eth_getBlockReceipts` JSON-RPC array) are re-encoded as the chain encodes them
 * (EIP-2718: legacy `RLP([statusOrRoot, cumulativeGasUsed, logsBloom, logs])`, typed
 * `type || RLP(...)`, types 0x0-0x4; pre-Byzantium receipts carry the 32-byte post-state root in
 * the status slot), put in a Merkle-Patricia trie under `RLP(index)`, and the trie's root must
 * equal the header's `receiptsRoot`. Only the consensus fields count: `gasUsed`,
 * `effectiveGasPrice`, hashes, `logIndex`, `removed` and the like cannot change the root, so
 * they are not read.
 *
 * `receipts[i]` is transaction `i`. A `transactionIndex` that differs from its position fails
 * (a trie keyed by the field would rebuild the same root from reordered receipts).
 *
 * One log is then proven on its own by `verifyReceiptLog`: the receipt's trie proof (the hashed
 * nodes on the path to `RLP(transactionIndex)`, root first, as `eth_getProof` gives them), the
 * receipt's encoding and the log's position in it, against a receipts root, or against a header
 * (its RLP and hash), which binds the root to the block hash. Evidence of that shape is what the
 * effect tracker records, so anyone can re-check an effect offline.
 *
 * Verdicts are values: every failure is a `Result` failure with a `_tag`; nothing throws.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Data, Option, Result, Schema } from "effect"
import { type MptProofError, verifyMerklePatriciaProof } from "./MerklePatricia.ts"
import { MerklePatriciaTrie } from "./MerklePatriciaTrie.ts"
import { type RlpItem, decodeRlp, encodeRlpBytes, encodeRlpList, scalarToBytes } from "./Rlp.ts"

const Data0x = Schema.String.check(Schema.isPattern(/^0x(?:[0-9a-fA-F]{2})*$/u))
const Hash0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{64}$/u))
const Address0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{40}$/u))
const Bloom0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{512}$/u))
// A QUANTITY of at most 64 bits. Leading zeros are tolerated: the encoding is canonical either way.
const Quantity0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{1,16}$/u))

/** One log as `eth_getBlockReceipts` returns it (fields outside the consensus encoding ignored). */
export const RpcLog = Schema.Struct({
  address: Address0x,
  topics: Schema.Array(Hash0x).check(Schema.isMaxLength(4)),
  data: Data0x
})
export type RpcLog = typeof RpcLog.Type

/** One receipt as `eth_getBlockReceipts` returns it (fields outside the consensus encoding ignored). */
export const RpcReceipt = Schema.Struct({
  type: Schema.optional(Quantity0x),
  status: Schema.optional(Quantity0x),
  root: Schema.optional(Hash0x),
  cumulativeGasUsed: Quantity0x,
  logsBloom: Bloom0x,
  logs: Schema.Array(RpcLog),
  transactionIndex: Schema.optional(Quantity0x)
})
export type RpcReceipt = typeof RpcReceipt.Type

const decodeReceipts = Schema.decodeUnknownResult(Schema.Array(RpcReceipt))

/** The receipts (or the root they are checked against) do not have the expected shape. */
export class MalformedReceipts extends Data.TaggedError("MalformedReceipts")<{
  /** The receipt at fault, when one is. */
  readonly index?: number
  readonly reason: string
}> {}

/** A receipt's type is not one this verifier knows the encoding of (0x0-0x4). */
export class UnsupportedReceiptType extends Data.TaggedError("UnsupportedReceiptType")<{
  readonly index: number
  readonly type: string
}> {}

/** `receipts[index]` says it is another transaction's receipt: missing, extra or reordered receipts. */
export class ReceiptOutOfPlace extends Data.TaggedError("ReceiptOutOfPlace")<{
  readonly index: number
  readonly transactionIndex: number
}> {}

/** The receipts do not rebuild the trusted root: one was altered, dropped, added or swapped. */
export class ReceiptsRootMismatch extends Data.TaggedError("ReceiptsRootMismatch")<{
  readonly expected: string
  readonly computed: string
}> {}

/** Why a block's receipts were not verified. */
export type BlockReceiptsError = MalformedReceipts | UnsupportedReceiptType | ReceiptOutOfPlace | ReceiptsRootMismatch

/** A decoded consensus receipt. */
export interface ConsensusReceipt {
  /** EIP-2718 type, 0 for legacy. */
  readonly type: number
  /** "success" / "failure" after Byzantium; "post-state-root" before it (the outcome is not in the receipt). */
  readonly outcome: "success" | "failure" | "post-state-root"
  readonly cumulativeGasUsed: bigint
  readonly logs: ReadonlyArray<ConsensusLog>
}

/** A log as consensus encodes it; hex is 0x-prefixed lowercase. */
export interface ConsensusLog {
  readonly address: string
  readonly topics: ReadonlyArray<string>
  readonly data: string
}

/** A block's receipts, checked against its root. */
export interface VerifiedBlockReceipts {
  readonly receiptsRoot: string
  readonly transactionCount: number
  readonly logCount: number
}

const MAX_KNOWN_TYPE = 4

const bytesOf = (hex: string): Uint8Array => {
  const digits = hex.slice(2)
  return hexToBytes(digits.length % 2 === 1 ? `0${digits}` : digits)
}
const quantityBytes = (hex: string): Uint8Array => scalarToBytes(BigInt(hex))
const hex0x = (bytes: Uint8Array): string => `0x${bytesToHex(bytes)}`

/** The trie key of transaction `index`: RLP of the index as a scalar (0 is 0x80). */
export const receiptKey = (index: number): Uint8Array => encodeRlpBytes(scalarToBytes(BigInt(index)))

const encodeLog = (log: RpcLog): Uint8Array =>
  encodeRlpList([
    encodeRlpBytes(bytesOf(log.address)),
    encodeRlpList(log.topics.map((t) => encodeRlpBytes(bytesOf(t)))),
    encodeRlpBytes(bytesOf(log.data))
  ])

/** The EIP-2718 encoding of one JSON-RPC receipt: what the receipts trie holds for it. */
const encodeReceipt = (receipt: RpcReceipt, index: number): Result.Result<Uint8Array, MalformedReceipts | UnsupportedReceiptType> => {
  const type = receipt.type === undefined ? 0 : Number(BigInt(receipt.type))
  if (type > MAX_KNOWN_TYPE) return Result.fail(new UnsupportedReceiptType({ index, type: receipt.type ?? "0x0" }))
  let statusOrRoot: Uint8Array
  if (receipt.root !== undefined && receipt.status !== undefined) {
    return Result.fail(new MalformedReceipts({ index, reason: "both a post-state root and a status" }))
  } else if (receipt.root !== undefined) {
    if (type !== 0) return Result.fail(new MalformedReceipts({ index, reason: "a post-state root in a typed receipt" }))
    statusOrRoot = bytesOf(receipt.root)
  } else if (receipt.status !== undefined) {
    const status = BigInt(receipt.status)
    if (status > 1n) return Result.fail(new MalformedReceipts({ index, reason: `status ${receipt.status} is neither 0x0 nor 0x1` }))
    statusOrRoot = status === 1n ? Uint8Array.of(1) : new Uint8Array(0)
  } else {
    return Result.fail(new MalformedReceipts({ index, reason: "neither a status nor a post-state root" }))
  }
  const body = encodeRlpList([
    encodeRlpBytes(statusOrRoot),
    encodeRlpBytes(quantityBytes(receipt.cumulativeGasUsed)),
    encodeRlpBytes(bytesOf(receipt.logsBloom)),
    encodeRlpList(receipt.logs.map(encodeLog))
  ])
  if (type === 0) return Result.succeed(body)
  const typed = new Uint8Array(body.length + 1)
  typed[0] = type
  typed.set(body, 1)
  return Result.succeed(typed)
}

/** A block's receipts decoded, checked for order and encoded, with the trie they build. */
export interface ReceiptsTrie {
  readonly receipts: ReadonlyArray<RpcReceipt>
  /** `encodings[i]`: transaction i's receipt as the trie holds it. */
  readonly encodings: ReadonlyArray<Uint8Array>
  readonly trie: MerklePatriciaTrie
  readonly root: Uint8Array
}

/**
 * Decode an `eth_getBlockReceipts` result, check that `receipts[i]` is transaction i, encode
 * every receipt and build the receipts trie. No root is trusted here: compare `root`.
 */
export const buildReceiptsTrie = (
  receipts: unknown
): Result.Result<ReceiptsTrie, MalformedReceipts | UnsupportedReceiptType | ReceiptOutOfPlace> => {
  const decoded = decodeReceipts(receipts)
  if (Result.isFailure(decoded)) return Result.fail(new MalformedReceipts({ reason: `not an eth_getBlockReceipts result: ${decoded.failure.message}` }))
  const list = decoded.success
  const encodings: Array<Uint8Array> = []
  let trie = MerklePatriciaTrie.empty
  for (let i = 0; i < list.length; i++) {
    const receipt = list[i] as RpcReceipt
    if (receipt.transactionIndex !== undefined && BigInt(receipt.transactionIndex) !== BigInt(i)) {
      return Result.fail(new ReceiptOutOfPlace({ index: i, transactionIndex: Number(BigInt(receipt.transactionIndex)) }))
    }
    const encoded = encodeReceipt(receipt, i)
    if (Result.isFailure(encoded)) return Result.fail(encoded.failure)
    encodings.push(encoded.success)
    trie = trie.set(receiptKey(i), encoded.success)
  }
  return Result.succeed({ receipts: list, encodings, trie, root: trie.rootHash() })
}

/** The receipts root (0x-prefixed lowercase hex) the receipts rebuild; a failure for malformed receipts. */
export const receiptsRootOf = (receipts: unknown): Result.Result<string, MalformedReceipts | UnsupportedReceiptType | ReceiptOutOfPlace> =>
  Result.map(buildReceiptsTrie(receipts), (built) => hex0x(built.root))

const parseRoot = (root: unknown): Uint8Array | undefined =>
  typeof root === "string" && /^0x[0-9a-fA-F]{64}$/u.test(root) ? bytesOf(root) : undefined

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/**
 * Check a block's receipts (`eth_getBlockReceipts`, verbatim) against a trusted `receiptsRoot`
 * (0x-prefixed 32-byte hex): a receipt missing, added, reordered or altered in any consensus
 * field fails.
 */
export const verifyBlockReceipts = (input: { readonly receiptsRoot: string; readonly receipts: unknown }): Result.Result<VerifiedBlockReceipts, BlockReceiptsError> => {
  const expected = parseRoot(input.receiptsRoot)
  if (expected === undefined) return Result.fail(new MalformedReceipts({ reason: "receiptsRoot is not 0x-prefixed 32-byte hex" }))
  return Result.flatMap(buildReceiptsTrie(input.receipts), (built) =>
    sameBytes(built.root, expected)
      ? Result.succeed({
          receiptsRoot: hex0x(expected),
          transactionCount: built.encodings.length,
          logCount: built.receipts.reduce((n, r) => n + r.logs.length, 0)
        })
      : Result.fail(new ReceiptsRootMismatch({ expected: hex0x(expected), computed: hex0x(built.root) }))
  )
}

// ---------------------------------------------------------------------------------------------
// One log's inclusion

/**
 * The evidence that one log is in a block: everything `verifyReceiptLog` needs, all hex
 * 0x-prefixed. Give `receiptsRoot`, or `header` (then the root is read from the header's RLP,
 * field 5, and the header must hash to `header.hash`), or both (they must agree).
 */
export interface ReceiptLogEvidence {
  readonly receiptsRoot?: string
  readonly header?: { readonly hash: string; readonly rlp: string }
  /** The transaction's position in the block. */
  readonly transactionIndex: number
  /** The receipt's EIP-2718 encoding, as the trie holds it; when left out, the value the proof proves. */
  readonly receipt?: string
  /** The hashed trie nodes on the path to `RLP(transactionIndex)`, root first. */
  readonly proof: ReadonlyArray<string>
  /** The log's position among the receipt's logs (not the block-wide logIndex). */
  readonly logIndex: number
}

/** A log proven in a block. */
export interface VerifiedReceiptLog {
  readonly receiptsRoot: string
  /** The block hash, when the evidence carried the header. */
  readonly blockHash?: string
  readonly transactionIndex: number
  readonly logIndex: number
  readonly receiptType: number
  readonly outcome: ConsensusReceipt["outcome"]
  readonly log: ConsensusLog
}

/** The evidence does not have the expected shape (hex, indexes, a receipt that decodes). */
export class MalformedLogEvidence extends Data.TaggedError("MalformedLogEvidence")<{
  readonly reason: string
}> {}

/** The header does not hash to its claimed hash, or holds another receipts root than the one given. */
export class HeaderMismatch extends Data.TaggedError("HeaderMismatch")<{
  readonly reason: string
}> {}

/** The trie proof does not verify against the receipts root. */
export class ReceiptProofRejected extends Data.TaggedError("ReceiptProofRejected")<{
  readonly cause: MptProofError
}> {}

/** The proof verifies, but proves no receipt, or another receipt than the one given, at that index. */
export class ReceiptNotProven extends Data.TaggedError("ReceiptNotProven")<{
  readonly transactionIndex: number
  readonly reason: string
}> {}

/** The receipt holds no log at `logIndex`. */
export class LogNotInReceipt extends Data.TaggedError("LogNotInReceipt")<{
  readonly logIndex: number
  readonly logCount: number
}> {}

/** Why one log's inclusion was not verified. */
export type ReceiptLogError = MalformedLogEvidence | HeaderMismatch | ReceiptProofRejected | ReceiptNotProven | LogNotInReceipt

const isHex0x = (value: unknown): value is string => typeof value === "string" && /^0x(?:[0-9a-fA-F]{2})*$/u.test(value)
const isIndex = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0

/** Decode a receipt's EIP-2718 encoding into its consensus fields. */
export const decodeConsensusReceipt = (encoded: Uint8Array): Result.Result<ConsensusReceipt, string> => {
  if (encoded.length === 0) return Result.fail("an empty receipt")
  const first = encoded[0] as number
  const type = first >= 0xc0 ? 0 : first
  if (first >= 0xc0 ? false : first === 0 || first > MAX_KNOWN_TYPE) return Result.fail(`receipt type ${first} is not 0x1-0x4`)
  const rlp = decodeRlp(type === 0 ? encoded : encoded.subarray(1))
  if (Result.isFailure(rlp)) return Result.fail(`receipt RLP: ${rlp.failure.reason}`)
  const item = rlp.success
  if (item instanceof Uint8Array || item.length !== 4) return Result.fail("a receipt is a list of 4 items")
  const [statusOrRoot, gas, bloom, logs] = item as [RlpItem, RlpItem, RlpItem, RlpItem]
  if (!(statusOrRoot instanceof Uint8Array) || !(gas instanceof Uint8Array) || !(bloom instanceof Uint8Array) || bloom.length !== 256 || logs instanceof Uint8Array) {
    return Result.fail("receipt fields are not [bytes, scalar, 256-byte bloom, list]")
  }
  let outcome: ConsensusReceipt["outcome"]
  if (statusOrRoot.length === 32 && type === 0) outcome = "post-state-root"
  else if (statusOrRoot.length === 0) outcome = "failure"
  else if (statusOrRoot.length === 1 && statusOrRoot[0] === 1) outcome = "success"
  else return Result.fail("receipt status is neither empty, 0x01 nor a post-state root")
  if (gas.length > 8 || (gas.length > 0 && gas[0] === 0)) return Result.fail("cumulativeGasUsed is not a canonical 64-bit scalar")
  const decodedLogs: Array<ConsensusLog> = []
  for (const log of logs) {
    if (log instanceof Uint8Array || log.length !== 3) return Result.fail("a log is a list of 3 items")
    const [address, topics, data] = log as [RlpItem, RlpItem, RlpItem]
    if (!(address instanceof Uint8Array) || address.length !== 20) return Result.fail("a log address is 20 bytes")
    if (topics instanceof Uint8Array || topics.length > 4 || topics.some((t) => !(t instanceof Uint8Array) || t.length !== 32)) {
      return Result.fail("log topics are up to four 32-byte words")
    }
    if (!(data instanceof Uint8Array)) return Result.fail("log data is a byte string")
    decodedLogs.push({ address: hex0x(address), topics: topics.map((t) => hex0x(t as Uint8Array)), data: hex0x(data) })
  }
  return Result.succeed({ type, outcome, cumulativeGasUsed: gas.reduce((v, b) => (v << 8n) | BigInt(b), 0n), logs: decodedLogs })
}

/**
 * Check that the trie under `root` holds a receipt for transaction `transactionIndex`, by its
 * proof, and decode it; with `receipt` (its EIP-2718 bytes), that it is that one.
 */
export const verifyReceiptInclusion = (
  root: Uint8Array,
  transactionIndex: number,
  receipt: Uint8Array | undefined,
  proof: ReadonlyArray<Uint8Array>,
  hash?: (node: Uint8Array) => Uint8Array
): Result.Result<ConsensusReceipt, ReceiptProofRejected | ReceiptNotProven | MalformedLogEvidence> => {
  const proven = verifyMerklePatriciaProof(root, receiptKey(transactionIndex), proof, hash)
  if (Result.isFailure(proven)) return Result.fail(new ReceiptProofRejected({ cause: proven.failure }))
  if (Option.isNone(proven.success)) return Result.fail(new ReceiptNotProven({ transactionIndex, reason: "the proof shows no receipt at this index" }))
  if (receipt !== undefined && !sameBytes(proven.success.value, receipt)) {
    return Result.fail(new ReceiptNotProven({ transactionIndex, reason: "the proven receipt differs from the one given" }))
  }
  const decoded = decodeConsensusReceipt(proven.success.value)
  return Result.isFailure(decoded) ? Result.fail(new MalformedLogEvidence({ reason: decoded.failure })) : Result.succeed(decoded.success)
}

const RECEIPTS_ROOT_FIELD = 5

/** The 32-byte root a header's RLP holds at `field` (4 transactions, 5 receipts), if the RLP is a header list. */
export const headerRootAt = (headerRlp: Uint8Array, field: number): Uint8Array | undefined => {
  const decoded = decodeRlp(headerRlp)
  if (Result.isFailure(decoded) || decoded.success instanceof Uint8Array) return undefined
  const root = decoded.success[field]
  return root instanceof Uint8Array && root.length === 32 ? root : undefined
}

/** The receipts root a header's RLP holds (field 5), if the RLP is a header list. */
export const receiptsRootOfHeader = (headerRlp: Uint8Array): Uint8Array | undefined => headerRootAt(headerRlp, RECEIPTS_ROOT_FIELD)

const rootFromHeader = (header: { readonly hash: unknown; readonly rlp: unknown }): Result.Result<{ root: Uint8Array; hash: string }, MalformedLogEvidence | HeaderMismatch> => {
  if (!isHex0x(header.rlp) || !(typeof header.hash === "string" && /^0x[0-9a-fA-F]{64}$/u.test(header.hash))) {
    return Result.fail(new MalformedLogEvidence({ reason: "header is not { hash: 32-byte hex, rlp: hex }" }))
  }
  const rlp = bytesOf(header.rlp)
  if (!sameBytes(keccak_256(rlp), bytesOf(header.hash))) return Result.fail(new HeaderMismatch({ reason: "keccak256(header.rlp) is not header.hash" }))
  const root = receiptsRootOfHeader(rlp)
  if (root === undefined) return Result.fail(new MalformedLogEvidence({ reason: "header.rlp is not a header list with a 32-byte receiptsRoot (field 5)" }))
  return Result.succeed({ root, hash: header.hash.toLowerCase() })
}

/**
 * Verify one log's inclusion in a block from a receipt's trie proof (`ReceiptLogEvidence`).
 * The receipt must be the value the proof proves under `RLP(transactionIndex)`, byte for byte.
 */
export const verifyReceiptLog = (evidence: ReceiptLogEvidence): Result.Result<VerifiedReceiptLog, ReceiptLogError> => {
  if (typeof evidence !== "object" || evidence === null) return Result.fail(new MalformedLogEvidence({ reason: "evidence is not an object" }))
  const { transactionIndex, logIndex, receipt, proof } = evidence
  if (!isIndex(transactionIndex) || !isIndex(logIndex)) return Result.fail(new MalformedLogEvidence({ reason: "transactionIndex and logIndex are non-negative integers" }))
  if ((receipt !== undefined && !isHex0x(receipt)) || !Array.isArray(proof) || !proof.every(isHex0x)) {
    return Result.fail(new MalformedLogEvidence({ reason: "receipt and proof nodes are 0x-prefixed hex" }))
  }
  let root: Uint8Array | undefined
  let blockHash: string | undefined
  if (evidence.header !== undefined) {
    const fromHeader = rootFromHeader(evidence.header)
    if (Result.isFailure(fromHeader)) return Result.fail(fromHeader.failure)
    root = fromHeader.success.root
    blockHash = fromHeader.success.hash
  }
  if (evidence.receiptsRoot !== undefined) {
    const given = parseRoot(evidence.receiptsRoot)
    if (given === undefined) return Result.fail(new MalformedLogEvidence({ reason: "receiptsRoot is not 0x-prefixed 32-byte hex" }))
    if (root !== undefined && !sameBytes(root, given)) return Result.fail(new HeaderMismatch({ reason: "the header holds another receiptsRoot" }))
    root = given
  }
  if (root === undefined) return Result.fail(new MalformedLogEvidence({ reason: "neither receiptsRoot nor header" }))
  const decoded = verifyReceiptInclusion(root, transactionIndex, receipt === undefined ? undefined : bytesOf(receipt), proof.map(bytesOf))
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const log = decoded.success.logs[logIndex]
  if (log === undefined) return Result.fail(new LogNotInReceipt({ logIndex, logCount: decoded.success.logs.length }))
  return Result.succeed({
    receiptsRoot: hex0x(root),
    ...(blockHash === undefined ? {} : { blockHash }),
    transactionIndex,
    logIndex,
    receiptType: decoded.success.type,
    outcome: decoded.success.outcome,
    log
  })
}

/** The `ReceiptLogEvidence` for transaction `transactionIndex`'s log `logIndex`, from a built trie. */
export const receiptLogEvidence = (
  built: ReceiptsTrie,
  transactionIndex: number,
  logIndex: number
): Omit<ReceiptLogEvidence, "receiptsRoot" | "header"> | undefined => {
  const encoded = built.encodings[transactionIndex]
  if (encoded === undefined || (built.receipts[transactionIndex]?.logs.length ?? 0) <= logIndex) return undefined
  return { transactionIndex, logIndex, receipt: hex0x(encoded), proof: built.trie.prove(receiptKey(transactionIndex)).map(hex0x) }
}
