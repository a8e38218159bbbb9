/**
 * A Cosmos SDK store proof checked in the domain, with no library: what `abci_query` on
 * `/store/<name>/key` with `prove=true` returns (the `tendermint.crypto.ProofOps` of an
 * `ics23:iavl` CommitmentProof of the key in the store and an `ics23:simple` one of the
 * store's root in the multistore), against an app hash. The same verdicts as the adapter's
 * StoreProof.checkStoreProof (@confio/ics23 plus Go's rules, src/adapters/cosmos), which the
 * tests compare it with; here so that a fold can check a proof itself (the effects fold checks
 * every IBC leg this way, src/domain/effects/IbcPacketFold.ts).
 *
 * Scope: the proofs the SDK's IAVL and multistore produce, i.e. a plain ExistenceProof or
 * NonExistenceProof per op (no batch or compressed proofs), SHA-256 hashing and VAR_PROTO or
 * NO_PREFIX lengths, which is all the IAVL and Tendermint specs allow. Anything else fails.
 * Spec conformance, neighbour order and adjacency are src/domain/verify/Ics23.ts (ported from
 * cosmos/ics23 Go); this file decodes the protobuf and does the hashing.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { concatBytes, hexToBytes } from "@noble/hashes/utils.js"
import {
  type DoHash,
  type ExistenceProof,
  HashOp,
  IAVL_SPEC,
  type InnerOp,
  type LeafOp,
  LengthOp,
  type NonExistenceProof,
  type ProofSpec,
  TENDERMINT_SPEC,
  checkExistenceProofAgainstSpec,
  checkNonExistence
} from "./Ics23.ts"

type Field = { readonly tag: number; readonly wire: 0 | 2; readonly int: bigint; readonly bytes: Uint8Array }

const EMPTY = new Uint8Array(0)

// Protobuf fields of a message: varints (wire 0) and length-delimited (wire 2) only, as these messages use.
const fields = (data: Uint8Array): Array<Field> | undefined => {
  const out: Array<Field> = []
  let at = 0
  const varint = (): bigint | undefined => {
    let v = 0n
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (at >= data.length) return undefined
      const b = data[at++] as number
      v |= BigInt(b & 0x7f) << shift
      if (b < 0x80) return v
    }
    return undefined
  }
  while (at < data.length) {
    const key = varint()
    if (key === undefined) return undefined
    const wire = Number(key & 7n)
    const tag = Number(key >> 3n)
    if (wire === 0) {
      const int = varint()
      if (int === undefined) return undefined
      out.push({ tag, wire, int, bytes: EMPTY })
    } else if (wire === 2) {
      const length = varint()
      if (length === undefined || BigInt(at) + length > BigInt(data.length)) return undefined
      out.push({ tag, wire, int: 0n, bytes: data.subarray(at, at + Number(length)) })
      at += Number(length)
    } else {
      return undefined
    }
  }
  return out
}

// The last occurrence wins, as protobuf merges scalars.
const last = (fs: ReadonlyArray<Field>, tag: number, wire: 0 | 2): Field | undefined => fs.filter((f) => f.tag === tag && f.wire === wire).at(-1)
const intOf = (fs: ReadonlyArray<Field>, tag: number): number => Number(last(fs, tag, 0)?.int ?? 0n)
const bytesOf = (fs: ReadonlyArray<Field>, tag: number): Uint8Array => last(fs, tag, 2)?.bytes ?? EMPTY

const decodeLeaf = (data: Uint8Array): LeafOp | undefined => {
  const fs = fields(data)
  return fs === undefined ? undefined : { hash: intOf(fs, 1), prehashKey: intOf(fs, 2), prehashValue: intOf(fs, 3), length: intOf(fs, 4), prefix: bytesOf(fs, 5) }
}

const decodeInner = (data: Uint8Array): InnerOp | undefined => {
  const fs = fields(data)
  return fs === undefined ? undefined : { hash: intOf(fs, 1), prefix: bytesOf(fs, 2), suffix: bytesOf(fs, 3) }
}

const decodeExistence = (data: Uint8Array): ExistenceProof | undefined => {
  const fs = fields(data)
  if (fs === undefined) return undefined
  const leafField = last(fs, 3, 2)
  const leaf = leafField === undefined ? undefined : decodeLeaf(leafField.bytes)
  if (leafField !== undefined && leaf === undefined) return undefined
  const path: Array<InnerOp> = []
  for (const f of fs) {
    if (f.tag !== 4 || f.wire !== 2) continue
    const inner = decodeInner(f.bytes)
    if (inner === undefined) return undefined
    path.push(inner)
  }
  return { key: bytesOf(fs, 1), value: bytesOf(fs, 2), leaf: leaf ?? null, path }
}

type CommitmentProof = { readonly exist: ExistenceProof } | { readonly nonexist: NonExistenceProof }

const decodeCommitmentProof = (data: Uint8Array): CommitmentProof | undefined => {
  const fs = fields(data)
  if (fs === undefined || fs.length !== 1) return undefined
  const [only] = fs
  if (only === undefined || only.wire !== 2) return undefined
  if (only.tag === 1) {
    const exist = decodeExistence(only.bytes)
    return exist === undefined ? undefined : { exist }
  }
  if (only.tag !== 2) return undefined
  const nf = fields(only.bytes)
  if (nf === undefined) return undefined
  const side = (tag: number): ExistenceProof | null | undefined => {
    const f = last(nf, tag, 2)
    return f === undefined ? null : decodeExistence(f.bytes)
  }
  const left = side(2)
  const right = side(3)
  if (left === undefined || right === undefined) return undefined
  return { nonexist: { key: bytesOf(nf, 1), left, right } }
}

const doHash: DoHash = (op, data) => {
  if (op === HashOp.SHA256) return sha256(data)
  throw new Error(`unsupported hash op ${op}`)
}

const prehash = (op: number, data: Uint8Array): Uint8Array => (op === HashOp.NO_HASH ? data : doHash(op, data))

/** The protobuf varint (unsigned LEB128) bytes of a non-negative integer. */
export const uvarint = (n: number): Array<number> => {
  const out: Array<number> = []
  let v = n
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  out.push(v)
  return out
}

