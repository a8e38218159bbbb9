/**
 * EVM transactions as evidence: what ties an effect to its transaction hash. A receipt does not
 * hold its transaction's hash; the transactions trie does. A block's transactions (the
 * `transactions` of `eth_getBlockByHash(hash, true)`) are re-encoded as the chain encodes them
 * (EIP-2718: legacy `RLP([nonce, gasPrice, gas, to, value, input, v, r, s])`; typed
 * `type || RLP(fields)` for types 0x1 (EIP-2930), 0x2 (EIP-1559), 0x3 (EIP-4844, the body
 * without blob sidecars, as blocks hold it) and 0x4 (EIP-7702)), put in a Merkle-Patricia trie
 * under `RLP(index)` (the receipts trie's keys), and the trie's root must equal the header's
 * `transactionsRoot`. A transaction's hash is keccak256 of that encoding.
 *
 * Nothing the RPC claims is taken: its `hash` and `transactionIndex` fields are only
 * cross-checks (a mismatch fails), the root decides. Unknown types (a rollup's deposit
 * transactions) fail the block: no transaction hash is then proven for it.
 *
 * One transaction is then proven on its own by `verifyTransactionInclusion`: its trie proof
 * (the hashed nodes on the path to `RLP(index)`, root first) against a transactions root, the
 * proven value being the transaction's encoding. Verdicts are values: nothing throws.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Data, Option, Result, Schema } from "effect"
import { type MptProofError, verifyMerklePatriciaProof } from "./MerklePatricia.ts"
import { MerklePatriciaTrie } from "./MerklePatriciaTrie.ts"
import { headerRootAt } from "./EvmReceipts.ts"
import { encodeRlpBytes, encodeRlpList, scalarToBytes } from "./Rlp.ts"

/** Most transactions one block may carry here (a 30M-gas block holds ~1,400 transfers; rollups more). */
export const MAX_BLOCK_TRANSACTIONS = 100_000

// Bounds on what one transaction may carry: far above any chain's limits, below what hurts.
const MAX_INPUT_BYTES = 4 * 1024 * 1024
const MAX_LIST_ITEMS = 10_000

const Data0x = Schema.String.check(Schema.isPattern(/^0x(?:[0-9a-fA-F]{2})*$/u), Schema.isMaxLength(2 + 2 * MAX_INPUT_BYTES))
const Hash0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{64}$/u))
const Address0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{40}$/u))
// A QUANTITY of at most 256 bits; leading zeros tolerated (the RLP scalar is re-derived canonically).
const Quantity0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{1,64}$/u))

const AccessList = Schema.Array(Schema.Struct({
  address: Address0x,
  storageKeys: Schema.Array(Hash0x).check(Schema.isMaxLength(MAX_LIST_ITEMS))
})).check(Schema.isMaxLength(MAX_LIST_ITEMS))

const Authorization = Schema.Struct({
  chainId: Quantity0x,
  address: Address0x,
  nonce: Quantity0x,
  yParity: Schema.optional(Quantity0x),
  v: Schema.optional(Quantity0x),
  r: Quantity0x,
  s: Quantity0x
})

/** One transaction as `eth_getBlockByHash(hash, true)` returns it (fields outside the consensus encoding ignored). */
export const RpcTransaction = Schema.Struct({
  type: Schema.optional(Quantity0x),
  hash: Schema.optional(Hash0x),
  transactionIndex: Schema.optional(Schema.NullOr(Quantity0x)),
  chainId: Schema.optional(Quantity0x),
  nonce: Quantity0x,
  gasPrice: Schema.optional(Quantity0x),
  maxPriorityFeePerGas: Schema.optional(Quantity0x),
  maxFeePerGas: Schema.optional(Quantity0x),
  maxFeePerBlobGas: Schema.optional(Quantity0x),
  gas: Quantity0x,
  to: Schema.optional(Schema.NullOr(Address0x)),
  value: Quantity0x,
  input: Data0x,
  accessList: Schema.optional(AccessList),
  blobVersionedHashes: Schema.optional(Schema.Array(Hash0x).check(Schema.isMaxLength(MAX_LIST_ITEMS))),
  authorizationList: Schema.optional(Schema.Array(Authorization).check(Schema.isMaxLength(MAX_LIST_ITEMS))),
  v: Schema.optional(Quantity0x),
  yParity: Schema.optional(Quantity0x),
  r: Quantity0x,
  s: Quantity0x
})
export type RpcTransaction = typeof RpcTransaction.Type

