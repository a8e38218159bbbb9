/**
 * Light blocks in the CometBFT RPC JSON shape (`/commit` + `/validators`, as tendermint-rs
 * serialises them), and their parsing into checked, hash-ready values.
 *
 * Parsing is the one place input is checked: hex and base64 must decode, numbers must be
 * in range, addresses are 20 bytes and unique within a set, keys are Ed25519, and validator
 * sets are put in CometBFT's canonical order (voting power descending, then address
 * ascending) because the JSON need not be. Anything else throws `MalformedLightBlock`, which
 * the verifiers turn into an `InvalidLightBlock` result. That an address is derived from its
 * key (SHA-256(key)[:20]) is checked by the verifier for each validator whose vote it counts,
 * the only place the address-to-key binding is relied on (a set's hash covers keys and
 * powers, not addresses), which saves a hash per validator on the hot path.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { parseRfc3339Nanos, toTimestamp } from "./CometBftTime.ts"
import { base64ToBytesOrUndefined, hexToBytesOrUndefined } from "./JsonBytes.ts"
import { concatBytes, encodeTimestamp, fieldBytes, fieldMessage, fieldVarint, varintSize, writeVarint } from "./Protobuf.ts"

/** A part-set header in RPC JSON. */
export interface PartSetHeaderJson {
  readonly total: number | string
  readonly hash: string
}

/** A block ID in RPC JSON (`part_set_header`, or `parts` in older RPC output). */
export interface BlockIdJson {
  readonly hash: string
  readonly part_set_header?: PartSetHeaderJson
  readonly parts?: PartSetHeaderJson
}

/** A block header in RPC JSON. */
export interface HeaderJson {
  readonly version: { readonly block: string | number; readonly app?: string | number }
  readonly chain_id: string
  readonly height: string | number
  readonly time: string
  readonly last_block_id: BlockIdJson | null
  readonly last_commit_hash: string
  readonly data_hash: string
  readonly validators_hash: string
  readonly next_validators_hash: string
  readonly consensus_hash: string
  readonly app_hash: string
  readonly last_results_hash: string
  readonly evidence_hash: string
  readonly proposer_address: string
}

/** One commit signature in RPC JSON: flag 1 absent, 2 commit, 3 nil. */
export interface CommitSigJson {
  readonly block_id_flag: number
  readonly validator_address: string
  readonly timestamp: string
  readonly signature: string | null
}

/** A commit in RPC JSON. */
export interface CommitJson {
  readonly height: string | number
  readonly round: number | string
  readonly block_id: BlockIdJson
  readonly signatures: ReadonlyArray<CommitSigJson> | null
}

/** A header with the commit that signs it. */
export interface SignedHeaderJson {
  readonly header: HeaderJson
  readonly commit: CommitJson
}

/** A validator in RPC JSON (amino-JSON key). */
export interface ValidatorJson {
  readonly address: string
  readonly pub_key: { readonly type: string; readonly value: string }
  readonly voting_power: string | number
  readonly proposer_priority?: string | number | null
}

/** A validator set in RPC JSON; `proposer` and `total_voting_power` are ignored (both are derived). */
export interface ValidatorSetJson {
  readonly validators: ReadonlyArray<ValidatorJson> | null
}

/** What the verifier already trusts: a verified header and the validator set it names as next. */
export interface TrustedLightBlock {
  readonly signed_header: SignedHeaderJson
  readonly next_validator_set: ValidatorSetJson
}

/** A light block from a full node: signed header, its validator set and the next one. */
export interface LightBlock {
  readonly signed_header: SignedHeaderJson
  readonly validator_set: ValidatorSetJson
  readonly next_validator_set: ValidatorSetJson
}

