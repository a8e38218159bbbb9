/**
 * ICS23 membership and non-membership proofs on @confio/ics23, with cosmos/ics23 Go's
 * newer rules on top (src/domain/verify/Ics23.ts).
 *
 * @confio/ics23 0.6.8 is the only ICS23 verifier on npm, and it predates several Go fixes:
 * its SMT spec pre-hashes no keys, it compares non-existence neighbours by raw key and
 * knows no empty children (so SMT non-existence proofs cannot verify), and its spec checks
 * miss the IAVL/Tendermint op-shape rules, the inner-suffix rule and the default depth
 * bound. Here a proof must pass both: the library decodes, decompresses and hashes
 * (`applyLeaf`/`applyInner`) and its `verifyMembership`/`verifyNonMembership` must agree
 * wherever its rules apply, while the domain module enforces the Go rules. The SMT spec is
 * Go's (keys pre-hashed with SHA-256, compared by hash).
 *
 * Inputs are hex (with or without 0x); the proof is a protobuf CommitmentProof. Every
 * answer is a boolean: a malformed input, an undecodable proof or a library exception is
 * `false`, never a throw.
 */
import { ics23, verifyMembership as libraryVerifyMembership, verifyNonMembership as libraryVerifyNonMembership } from "@confio/ics23"
import { decompress } from "@confio/ics23/build/compress.js"
import { applyInner, applyLeaf, doHash } from "@confio/ics23/build/ops.js"
import {
  type DoHash,
  type ExistenceProof,
  IAVL_SPEC,
  type NonExistenceProof,
  type ProofSpec,
  SMT_SPEC,
  TENDERMINT_SPEC,
  checkExistenceProofAgainstSpec,
  checkNonExistence,
  compareBytes,
  keyForComparison
} from "../../domain/verify/Ics23.ts"

/** The specs known by name. */
export type Ics23SpecName = "iavl" | "tendermint" | "smt"

/** Go's specs (IavlSpec, TendermintSpec, SmtSpec). */
export const ICS23_SPECS: Readonly<Record<Ics23SpecName, ProofSpec>> = { iavl: IAVL_SPEC, tendermint: TENDERMINT_SPEC, smt: SMT_SPEC }

const hexToBytes = (hex: string): Uint8Array | undefined => {
  const digits = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex
  return /^(?:[0-9a-fA-F]{2})*$/.test(digits) ? Uint8Array.from(Buffer.from(digits, "hex")) : undefined
}

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

const specOf = (spec: Ics23SpecName | ProofSpec): ProofSpec => (typeof spec === "string" ? ICS23_SPECS[spec] : spec)

// The library's spec type has mutable arrays and no prehashKeyBeforeComparison.
const toLibrarySpec = (spec: ProofSpec): ics23.IProofSpec => ({
  leafSpec: spec.leafSpec ?? null,
  innerSpec: spec.innerSpec == null ? null : { ...spec.innerSpec, childOrder: [...(spec.innerSpec.childOrder ?? [])] },
  maxDepth: spec.maxDepth ?? 0,
  minDepth: spec.minDepth ?? 0
})

const libraryDoHash: DoHash = (hashOp, data) => doHash(hashOp, data)

const decodeProof = (hex: string): ics23.ICommitmentProof | undefined => {
  const bytes = hexToBytes(hex)
  if (bytes === undefined) return undefined
  try {
    return decompress(ics23.CommitmentProof.decode(bytes))
  } catch {
    return undefined
  }
}

/**
 * The root an existence proof commits to, step by step with the library's ops and Go's
 * rule that no intermediate hash may be longer than a child (when children are >= 32 bytes).
 */
const existenceRoot = (proof: ExistenceProof & ics23.IExistenceProof, spec: ProofSpec): Uint8Array | undefined => {
  const leaf = proof.leaf
  if (leaf == null) return undefined
  let result = applyLeaf(leaf, proof.key ?? new Uint8Array(0), proof.value ?? new Uint8Array(0))
  const childSize = spec.innerSpec?.childSize ?? 0
  for (const step of proof.path ?? []) {
    result = applyInner(step, result)
    if (result.length > childSize && childSize >= 32) return undefined
  }
  return result
}

// Go's ExistenceProof.Verify: conforms to the spec, proves this key and value, and hashes to the root.
const verifyExistence = (proof: ics23.IExistenceProof, spec: ProofSpec, root: Uint8Array, key: Uint8Array, value: Uint8Array): boolean => {
  if (checkExistenceProofAgainstSpec(proof, spec) !== undefined) return false
  if (!bytesEqual(key, proof.key ?? new Uint8Array(0)) || !bytesEqual(value, proof.value ?? new Uint8Array(0))) return false
  const calculated = existenceRoot(proof, spec)
  return calculated !== undefined && bytesEqual(calculated, root)
}

