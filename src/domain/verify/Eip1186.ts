/**
 * EIP-1186 (eth_getProof) verification: check an RPC node's account and storage claims
 * against a state root the caller already trusts (from a verified block header).
 *
 * Failures are values: `verifyEip1186Proof` returns a `Result` whose failure is one of the
 * `Data.TaggedError`s below (union `Eip1186Error`); inside `Effect.gen`, lift it with
 * `Effect.fromResult` and `Effect.catchTag` the cases you handle. Nothing throws. The same
 * convention holds for `verifyMerklePatriciaProof` and `decodeRlp`.
 *
 * What "verified" means here:
 * - The account proof is a valid Merkle-Patricia proof for keccak256(address) under the
 *   state root. If it proves the account, its leaf RLP [nonce, balance, storageRoot,
 *   codeHash] must equal the claimed fields exactly. If it proves absence, the claimed fields
 *   must be the empty account's: nonce 0, balance 0, codeHash keccak256("") and storageHash
 *   the empty trie root (the all-zero hash is accepted for both, as some clients send it).
 * - Every storage slot's proof is valid for keccak256(slot left-padded to 32 bytes) under
 *   the claimed storageHash (the empty trie when the account is absent). A present slot's
 *   value is the RLP-decoded leaf and must equal the claimed value; an absent slot must be
 *   claimed as 0 (Ethereum never stores a zero, so "0" and "absent" are the same fact).
 * Claimed quantities may carry leading zeros (clients differ); proof contents may not.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Data, Option, Result, Schema } from "effect"
import { type MptProofError, emptyTrieRoot, verifyMerklePatriciaProof } from "./MerklePatricia.ts"
import { type MalformedRlp, bytesToScalar, decodeRlp } from "./Rlp.ts"

/** 0x-prefixed lowercase hex of 32 bytes (hashes, storage slots). */
export const Bytes32Hex = Schema.String.check(Schema.isPattern(/^0x[0-9a-f]{64}$/u)).pipe(Schema.brand("Bytes32Hex"))
export type Bytes32Hex = typeof Bytes32Hex.Type

/** 0x-prefixed lowercase hex of a 20-byte account address. */
export const AddressHex = Schema.String.check(Schema.isPattern(/^0x[0-9a-f]{40}$/u)).pipe(Schema.brand("AddressHex"))
export type AddressHex = typeof AddressHex.Type

const Data0x = Schema.String.check(Schema.isPattern(/^0x(?:[0-9a-fA-F]{2})*$/u))
const Hash0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{64}$/u))
// A QUANTITY of at most 256 bits. Leading zeros are tolerated: they change nothing proven.
const Quantity0x = Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{1,64}$/u))

/** The eth_getProof result, as the JSON-RPC response carries it (extra fields ignored). */
export const GetProofResult = Schema.Struct({
  address: Schema.String.check(Schema.isPattern(/^0x[0-9a-fA-F]{40}$/u)),
  accountProof: Schema.Array(Data0x),
  balance: Quantity0x,
  codeHash: Hash0x,
  nonce: Quantity0x,
  storageHash: Hash0x,
  storageProof: Schema.Array(
    Schema.Struct({
      // A slot number: echoed back as a QUANTITY by some clients ("0x0"), so 1..64 digits.
      key: Quantity0x,
      value: Quantity0x,
      proof: Schema.Array(Data0x)
    })
  )
})
export type GetProofResult = typeof GetProofResult.Type

/** One storage slot, proven present (`exists`) or absent (value 0). */
export interface VerifiedStorageSlot {
  /** The slot, left-padded to 32 bytes. */
  readonly key: Bytes32Hex
  readonly value: bigint
  readonly exists: boolean
}

/** What a verified eth_getProof result establishes at the given state root. */
export interface VerifiedEip1186Proof {
  readonly address: AddressHex
  readonly accountExists: boolean
  readonly nonce: bigint
  readonly balance: bigint
  readonly storageHash: Bytes32Hex
  readonly codeHash: Bytes32Hex
  /** In the order of the result's storageProof. */
  readonly storage: ReadonlyArray<VerifiedStorageSlot>
}

/** The state root or the eth_getProof result does not have the expected shape. */
export class MalformedProofInput extends Data.TaggedError("MalformedProofInput")<{
  readonly reason: string
}> {}

/** The account proof does not verify, or proves a leaf that is not an account. */
export class AccountProofRejected extends Data.TaggedError("AccountProofRejected")<{
  readonly address: string
  readonly cause: MptProofError | MalformedRlp | undefined
  readonly reason: string
}> {}