/** Thrown by the parsers below for input that is not a well-formed light block; caught at each entry point. */
export class MalformedLightBlock extends Error {
  readonly path: string
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`)
    this.path = path
  }
}

/** A parsed block ID. */
export interface BlockId {
  readonly hash: Uint8Array
  readonly total: number
  readonly partsHash: Uint8Array
}

/** A parsed header: the checked fields the verifier compares, and the 14 encoded fields its hash is the Merkle root of. */
export interface Header {
  readonly chainId: string
  readonly height: bigint
  readonly timeNanos: bigint
  readonly validatorsHash: Uint8Array
  readonly nextValidatorsHash: Uint8Array
  readonly merkleLeaves: ReadonlyArray<Uint8Array>
}

/** A validator of a parsed set. `leaf` is its SimpleValidator encoding, the item the set hash covers. */
export interface Validator {
  /** Uppercase hex, the key votes are matched by. */
  readonly address: string
  readonly addressBytes: Uint8Array
  readonly pubKey: Uint8Array
  readonly power: bigint
  readonly leaf: Uint8Array
}

/** A parsed validator set, in canonical order. */
export interface ValidatorSet {
  readonly validators: ReadonlyArray<Validator>
  readonly byAddress: ReadonlyMap<string, Validator>
  readonly totalPower: bigint
}

/** A COMMIT vote of a commit (absent and nil votes carry no power and are not kept). */
export interface CommitVote {
  readonly index: number
  readonly address: string
  readonly timestampNanos: bigint
  readonly signature: Uint8Array
}

/** A parsed commit. */
export interface Commit {
  readonly height: bigint
  readonly round: bigint
  readonly blockId: BlockId
  /** Number of CommitSig entries, absent ones included. */
  readonly size: number
  /** Addresses of every non-absent signature (commit and nil), in commit order. */
  readonly signers: ReadonlyArray<string>
  /** The COMMIT votes by validator address. */
  readonly votes: ReadonlyMap<string, CommitVote>
  /** An address with more than one COMMIT vote, if any. */
  readonly duplicate: string | undefined
}

// CometBFT's bound on a set's total power: MaxInt64 / 8, so priorities cannot overflow.
const MAX_TOTAL_VOTING_POWER = 9_223_372_036_854_775_807n / 8n
const MAX_INT64 = 9_223_372_036_854_775_807n
const ED25519_KEY_TYPE = "tendermint/PubKeyEd25519"

const fail = (path: string, problem: string): never => {
  throw new MalformedLightBlock(path, problem)
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value)

const recordAt = (value: unknown, path: string): Record<string, unknown> => (isRecord(value) ? value : fail(path, "not an object"))

const stringAt = (value: unknown, path: string): string => (typeof value === "string" ? value : fail(path, "not a string"))

const hexAt = (value: unknown, path: string): Uint8Array =>
  hexToBytesOrUndefined(stringAt(value, path)) ?? fail(path, "not hex")

const base64At = (value: unknown, path: string): Uint8Array =>
  base64ToBytesOrUndefined(stringAt(value, path)) ?? fail(path, "not base64")

// An integer given as a decimal string (or a JSON number that is a safe integer) within [min, max].
const integerAt = (value: unknown, path: string, min: bigint, max: bigint): bigint => {
  let n: bigint
  if (typeof value === "number" && Number.isSafeInteger(value)) n = BigInt(value)
  else if (typeof value === "string" && /^-?(?:0|[1-9][0-9]{0,19})$/.test(value)) n = BigInt(value)
  else return fail(path, "not an integer")
  return n < min || n > max ? fail(path, `out of range [${min}, ${max}]`) : n
}

const timeAt = (value: unknown, path: string): bigint => parseRfc3339Nanos(stringAt(value, path)) ?? fail(path, "not an RFC 3339 time")

const parseBlockId = (value: unknown, path: string): BlockId => {
  if (value === null || value === undefined) return { hash: new Uint8Array(0), total: 0, partsHash: new Uint8Array(0) }
  const r = recordAt(value, path)
  const parts = r["part_set_header"] ?? r["parts"]
  const p = parts === undefined || parts === null ? {} : recordAt(parts, `${path}.part_set_header`)
  return {
    hash: hexAt(r["hash"] ?? "", `${path}.hash`),
    total: Number(integerAt(p["total"] ?? 0, `${path}.part_set_header.total`, 0n, 0xffffffffn)),
    partsHash: hexAt(p["hash"] ?? "", `${path}.part_set_header.hash`)
  }
}

/** The protobuf encoding of a BlockID (identical to CanonicalBlockID's): hash, then the always-present part-set header. */
export const encodeBlockId = (id: BlockId): Uint8Array =>
  concatBytes([fieldBytes(1, id.hash), fieldMessage(2, concatBytes([fieldVarint(1, id.total), fieldBytes(2, id.partsHash)]))])

/** A BlockID with no hash and an empty part-set header (gogoproto `IsZero`). */
export const isZeroBlockId = (id: BlockId): boolean => id.hash.length === 0 && id.total === 0 && id.partsHash.length === 0

const utf8 = new TextEncoder()

// gogoproto wrapper types (StringValue, Int64Value, BytesValue): field 1, empty at the zero value.
const wrappedBytes = (bytes: Uint8Array): Uint8Array => fieldBytes(1, bytes)

/** Parse a header; its Merkle leaves are the fields in `Header.Hash()` order. */
export const parseHeader = (value: unknown, path = "header"): Header => {
  const r = recordAt(value, path)
  const version = recordAt(r["version"], `${path}.version`)
  const block = integerAt(version["block"], `${path}.version.block`, 0n, 0xffffffffffffffffn)
  const app = integerAt(version["app"] ?? 0, `${path}.version.app`, 0n, 0xffffffffffffffffn)
  const chainId = stringAt(r["chain_id"], `${path}.chain_id`)
  const height = integerAt(r["height"], `${path}.height`, 1n, MAX_INT64)
  const timeNanos = timeAt(r["time"], `${path}.time`)
  const ts = toTimestamp(timeNanos)
  const lastBlockId = parseBlockId(r["last_block_id"], `${path}.last_block_id`)
  const hashField = (name: string): Uint8Array => hexAt(r[name], `${path}.${name}`)
  const validatorsHash = hashField("validators_hash")
  const nextValidatorsHash = hashField("next_validators_hash")
  const merkleLeaves = [
    concatBytes([fieldVarint(1, block), fieldVarint(2, app)]),
    wrappedBytes(utf8.encode(chainId)),
    fieldVarint(1, height),
    encodeTimestamp(ts.seconds, ts.nanos),
    encodeBlockId(lastBlockId),
    wrappedBytes(hashField("last_commit_hash")),
    wrappedBytes(hashField("data_hash")),
    wrappedBytes(validatorsHash),
    wrappedBytes(nextValidatorsHash),
    wrappedBytes(hashField("consensus_hash")),
    wrappedBytes(hashField("app_hash")),
    wrappedBytes(hashField("last_results_hash")),
    wrappedBytes(hashField("evidence_hash")),
    wrappedBytes(hashField("proposer_address"))
  ]
  return { chainId, height, timeNanos, validatorsHash, nextValidatorsHash, merkleLeaves }
}

const compareValidators = (a: Validator, b: Validator): number =>
  a.power !== b.power ? (a.power > b.power ? -1 : 1) : a.address < b.address ? -1 : a.address > b.address ? 1 : 0

// SimpleValidator{pub_key: PublicKey{ed25519}, voting_power}: 0a 22 0a 20 <key> 10 <varint>.
const simpleValidatorLeaf = (pubKey: Uint8Array, power: bigint): Uint8Array => {
  const out = new Uint8Array(4 + 32 + (power === 0n ? 0 : 1 + varintSize(power)))
  out.set(SIMPLE_VALIDATOR_PREFIX, 0)
  out.set(pubKey, 4)
  if (power !== 0n) {
    out[36] = 0x10
    writeVarint(out, 37, power)
  }
  return out
}
const SIMPLE_VALIDATOR_PREFIX = Uint8Array.of(0x0a, 0x22, 0x0a, 0x20)

// An address as map key: validated hex, uppercased (CometBFT prints uppercase; JSON may not).
const addressKeyAt = (value: unknown, path: string): { readonly key: string; readonly bytes: Uint8Array } => {
  const text = stringAt(value, path)
  const bytes = hexToBytesOrUndefined(text)
  if (bytes === undefined || bytes.length !== 20) return fail(path, "not a 20-byte hex address")
  return { key: text.toUpperCase(), bytes }
}

/** Is `address` the first 20 bytes of SHA-256 of the Ed25519 key, as CometBFT derives it? */
export const isDerivedAddress = (address: Uint8Array, pubKey: Uint8Array): boolean => {
  const digest = sha256(pubKey)
  for (let i = 0; i < 20; i++) if (digest[i] !== address[i]) return false
  return true
}

/** Parse a validator set into canonical order; duplicate addresses and mis-derived addresses are malformed. */
export const parseValidatorSet = (value: unknown, path = "validator_set"): ValidatorSet => {
  const r = recordAt(value, path)
  const list = r["validators"] ?? []
  if (!Array.isArray(list)) return fail(`${path}.validators`, "not an array")
  const validators: Array<Validator> = []
  const byAddress = new Map<string, Validator>()
  let totalPower = 0n
  for (let i = 0; i < list.length; i++) {
    const at = `${path}.validators[${i}]`
    const v = recordAt(list[i], at)
    const key = recordAt(v["pub_key"], `${at}.pub_key`)
    if (key["type"] !== ED25519_KEY_TYPE) fail(`${at}.pub_key.type`, `unsupported key type ${String(key["type"])}`)
    const pubKey = base64At(key["value"], `${at}.pub_key.value`)
    if (pubKey.length !== 32) fail(`${at}.pub_key.value`, "an Ed25519 key is 32 bytes")
    const address = addressKeyAt(v["address"], `${at}.address`)
    if (byAddress.has(address.key)) fail(`${at}.address`, "duplicate validator")
    const power = integerAt(v["voting_power"], `${at}.voting_power`, 0n, MAX_TOTAL_VOTING_POWER)
    const validator: Validator = { address: address.key, addressBytes: address.bytes, pubKey, power, leaf: simpleValidatorLeaf(pubKey, power) }
    validators.push(validator)
    byAddress.set(address.key, validator)
    totalPower += power
  }
  if (totalPower > MAX_TOTAL_VOTING_POWER) fail(`${path}`, "total voting power exceeds MaxTotalVotingPower")
  validators.sort(compareValidators)
  return { validators, byAddress, totalPower }
}

const BLOCK_ID_FLAG_ABSENT = 1
const BLOCK_ID_FLAG_COMMIT = 2
const BLOCK_ID_FLAG_NIL = 3

/** Parse a commit. Absent signatures are counted but not read; signatures must be 64 bytes. */
export const parseCommit = (value: unknown, path = "commit"): Commit => {
  const r = recordAt(value, path)
  const height = integerAt(r["height"], `${path}.height`, 1n, MAX_INT64)
  const round = integerAt(r["round"], `${path}.round`, 0n, 0x7fffffffn)
  const blockId = parseBlockId(r["block_id"], `${path}.block_id`)
  const list = r["signatures"] ?? []
  if (!Array.isArray(list)) return fail(`${path}.signatures`, "not an array")
  const signers: Array<string> = []
  const votes = new Map<string, CommitVote>()
  let duplicate: string | undefined
  list.forEach((item: unknown, index) => {
    const at = `${path}.signatures[${index}]`
    const s = recordAt(item, at)
    const flag = s["block_id_flag"]
    if (flag === BLOCK_ID_FLAG_ABSENT) return
    if (flag !== BLOCK_ID_FLAG_COMMIT && flag !== BLOCK_ID_FLAG_NIL) return fail(`${at}.block_id_flag`, "not 1, 2 or 3")
    const address = addressKeyAt(s["validator_address"], `${at}.validator_address`).key
    signers.push(address)
    if (flag === BLOCK_ID_FLAG_NIL) return
    const signature = base64At(s["signature"], `${at}.signature`)
    if (signature.length !== 64) return fail(`${at}.signature`, "not 64 bytes")
    if (votes.has(address)) duplicate ??= address
    else votes.set(address, { index, address, timestampNanos: timeAt(s["timestamp"], `${at}.timestamp`), signature })
  })
  return { height, round, blockId, size: list.length, signers, votes, duplicate }
}

/** A parsed light block. */
export interface ParsedLightBlock {
  readonly header: Header
  readonly commit: Commit
  readonly validators: ValidatorSet
  readonly nextValidators: ValidatorSet
}

// Do two validator lists in RPC JSON say the same thing, entry by entry? (The next set is
// nearly always the current one; comparing the strings is much cheaper than parsing twice.)
const sameValidatorsJson = (a: unknown, b: unknown): boolean => {
  if (!isRecord(a) || !isRecord(b)) return false
  const x = a["validators"]
  const y = b["validators"]
  if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) {
    const u: unknown = x[i]
    const w: unknown = y[i]
    if (!isRecord(u) || !isRecord(w) || !isRecord(u["pub_key"]) || !isRecord(w["pub_key"])) return false
    if (u["address"] !== w["address"] || u["voting_power"] !== w["voting_power"]) return false
    if (u["pub_key"]["type"] !== w["pub_key"]["type"] || u["pub_key"]["value"] !== w["pub_key"]["value"]) return false
  }
  return true
}

/** Parse a full light block (signed header, validator set, next validator set). */
export const parseLightBlock = (value: unknown, path = "light_block"): ParsedLightBlock => {
  const r = recordAt(value, path)
  const signedHeader = recordAt(r["signed_header"], `${path}.signed_header`)
  const validators = parseValidatorSet(r["validator_set"], `${path}.validator_set`)
  return {
    header: parseHeader(signedHeader["header"], `${path}.signed_header.header`),
    commit: parseCommit(signedHeader["commit"], `${path}.signed_header.commit`),
    validators,
    nextValidators: sameValidatorsJson(r["validator_set"], r["next_validator_set"])
      ? validators
      : parseValidatorSet(r["next_validator_set"], `${path}.next_validator_set`)
  }
}

/** Parse the header of a trusted light block. */
export const parseTrustedHeader = (value: unknown, path = "trusted"): Header => {
  const signedHeader = recordAt(recordAt(value, path)["signed_header"], `${path}.signed_header`)
  return parseHeader(signedHeader["header"], `${path}.signed_header.header`)
}

/** Parse the next validator set of a trusted light block. */
export const parseTrustedNextValidators = (value: unknown, path = "trusted"): ValidatorSet =>
  parseValidatorSet(recordAt(value, path)["next_validator_set"], `${path}.next_validator_set`)
