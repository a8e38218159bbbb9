/**
 * Cosmos SDK store proofs: what `abci_query` on `/store/<name>/key` with `prove=true`
 * returns, checked against an app hash the light client verified.
 *
 * The answer carries two ICS23 proof ops, as the SDK's rootmulti store builds them: an
 * `ics23:iavl` CommitmentProof of the key in the store (existence with the value, or
 * non-existence with the neighbouring keys) whose root is the store's root, and an
 * `ics23:simple` CommitmentProof that the store's root is the value of the store's name in
 * the multistore (a Tendermint simple Merkle map) whose root is the app hash. Both are
 * checked with @confio/ics23 plus the Go rules (src/adapters/cosmos/Ics23Verifier.ts), under the IAVL
 * and Tendermint specs, and chained: the store root the first proves is the value the second
 * proves under the app hash (IBC's `VerifyChainedMembershipProof`).
 *
 * State keys are written `<store>/<hex key>` (e.g. `bank/0214…`); in StateProofs, as hex of
 * the UTF-8 `<store>/` followed by the key bytes. The proof travels as the
 * protobuf `tendermint.crypto.ProofOps` the node sent, so anyone can check it again with
 * `verifyStoreProof`.
 */
import { uvarint } from "../../domain/verify/CosmosStoreProof.ts"
import { calculateIcs23Root, verifyIcs23Membership, verifyIcs23NonMembership } from "./Ics23Verifier.ts"

/** One proof op (`tendermint.crypto.ProofOp`). */
export interface ProofOp {
  readonly type: string
  readonly key: Uint8Array
  readonly data: Uint8Array
}

/** A parsed state key. */
export interface StoreKey {
  readonly store: string
  readonly key: Uint8Array
  /** `<store>/<lowercase hex key>`. */
  readonly text: string
}

const STORE_NAME = /^[A-Za-z0-9_.-]{1,64}$/