const existenceFor = (proof: ics23.ICommitmentProof, key: Uint8Array): ics23.IExistenceProof | undefined => {
  const matches = (p: ics23.IExistenceProof | null | undefined): p is ics23.IExistenceProof => p != null && bytesEqual(p.key ?? new Uint8Array(0), key)
  if (matches(proof.exist)) return proof.exist
  return (proof.batch?.entries ?? []).map((e) => e.exist).find(matches) ?? undefined
}

const nonExistenceFor = (proof: ics23.ICommitmentProof, spec: ProofSpec, key: Uint8Array): ics23.INonExistenceProof | undefined => {
  const k = keyForComparison(spec, key, libraryDoHash)
  const brackets = (p: ics23.INonExistenceProof | null | undefined): p is ics23.INonExistenceProof =>
    p != null &&
    (p.left == null || compareBytes(keyForComparison(spec, p.left.key ?? new Uint8Array(0), libraryDoHash), k) < 0) &&
    (p.right == null || compareBytes(keyForComparison(spec, p.right.key ?? new Uint8Array(0), libraryDoHash), k) > 0)
  if (brackets(proof.nonexist)) return proof.nonexist
  return (proof.batch?.entries ?? []).map((e) => e.nonexist).find(brackets) ?? undefined
}

/** Does `proof` (hex CommitmentProof) prove `key` = `value` under `root` for `spec`? */
export const verifyIcs23Membership = (spec: Ics23SpecName | ProofSpec, root: string, proof: string, key: string, value: string): boolean => {
  const s = specOf(spec)
  const rootBytes = hexToBytes(root)
  const keyBytes = hexToBytes(key)
  const valueBytes = hexToBytes(value)
  const decoded = decodeProof(proof)
  if (rootBytes === undefined || keyBytes === undefined || valueBytes === undefined || decoded === undefined) return false
  try {
    const exist = existenceFor(decoded, keyBytes)
    return (
      exist !== undefined &&
      verifyExistence(exist, s, rootBytes, keyBytes, valueBytes) &&
      libraryVerifyMembership(decoded, toLibrarySpec(s), rootBytes, keyBytes, valueBytes)
    )
  } catch {
    return false
  }
}

/** Does `proof` (hex CommitmentProof) prove that `key` is absent under `root` for `spec`? */
export const verifyIcs23NonMembership = (spec: Ics23SpecName | ProofSpec, root: string, proof: string, key: string): boolean => {
  const s = specOf(spec)
  const rootBytes = hexToBytes(root)
  const keyBytes = hexToBytes(key)
  const decoded = decodeProof(proof)
  if (rootBytes === undefined || keyBytes === undefined || decoded === undefined) return false
  try {
    const nonexist: (NonExistenceProof & ics23.INonExistenceProof) | undefined = nonExistenceFor(decoded, s, keyBytes)
    if (nonexist === undefined) return false
    const { left, right } = nonexist
    if (left != null && !verifyExistence(left, s, rootBytes, left.key ?? new Uint8Array(0), left.value ?? new Uint8Array(0))) return false
    if (right != null && !verifyExistence(right, s, rootBytes, right.key ?? new Uint8Array(0), right.value ?? new Uint8Array(0))) return false
    if (checkNonExistence(nonexist, s, keyBytes, libraryDoHash) !== undefined) return false
    // The library's own check agrees wherever it knows the rules (raw-key order, no empty children).
    const libraryApplies = s.prehashKeyBeforeComparison !== true && (s.innerSpec?.emptyChild ?? new Uint8Array(0)).length === 0
    return !libraryApplies || libraryVerifyNonMembership(decoded, toLibrarySpec(s), rootBytes, keyBytes)
  } catch {
    return false
  }
}

/**
 * The root a proof commits to (hex, lowercase), as Go's `CommitmentProof.Calculate`: the
 * existence proof's, a non-existence proof's left (else right) neighbour's, or a batch's
 * first entry's. Undefined when the proof cannot be decoded or hashed.
 */
export const calculateIcs23Root = (proof: string): string | undefined => {
  const decoded = decodeProof(proof)
  if (decoded === undefined) return undefined
  const first = decoded.batch?.entries?.[0]
  const exist = decoded.exist ?? decoded.nonexist?.left ?? decoded.nonexist?.right ?? first?.exist ?? first?.nonexist?.left ?? first?.nonexist?.right
  if (exist == null || exist.leaf == null) return undefined
  try {
    let result = applyLeaf(exist.leaf, exist.key ?? new Uint8Array(0), exist.value ?? new Uint8Array(0))
    for (const step of exist.path ?? []) result = applyInner(step, result)
    return Buffer.from(result).toString("hex")
  } catch {
    return undefined
  }
}