const decodeTransactions = Schema.decodeUnknownResult(Schema.Array(RpcTransaction).check(Schema.isMaxLength(MAX_BLOCK_TRANSACTIONS)))

/** The transactions (or the root they are checked against) do not have the expected shape, or a field the encoding needs is missing. */
export class MalformedTransactions extends Data.TaggedError("MalformedTransactions")<{
  /** The transaction at fault, when one is. */
  readonly index?: number
  readonly reason: string
}> {}

/** A transaction's type is not one this verifier knows the encoding of (0x0-0x4). */
export class UnsupportedTransactionType extends Data.TaggedError("UnsupportedTransactionType")<{
  readonly index: number
  readonly type: string
}> {}

/** `transactions[index]` says it is another position's transaction: missing, extra or reordered transactions. */
export class TransactionOutOfPlace extends Data.TaggedError("TransactionOutOfPlace")<{
  readonly index: number
  readonly transactionIndex: number
}> {}

/** A transaction's fields encode to another hash than the `hash` the RPC gave with it. */
export class TransactionHashMismatch extends Data.TaggedError("TransactionHashMismatch")<{
  readonly index: number
  readonly claimed: string
  readonly computed: string
}> {}

/** The transactions do not rebuild the trusted root: one was altered, dropped, added or swapped. */
export class TransactionsRootMismatch extends Data.TaggedError("TransactionsRootMismatch")<{
  readonly expected: string
  readonly computed: string
}> {}

/** Why a block's transactions were not verified. */
export type BlockTransactionsError = MalformedTransactions | UnsupportedTransactionType | TransactionOutOfPlace | TransactionHashMismatch | TransactionsRootMismatch

const bytesOf = (hex: string): Uint8Array => {
  const digits = hex.slice(2)
  return hexToBytes(digits.length % 2 === 1 ? `0${digits}` : digits)
}
const hex0x = (bytes: Uint8Array): string => `0x${bytesToHex(bytes)}`
// A QUANTITY as an RLP scalar: big-endian, no leading zero bytes (0 is the empty string).
const scalar = (hex: string): Uint8Array => {
  let digits = hex.slice(2).replace(/^0+/u, "")
  if (digits.length % 2 === 1) digits = `0${digits}`
  return encodeRlpBytes(hexToBytes(digits))
}
const bytes = (hex: string): Uint8Array => encodeRlpBytes(bytesOf(hex))
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** The trie key of transaction `index`: RLP of the index as a scalar (0 is 0x80), as in the receipts trie. */
export const transactionKey = (index: number): Uint8Array => encodeRlpBytes(scalarToBytes(BigInt(index)))

const encodeAccessList = (list: RpcTransaction["accessList"]): Uint8Array =>
  encodeRlpList((list ?? []).map((e) => encodeRlpList([bytes(e.address), encodeRlpList(e.storageKeys.map(bytes))])))