const withLength = (op: number, data: Uint8Array): Uint8Array => {
  if (op === LengthOp.NO_PREFIX) return data
  if (op === LengthOp.VAR_PROTO) return Uint8Array.from([...uvarint(data.length), ...data])
  throw new Error(`unsupported length op ${op}`)
}

const concat = concatBytes

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

// Go's ExistenceProof.Calculate with its rule that no intermediate hash may exceed a child (children >= 32 bytes).
const rootOf = (proof: ExistenceProof, spec: ProofSpec): Uint8Array | undefined => {
  const leaf = proof.leaf
  const key = proof.key ?? EMPTY
  const value = proof.value ?? EMPTY
  if (leaf == null || key.length === 0 || value.length === 0) return undefined
  let result = doHash(leaf.hash ?? 0, concat(
    leaf.prefix ?? EMPTY,
    withLength(leaf.length ?? 0, prehash(leaf.prehashKey ?? 0, key)),
    withLength(leaf.length ?? 0, prehash(leaf.prehashValue ?? 0, value))
  ))
  const childSize = spec.innerSpec?.childSize ?? 0
  for (const step of proof.path ?? []) {
    result = doHash(step.hash ?? 0, concat(step.prefix ?? EMPTY, result, step.suffix ?? EMPTY))
    if (result.length > childSize && childSize >= 32) return undefined
  }
  return result
}

const existenceHolds = (proof: ExistenceProof, spec: ProofSpec, root: Uint8Array): boolean => {
  if (checkExistenceProofAgainstSpec(proof, spec) !== undefined) return false
  const calculated = rootOf(proof, spec)
  return calculated !== undefined && bytesEqual(calculated, root)
}

// The root a proof commits to (Go's CommitmentProof.Calculate): the existence proof's, or a neighbour's.
const calculate = (proof: CommitmentProof, spec: ProofSpec): Uint8Array | undefined => {
  if ("exist" in proof) return rootOf(proof.exist, spec)
  const side = proof.nonexist.left ?? proof.nonexist.right
  return side == null ? undefined : rootOf(side, spec)
}

const verifyMembership = (proof: CommitmentProof, spec: ProofSpec, root: Uint8Array, key: Uint8Array, value: Uint8Array): boolean =>
  "exist" in proof && bytesEqual(proof.exist.key ?? EMPTY, key) && bytesEqual(proof.exist.value ?? EMPTY, value) && existenceHolds(proof.exist, spec, root)