const fromText = (store: string, hex: string): StoreKey | undefined => {
  if (!STORE_NAME.test(store) || hex.length === 0 || !/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return undefined
  const lower = hex.toLowerCase()
  return { store, key: Uint8Array.from(Buffer.from(lower, "hex")), text: `${store}/${lower}` }
}

/**
 * Parse a state key: `<store>/<hex key>` (0x optional), or the hex form StateProofs carry
 * (UTF-8 `<store>/` then the key bytes). Undefined when it is neither.
 */
export const parseStoreKey = (text: string): StoreKey | undefined => {
  const slash = text.indexOf("/")
  if (slash > 0) {
    const hex = text.slice(slash + 1)
    return fromText(text.slice(0, slash), hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex)
  }
  if (slash === 0 || !/^(?:[0-9a-fA-F]{2})+$/.test(text)) return undefined
  const bytes = Buffer.from(text, "hex")
  const at = bytes.indexOf(0x2f)
  return at <= 0 ? undefined : fromText(bytes.subarray(0, at).toString("latin1"), bytes.subarray(at + 1).toString("hex"))
}

/** The hex form of a state key: UTF-8 `<store>/` then the key bytes. */
export const storeKeyHex = (key: StoreKey): string => Buffer.from(`${key.store}/`, "utf8").toString("hex") + Buffer.from(key.key).toString("hex")

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex")
const utf8 = new TextEncoder()

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** Why a store proof does not check out, or undefined when it does. */
export type StoreProofProblem = string | undefined

/**
 * Check the proof ops of a query of `key` in `store` against `appHash` (hex): `value`
 * (non-empty) proven present, or `undefined` / empty proven absent (the SDK stores no empty
 * values, so an empty answer is an absence claim).
 */
export const checkStoreProof = (
  appHash: string,
  key: StoreKey,
  value: Uint8Array | undefined,
  ops: ReadonlyArray<ProofOp>
): StoreProofProblem => {
  if (ops.length !== 2) return `expected 2 proof ops (ics23:iavl, ics23:simple), got ${ops.length}`
  const [storeOp, rootOp] = ops
  if (storeOp === undefined || rootOp === undefined) return "missing proof op"
  if (storeOp.type !== "ics23:iavl") return `first proof op is ${storeOp.type}, not ics23:iavl`
  if (rootOp.type !== "ics23:simple") return `second proof op is ${rootOp.type}, not ics23:simple`
  if (!bytesEqual(storeOp.key, key.key)) return "the store proof is for another key"
  if (!bytesEqual(rootOp.key, utf8.encode(key.store))) return "the multistore proof is for another store"
  const storeProof = toHex(storeOp.data)
  const storeRoot = calculateIcs23Root(storeProof)
  if (storeRoot === undefined) return "the store proof cannot be decoded"
  const present = value !== undefined && value.length > 0
  const storeOk = present
    ? verifyIcs23Membership("iavl", storeRoot, storeProof, toHex(key.key), toHex(value))
    : verifyIcs23NonMembership("iavl", storeRoot, storeProof, toHex(key.key))
  if (!storeOk) return present ? "the IAVL proof does not prove the value" : "the IAVL proof does not prove the absence"
  if (!verifyIcs23Membership("tendermint", appHash, toHex(rootOp.data), toHex(utf8.encode(key.store)), storeRoot)) {
    return "the multistore proof does not prove the store root under the app hash"
  }
  return undefined
}

// --- tendermint.crypto.ProofOps protobuf: ops = 1 (repeated ProofOp); ProofOp: type = 1, key = 2, data = 3 ---

const varint = uvarint

const field = (tag: number, bytes: Uint8Array): Array<number> => (bytes.length === 0 ? [] : [(tag << 3) | 2, ...varint(bytes.length), ...bytes])

/** The protobuf encoding of ProofOps. */
export const encodeProofOps = (ops: ReadonlyArray<ProofOp>): Uint8Array =>
  Uint8Array.from(
    ops.flatMap((op) => {
      const body = [...field(1, utf8.encode(op.type)), ...field(2, op.key), ...field(3, op.data)]
      return [0x0a, ...varint(body.length), ...body]
    })
  )

const readVarint = (bytes: Uint8Array, at: number): { readonly value: number; readonly next: number } | undefined => {
  let value = 0
  let scale = 1
  for (let i = at; i < bytes.length && i < at + 5; i++) {
    const b = bytes[i] ?? 0
    value += (b & 0x7f) * scale
    if (b < 0x80) return { value, next: i + 1 }
    scale *= 128
  }
  return undefined
}

// Length-delimited fields of a message, or undefined if it is not made only of them.
const readFields = (bytes: Uint8Array): Array<{ readonly tag: number; readonly value: Uint8Array }> | undefined => {
  const out: Array<{ readonly tag: number; readonly value: Uint8Array }> = []
  let at = 0
  while (at < bytes.length) {
    const key = readVarint(bytes, at)
    if (key === undefined || (key.value & 7) !== 2) return undefined
    const length = readVarint(bytes, key.next)
    if (length === undefined || length.next + length.value > bytes.length) return undefined
    out.push({ tag: key.value >>> 3, value: bytes.subarray(length.next, length.next + length.value) })
    at = length.next + length.value
  }
  return out
}

/** Decode ProofOps bytes, or undefined when malformed. */
export const decodeProofOps = (bytes: Uint8Array): Array<ProofOp> | undefined => {
  const outer = readFields(bytes)
  if (outer === undefined || outer.some((f) => f.tag !== 1)) return undefined
  const ops: Array<ProofOp> = []
  for (const { value } of outer) {
    const inner = readFields(value)
    if (inner === undefined) return undefined
    const get = (tag: number) => inner.find((f) => f.tag === tag)?.value ?? new Uint8Array(0)
    ops.push({ type: new TextDecoder().decode(get(1)), key: Uint8Array.from(get(2)), data: Uint8Array.from(get(3)) })
  }
  return ops
}

/**
 * Re-check a StateProof of kind "ics23" as the observer produced it: `key` in either form
 * (see `parseStoreKey`), `value` hex ("" for absence), `proof` hex ProofOps, `appHash` the app hash
 * of the header at height + 1. True when the proof holds.
 */
export const verifyStoreProof = (appHash: string, key: string, value: string, proof: string): boolean => {
  const parsed = parseStoreKey(key)
  if (parsed === undefined || !/^(?:[0-9a-fA-F]{2})*$/.test(value) || !/^(?:[0-9a-fA-F]{2})*$/.test(proof)) return false
  const ops = decodeProofOps(Uint8Array.from(Buffer.from(proof, "hex")))
  return ops !== undefined && checkStoreProof(appHash, parsed, Uint8Array.from(Buffer.from(value, "hex")), ops) === undefined
}

/**
 * Decode the SDK's answer to `/store/<name>/subspace`: `kv.Pairs` (pairs = 1; Pair: key = 1,
 * value = 2), or undefined when malformed. Unproven: discovery only.
 */
export const decodeKvPairs = (bytes: Uint8Array): Array<{ readonly key: Uint8Array; readonly value: Uint8Array }> | undefined => {
  const outer = readFields(bytes)
  if (outer === undefined || outer.some((f) => f.tag !== 1)) return undefined
  const pairs: Array<{ readonly key: Uint8Array; readonly value: Uint8Array }> = []
  for (const { value } of outer) {
    const inner = readFields(value)
    if (inner === undefined) return undefined
    const get = (tag: number) => inner.find((f) => f.tag === tag)?.value ?? new Uint8Array(0)
    pairs.push({ key: Uint8Array.from(get(1)), value: Uint8Array.from(get(2)) })
  }
  return pairs
}