/** The EIP-2718 encoding of one JSON-RPC transaction: what the transactions trie holds for it, and what its hash is taken of. */
export const encodeTransaction = (tx: RpcTransaction, index: number): Result.Result<Uint8Array, MalformedTransactions | UnsupportedTransactionType> => {
  const type = tx.type === undefined ? 0 : Number(BigInt(tx.type))
  const missing = (field: string) => Result.fail(new MalformedTransactions({ index, reason: `a type ${type} transaction without ${field}` }))
  const to = tx.to === undefined || tx.to === null ? encodeRlpBytes(new Uint8Array(0)) : bytes(tx.to)
  // Typed transactions sign with a y parity; nodes give it as yParity, older ones as v.
  const parity = tx.yParity ?? tx.v
  const signature = (): Array<Uint8Array> => [scalar(parity as string), scalar(tx.r), scalar(tx.s)]
  const typed = (fields: ReadonlyArray<Uint8Array>): Uint8Array => {
    const body = encodeRlpList(fields)
    const out = new Uint8Array(body.length + 1)
    out[0] = type
    out.set(body, 1)
    return out
  }
  if (type === 0) {
    if (tx.gasPrice === undefined) return missing("gasPrice")
    if (tx.v === undefined) return missing("v")
    return Result.succeed(encodeRlpList([scalar(tx.nonce), scalar(tx.gasPrice), scalar(tx.gas), to, scalar(tx.value), bytes(tx.input), scalar(tx.v), scalar(tx.r), scalar(tx.s)]))
  }
  if (type > 4) return Result.fail(new UnsupportedTransactionType({ index, type: tx.type ?? "0x0" }))
  if (tx.chainId === undefined) return missing("chainId")
  if (parity === undefined) return missing("yParity")
  if (type === 1) {
    if (tx.gasPrice === undefined) return missing("gasPrice")
    return Result.succeed(typed([scalar(tx.chainId), scalar(tx.nonce), scalar(tx.gasPrice), scalar(tx.gas), to, scalar(tx.value), bytes(tx.input), encodeAccessList(tx.accessList), ...signature()]))
  }
  if (tx.maxPriorityFeePerGas === undefined) return missing("maxPriorityFeePerGas")
  if (tx.maxFeePerGas === undefined) return missing("maxFeePerGas")
  const fees = [scalar(tx.chainId), scalar(tx.nonce), scalar(tx.maxPriorityFeePerGas), scalar(tx.maxFeePerGas), scalar(tx.gas), to, scalar(tx.value), bytes(tx.input), encodeAccessList(tx.accessList)]
  if (type === 2) return Result.succeed(typed([...fees, ...signature()]))
  if (type === 3) {
    if (tx.maxFeePerBlobGas === undefined) return missing("maxFeePerBlobGas")
    if (tx.blobVersionedHashes === undefined) return missing("blobVersionedHashes")
    return Result.succeed(typed([...fees, scalar(tx.maxFeePerBlobGas), encodeRlpList(tx.blobVersionedHashes.map(bytes)), ...signature()]))
  }
  if (tx.authorizationList === undefined) return missing("authorizationList")
  const authorizations: Array<Uint8Array> = []
  for (const a of tx.authorizationList) {
    const y = a.yParity ?? a.v
    if (y === undefined) return missing("an authorization's yParity")
    authorizations.push(encodeRlpList([scalar(a.chainId), bytes(a.address), scalar(a.nonce), scalar(y), scalar(a.r), scalar(a.s)]))
  }
  return Result.succeed(typed([...fees, encodeRlpList(authorizations), ...signature()]))
}

/** A block's transactions decoded, checked for order and hash, encoded, with the trie they build. */
export interface TransactionsTrie {
  /** `encodings[i]`: transaction i as the trie holds it. */
  readonly encodings: ReadonlyArray<Uint8Array>
  /** `hashes[i]`: keccak256 of `encodings[i]`, lowercase hex without 0x. */
  readonly hashes: ReadonlyArray<string>
  readonly trie: MerklePatriciaTrie
  readonly root: Uint8Array
}

/**
 * Decode an `eth_getBlockByHash(hash, true)` result's `transactions`, check that
 * `transactions[i]` is transaction i and hashes to its `hash` field where given, encode every
 * transaction and build the transactions trie. No root is trusted here: compare `root`.
 */
export const buildTransactionsTrie = (
  transactions: unknown
): Result.Result<TransactionsTrie, MalformedTransactions | UnsupportedTransactionType | TransactionOutOfPlace | TransactionHashMismatch> => {
  const decoded = decodeTransactions(transactions, { errors: "first" })
  if (Result.isFailure(decoded)) {
    return Result.fail(new MalformedTransactions({ reason: `not a full block's transactions: ${decoded.failure.message.replace(/\s*\n\s*/g, " ")}` }))
  }
  const list = decoded.success
  const encodings: Array<Uint8Array> = []
  const hashes: Array<string> = []
  let trie = MerklePatriciaTrie.empty
  for (let i = 0; i < list.length; i++) {
    const tx = list[i] as RpcTransaction
    if (tx.transactionIndex !== undefined && tx.transactionIndex !== null && BigInt(tx.transactionIndex) !== BigInt(i)) {
      return Result.fail(new TransactionOutOfPlace({ index: i, transactionIndex: Number(BigInt(tx.transactionIndex)) }))
    }
    const encoded = encodeTransaction(tx, i)
    if (Result.isFailure(encoded)) return Result.fail(encoded.failure)
    const hash = bytesToHex(keccak_256(encoded.success))
    if (tx.hash !== undefined && tx.hash.slice(2).toLowerCase() !== hash) {
      return Result.fail(new TransactionHashMismatch({ index: i, claimed: tx.hash.toLowerCase(), computed: `0x${hash}` }))
    }
    encodings.push(encoded.success)
    hashes.push(hash)
    trie = trie.set(transactionKey(i), encoded.success)
  }
  return Result.succeed({ encodings, hashes, trie, root: trie.rootHash() })
}