const verifyNonMembership = (proof: CommitmentProof, spec: ProofSpec, root: Uint8Array, key: Uint8Array): boolean => {
  if (!("nonexist" in proof)) return false
  // Stricter than Go, which reads the key only from its caller: a proof names the key it is for.
  if (!bytesEqual(proof.nonexist.key ?? EMPTY, key)) return false
  const { left, right } = proof.nonexist
  if (left != null && !existenceHolds(left, spec, root)) return false
  if (right != null && !existenceHolds(right, spec, root)) return false
  return checkNonExistence(proof.nonexist, spec, key, doHash) === undefined
}

const decodeOps = (data: Uint8Array): Array<{ readonly type: string; readonly key: Uint8Array; readonly data: Uint8Array }> | undefined => {
  const outer = fields(data)
  if (outer === undefined || outer.some((f) => f.tag !== 1 || f.wire !== 2)) return undefined
  const ops: Array<{ readonly type: string; readonly key: Uint8Array; readonly data: Uint8Array }> = []
  for (const f of outer) {
    const inner = fields(f.bytes)
    if (inner === undefined) return undefined
    ops.push({ type: new TextDecoder().decode(bytesOf(inner, 1)), key: bytesOf(inner, 2), data: bytesOf(inner, 3) })
  }
  return ops
}

const HEX = /^(?:[0-9a-f]{2})*$/u

/**
 * What a proof says, as this decoder reads it (protobuf's rules, as Go's: unknown fields and
 * fields of another wire type are skipped, the last of a repeated scalar wins): the ops with
 * their commitment proofs. Two encodings that decode alike prove the same thing.
 */
export const decodeCosmosStoreProof = (proofOps: string) => {
  if (!HEX.test(proofOps)) return undefined
  const ops = decodeOps(hexToBytes(proofOps))
  return ops?.map((op) => ({ type: op.type, key: op.key, proof: decodeCommitmentProof(op.data) }))
}

/**
 * Check a Cosmos store proof: `stateKey` as StateProof carries it (hex of UTF-8 `<store>/`
 * then the key bytes), `value` hex ("" for a proven absence), `proofOps` the hex
 * `tendermint.crypto.ProofOps`, `appHash` hex (the app hash of the header at height + 1).
 * Undefined when the proof holds; otherwise why not. Never throws.
 */
export const checkCosmosStoreProof = (appHash: string, stateKey: string, value: string, proofOps: string): string | undefined => {
  try {
    if (![appHash, stateKey, value, proofOps].every((h) => HEX.test(h))) return "not lowercase hex"
    const keyBytes = hexToBytes(stateKey)
    const slash = keyBytes.indexOf(0x2f)
    if (slash <= 0 || slash === keyBytes.length - 1) return "the state key is not <store>/<key>"
    const storeName = keyBytes.subarray(0, slash)
    const key = keyBytes.subarray(slash + 1)
    const ops = decodeOps(hexToBytes(proofOps))
    if (ops === undefined) return "the proof ops cannot be decoded"
    const [storeOp, rootOp] = ops
    if (ops.length !== 2 || storeOp === undefined || rootOp === undefined) return `expected 2 proof ops, got ${ops.length}`
    if (storeOp.type !== "ics23:iavl" || rootOp.type !== "ics23:simple") return `unexpected proof op types ${storeOp.type}, ${rootOp.type}`
    if (!bytesEqual(storeOp.key, key)) return "the store proof is for another key"
    if (!bytesEqual(rootOp.key, storeName)) return "the multistore proof is for another store"
    const storeProof = decodeCommitmentProof(storeOp.data)
    const rootProof = decodeCommitmentProof(rootOp.data)
    if (storeProof === undefined || rootProof === undefined) return "a commitment proof cannot be decoded (only plain existence and non-existence proofs are read)"
    const storeRoot = calculate(storeProof, IAVL_SPEC)
    if (storeRoot === undefined) return "the store proof does not hash to a root"
    const proven = value.length > 0
      ? verifyMembership(storeProof, IAVL_SPEC, storeRoot, key, hexToBytes(value))
      : verifyNonMembership(storeProof, IAVL_SPEC, storeRoot, key)
    if (!proven) return value.length > 0 ? "the IAVL proof does not prove the value" : "the IAVL proof does not prove the absence"
    if (!verifyMembership(rootProof, TENDERMINT_SPEC, hexToBytes(appHash), storeName, storeRoot)) {
      return "the multistore proof does not prove the store root under the app hash"
    }
    return undefined
  } catch (e) {
    return `the proof cannot be checked: ${e instanceof Error ? e.message : String(e)}`
  }
}