/** A claimed account field differs from what the proof establishes. */
export class AccountFieldMismatch extends Data.TaggedError("AccountFieldMismatch")<{
  readonly address: string
  readonly field: "nonce" | "balance" | "storageHash" | "codeHash"
  readonly claimed: string
  readonly proven: string
}> {}

/** A storage proof does not verify, or proves a value that is not a canonical non-zero word. */
export class StorageProofRejected extends Data.TaggedError("StorageProofRejected")<{
  readonly key: string
  readonly cause: MptProofError | MalformedRlp | undefined
  readonly reason: string
}> {}

/** A claimed storage value differs from what the proof establishes. */
export class StorageValueMismatch extends Data.TaggedError("StorageValueMismatch")<{
  readonly key: string
  readonly claimed: bigint
  readonly proven: bigint
}> {}

/** Why an eth_getProof result was not verified. */
export type Eip1186Error =
  | MalformedProofInput
  | AccountProofRejected
  | AccountFieldMismatch
  | StorageProofRejected
  | StorageValueMismatch

/** keccak256("") : the code hash of an account without code. */
export const EMPTY_CODE_HASH: Bytes32Hex = Bytes32Hex.make("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
const EMPTY_ROOT_HEX = Bytes32Hex.make(`0x${bytesToHex(emptyTrieRoot())}`)
const ZERO_HASH = Bytes32Hex.make(`0x${"0".repeat(64)}`)

const decodeInput = Schema.decodeUnknownResult(GetProofResult)
const isHash0x = Schema.is(Hash0x)

/**
 * Verify an eth_getProof result (the JSON `result`, verbatim) against a trusted state root
 * (0x-prefixed 32-byte hex): the account and every storage slot it claims, or why not.
 */
export const verifyEip1186Proof = (
  stateRoot: string,
  getProofResult: unknown
): Result.Result<VerifiedEip1186Proof, Eip1186Error> => {
  if (!isHash0x(stateRoot)) return Result.fail(new MalformedProofInput({ reason: "stateRoot is not 0x-prefixed 32-byte hex" }))
  const decoded = decodeInput(getProofResult, { errors: "first" })
  if (Result.isFailure(decoded)) {
    return Result.fail(new MalformedProofInput({ reason: decoded.failure.message.replace(/\s*\n\s*/g, " ") }))
  }
  const input = decoded.success
  const address = AddressHex.make(input.address.toLowerCase())
  const claimed = {
    nonce: BigInt(input.nonce),
    balance: BigInt(input.balance),
    storageHash: Bytes32Hex.make(input.storageHash.toLowerCase()),
    codeHash: Bytes32Hex.make(input.codeHash.toLowerCase())
  }

  const accountPath = keccak_256(fromHex(address))
  const proven = verifyMerklePatriciaProof(fromHex(stateRoot), accountPath, input.accountProof.map(fromHex))
  if (Result.isFailure(proven)) {
    return Result.fail(new AccountProofRejected({ address, cause: proven.failure, reason: "account proof does not verify" }))
  }
  const leaf = proven.success
  const account = Option.isSome(leaf) ? decodeAccount(address, leaf.value) : Result.succeed(undefined)
  if (Result.isFailure(account)) return Result.fail(account.failure)
  const fieldCheck = account.success === undefined ? checkEmptyAccount(address, claimed) : checkAccount(address, claimed, account.success)
  if (fieldCheck !== undefined) return Result.fail(fieldCheck)

  // An absent account's storage is the empty trie, whatever hash the client put there.
  const storageRoot = account.success === undefined ? emptyTrieRoot() : fromHex(claimed.storageHash)
  const storage: Array<VerifiedStorageSlot> = []
  for (const slot of input.storageProof) {
    const checked = verifySlot(storageRoot, slot)
    if (Result.isFailure(checked)) return Result.fail(checked.failure)
    storage.push(checked.success)
  }
  return Result.succeed({ address, accountExists: account.success !== undefined, ...claimed, storage })
}

interface Account {
  readonly nonce: bigint
  readonly balance: bigint
  readonly storageHash: Bytes32Hex
  readonly codeHash: Bytes32Hex
}

const decodeAccount = (address: AddressHex, encoded: Uint8Array): Result.Result<Account, AccountProofRejected> => {
  const reject = (reason: string, cause?: MalformedRlp) =>
    Result.fail(new AccountProofRejected({ address, cause, reason: `proven leaf is not an account: ${reason}` }))
  const item = decodeRlp(encoded)
  if (Result.isFailure(item)) return reject(item.failure.reason, item.failure)
  const fields = item.success
  if (fields instanceof Uint8Array || fields.length !== 4) return reject("not a list of 4 items")
  const [nonceBytes, balanceBytes, rootBytes, codeBytes] = fields
  if (!(nonceBytes instanceof Uint8Array && balanceBytes instanceof Uint8Array && rootBytes instanceof Uint8Array && codeBytes instanceof Uint8Array)) {
    return reject("a field is a list")
  }
  if (rootBytes.length !== 32 || codeBytes.length !== 32) return reject("storageRoot or codeHash is not 32 bytes")
  const nonce = bytesToScalar(nonceBytes, 8)
  if (typeof nonce === "string") return reject(`nonce: ${nonce}`)
  const balance = bytesToScalar(balanceBytes, 32)
  if (typeof balance === "string") return reject(`balance: ${balance}`)
  return Result.succeed({ nonce, balance, storageHash: toHex32(rootBytes), codeHash: toHex32(codeBytes) })
}

const checkAccount = (address: AddressHex, claimed: Account, proven: Account): AccountFieldMismatch | undefined => {
  if (claimed.nonce !== proven.nonce) return mismatch(address, "nonce", claimed.nonce, proven.nonce)
  if (claimed.balance !== proven.balance) return mismatch(address, "balance", claimed.balance, proven.balance)
  if (claimed.storageHash !== proven.storageHash) return mismatch(address, "storageHash", claimed.storageHash, proven.storageHash)
  if (claimed.codeHash !== proven.codeHash) return mismatch(address, "codeHash", claimed.codeHash, proven.codeHash)
  return undefined
}

const checkEmptyAccount = (address: AddressHex, claimed: Account): AccountFieldMismatch | undefined => {
  if (claimed.nonce !== 0n) return mismatch(address, "nonce", claimed.nonce, 0n)
  if (claimed.balance !== 0n) return mismatch(address, "balance", claimed.balance, 0n)
  if (claimed.storageHash !== EMPTY_ROOT_HEX && claimed.storageHash !== ZERO_HASH) {
    return mismatch(address, "storageHash", claimed.storageHash, EMPTY_ROOT_HEX)
  }
  if (claimed.codeHash !== EMPTY_CODE_HASH && claimed.codeHash !== ZERO_HASH) {
    return mismatch(address, "codeHash", claimed.codeHash, EMPTY_CODE_HASH)
  }
  return undefined
}

const mismatch = (address: AddressHex, field: AccountFieldMismatch["field"], claimed: bigint | string, proven: bigint | string) =>
  new AccountFieldMismatch({
    address,
    field,
    claimed: typeof claimed === "bigint" ? `0x${claimed.toString(16)}` : claimed,
    proven: typeof proven === "bigint" ? `0x${proven.toString(16)}` : proven
  })

const verifySlot = (
  storageRoot: Uint8Array,
  slot: GetProofResult["storageProof"][number]
): Result.Result<VerifiedStorageSlot, StorageProofRejected | StorageValueMismatch> => {
  const key = Bytes32Hex.make(`0x${slot.key.slice(2).padStart(64, "0").toLowerCase()}`)
  const claimedValue = BigInt(slot.value)
  const proven = verifyMerklePatriciaProof(storageRoot, keccak_256(fromHex(key)), slot.proof.map(fromHex))
  if (Result.isFailure(proven)) {
    return Result.fail(new StorageProofRejected({ key, cause: proven.failure, reason: "storage proof does not verify" }))
  }
  let value = 0n
  if (Option.isSome(proven.success)) {
    const item = decodeRlp(proven.success.value)
    if (Result.isFailure(item)) {
      return Result.fail(new StorageProofRejected({ key, cause: item.failure, reason: "stored value is not RLP" }))
    }
    const word = item.success instanceof Uint8Array ? bytesToScalar(item.success, 32) : "a list"
    if (typeof word === "string" || word === 0n) {
      return Result.fail(new StorageProofRejected({ key, cause: undefined, reason: `stored value is not a canonical non-zero word: ${word}` }))
    }
    value = word
  }
  if (claimedValue !== value) return Result.fail(new StorageValueMismatch({ key, claimed: claimedValue, proven: value }))
  return Result.succeed({ key, value, exists: Option.isSome(proven.success) })
}

const fromHex = (hex: string): Uint8Array => hexToBytes(hex.slice(2))
const toHex32 = (bytes: Uint8Array): Bytes32Hex => Bytes32Hex.make(`0x${bytesToHex(bytes)}`)