/** The transactions root (0x-prefixed lowercase hex) the transactions rebuild; a failure for transactions it cannot encode. */
export const transactionsRootOf = (
  transactions: unknown
): Result.Result<string, MalformedTransactions | UnsupportedTransactionType | TransactionOutOfPlace | TransactionHashMismatch> =>
  Result.map(buildTransactionsTrie(transactions), (built) => hex0x(built.root))

/**
 * Check a block's transactions against a trusted `transactionsRoot` (32 bytes): the trie, or
 * why the transactions do not rebuild it.
 */
export const checkBlockTransactions = (transactionsRoot: Uint8Array, transactions: unknown): Result.Result<TransactionsTrie, BlockTransactionsError> =>
  Result.flatMap(buildTransactionsTrie(transactions), (built) =>
    sameBytes(built.root, transactionsRoot)
      ? Result.succeed(built)
      : Result.fail(new TransactionsRootMismatch({ expected: hex0x(transactionsRoot), computed: hex0x(built.root) })))

// ---------------------------------------------------------------------------------------------
// One transaction's inclusion

/** The trie proof does not verify against the transactions root. */
export class TransactionProofRejected extends Data.TaggedError("TransactionProofRejected")<{
  readonly cause: MptProofError
}> {}

/** The proof verifies, but proves no transaction, or another one than the one given, at that index. */
export class TransactionNotProven extends Data.TaggedError("TransactionNotProven")<{
  readonly transactionIndex: number
  readonly reason: string
}> {}

/** The evidence does not have the expected shape (hex, an index, a header list). */
export class MalformedTransactionEvidence extends Data.TaggedError("MalformedTransactionEvidence")<{
  readonly reason: string
}> {}

/** The header does not hash to its claimed hash, or holds another transactions root than the one given. */
export class TransactionHeaderMismatch extends Data.TaggedError("TransactionHeaderMismatch")<{
  readonly reason: string
}> {}

/** Why one transaction's inclusion was not verified. */
export type TransactionProofError = MalformedTransactionEvidence | TransactionHeaderMismatch | TransactionProofRejected | TransactionNotProven

/**
 * Check that the trie under `root` holds a transaction at `transactionIndex`, by its proof:
 * its encoding (keccak256 of which is its hash).
 */
export const verifyTransactionInclusion = (
  root: Uint8Array,
  transactionIndex: number,
  proof: ReadonlyArray<Uint8Array>,
  hash?: (node: Uint8Array) => Uint8Array
): Result.Result<Uint8Array, TransactionProofRejected | TransactionNotProven> => {
  const proven = verifyMerklePatriciaProof(root, transactionKey(transactionIndex), proof, hash)
  if (Result.isFailure(proven)) return Result.fail(new TransactionProofRejected({ cause: proven.failure }))
  if (Option.isNone(proven.success)) return Result.fail(new TransactionNotProven({ transactionIndex, reason: "the proof shows no transaction at this index" }))
  return Result.succeed(proven.success.value)
}

const TRANSACTIONS_ROOT_FIELD = 4

/** The transactions root a header's RLP holds (field 4), if the RLP is a header list. */
export const transactionsRootOfHeader = (headerRlp: Uint8Array): Uint8Array | undefined => headerRootAt(headerRlp, TRANSACTIONS_ROOT_FIELD)

/**
 * The evidence that a transaction is in a block, all hex 0x-prefixed: give `transactionsRoot`,
 * or `header` (then the root is read from the header's RLP, field 4, and the header must hash
 * to `header.hash`), or both (they must agree).
 */
export interface TransactionEvidence {
  readonly transactionsRoot?: string
  readonly header?: { readonly hash: string; readonly rlp: string }
  readonly transactionIndex: number
  /** The transaction's EIP-2718 encoding; when left out, the value the proof proves. */
  readonly transaction?: string
  /** The hashed trie nodes on the path to `RLP(transactionIndex)`, root first. */
  readonly proof: ReadonlyArray<string>
}

/** A transaction proven in a block. */
export interface VerifiedTransaction {
  readonly transactionsRoot: string
  /** The block hash, when the evidence carried the header. */
  readonly blockHash?: string
  readonly transactionIndex: number
  /** keccak256 of the proven encoding, 0x-prefixed lowercase. */
  readonly transactionHash: string
  /** The proven encoding, 0x-prefixed lowercase. */
  readonly transaction: string
}

const isHex0x = (value: unknown): value is string => typeof value === "string" && /^0x(?:[0-9a-fA-F]{2})*$/u.test(value)
const isRoot0x = (value: unknown): value is string => typeof value === "string" && /^0x[0-9a-fA-F]{64}$/u.test(value)

/** Verify one transaction's inclusion in a block from its trie proof (`TransactionEvidence`), and compute its hash. */
export const verifyTransactionProof = (evidence: TransactionEvidence): Result.Result<VerifiedTransaction, TransactionProofError> => {
  if (typeof evidence !== "object" || evidence === null) return Result.fail(new MalformedTransactionEvidence({ reason: "evidence is not an object" }))
  const { transactionIndex, transaction, proof } = evidence
  if (typeof transactionIndex !== "number" || !Number.isSafeInteger(transactionIndex) || transactionIndex < 0) {
    return Result.fail(new MalformedTransactionEvidence({ reason: "transactionIndex is a non-negative integer" }))
  }
  if ((transaction !== undefined && !isHex0x(transaction)) || !Array.isArray(proof) || !proof.every(isHex0x)) {
    return Result.fail(new MalformedTransactionEvidence({ reason: "transaction and proof nodes are 0x-prefixed hex" }))
  }
  let root: Uint8Array | undefined
  let blockHash: string | undefined
  if (evidence.header !== undefined) {
    const { hash, rlp } = evidence.header
    if (!isHex0x(rlp) || !isRoot0x(hash)) return Result.fail(new MalformedTransactionEvidence({ reason: "header is not { hash: 32-byte hex, rlp: hex }" }))
    const headerRlp = bytesOf(rlp)
    if (!sameBytes(keccak_256(headerRlp), bytesOf(hash))) return Result.fail(new TransactionHeaderMismatch({ reason: "keccak256(header.rlp) is not header.hash" }))
    root = transactionsRootOfHeader(headerRlp)
    if (root === undefined) return Result.fail(new MalformedTransactionEvidence({ reason: "header.rlp is not a header list with a 32-byte transactionsRoot (field 4)" }))
    blockHash = hash.toLowerCase()
  }
  if (evidence.transactionsRoot !== undefined) {
    if (!isRoot0x(evidence.transactionsRoot)) return Result.fail(new MalformedTransactionEvidence({ reason: "transactionsRoot is not 0x-prefixed 32-byte hex" }))
    const given = bytesOf(evidence.transactionsRoot)
    if (root !== undefined && !sameBytes(root, given)) return Result.fail(new TransactionHeaderMismatch({ reason: "the header holds another transactionsRoot" }))
    root = given
  }
  if (root === undefined) return Result.fail(new MalformedTransactionEvidence({ reason: "neither transactionsRoot nor header" }))
  const proven = verifyTransactionInclusion(root, transactionIndex, proof.map(bytesOf))
  if (Result.isFailure(proven)) return Result.fail(proven.failure)
  if (transaction !== undefined && !sameBytes(proven.success, bytesOf(transaction))) {
    return Result.fail(new TransactionNotProven({ transactionIndex, reason: "the proven transaction differs from the one given" }))
  }
  return Result.succeed({
    transactionsRoot: hex0x(root),
    ...(blockHash === undefined ? {} : { blockHash }),
    transactionIndex,
    transactionHash: hex0x(keccak_256(proven.success)),
    transaction: hex0x(proven.success)
  })
}
