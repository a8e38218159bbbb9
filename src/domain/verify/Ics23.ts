/**
 * The ICS23 checks that @confio/ics23 0.6.8 (the npm package, last released in 2022) lacks
 * and cosmos/ics23 Go (v0.11+, the implementation IBC runs) has, as pure functions over
 * the protobuf message shapes. src/adapters/cosmos/Ics23Verifier.ts runs them next to the library,
 * which decodes proofs and does the hashing.
 *
 * Ported from go/proof.go and go/ops.go, error texts included (the unit vectors compare them):
 * - spec conformance of leaf and inner ops: IAVL ops must encode height >= layer, size and
 *   version >= 0 and nothing else (`validateIavlOps`), Tendermint inner ops must be 0x01 ||
 *   children (`validateTendermintOps`), inner suffixes must be whole children, specs must
 *   have MaxPrefixLength < MinPrefixLength + ChildSize, and paths are at most 128 deep when
 *   the spec sets no bound;
 * - non-existence with empty children (sparse Merkle trees): a step whose left (right)
 *   siblings are all `emptyChild` still counts as left-most (right-most);
 * - keys compared after pre-hashing when the spec says so (`prehashKeyBeforeComparison`,
 *   the SMT spec), since such trees are ordered by key hash.
 *
 * Check functions return the Go error text, or undefined when the input conforms.
 */

/** HashOp numbers (cosmos.ics23.v1). */
export const HashOp = { NO_HASH: 0, SHA256: 1, SHA512: 2, KECCAK256: 3, RIPEMD160: 4, BITCOIN: 5, SHA512_256: 6, BLAKE2B_512: 7, BLAKE2S_256: 8, BLAKE3: 9 } as const

/** LengthOp numbers (cosmos.ics23.v1). */
export const LengthOp = { NO_PREFIX: 0, VAR_PROTO: 1, VAR_RLP: 2, FIXED32_BIG: 3, FIXED32_LITTLE: 4, FIXED64_BIG: 5, FIXED64_LITTLE: 6, REQUIRE_32_BYTES: 7, REQUIRE_64_BYTES: 8 } as const

const HASH_OP_NAMES = ["NO_HASH", "SHA256", "SHA512", "KECCAK256", "RIPEMD160", "BITCOIN", "SHA512_256", "BLAKE2B_512", "BLAKE2S_256", "BLAKE3"]

/** A LeafOp as protobuf decoders produce it (unset fields absent or null, meaning zero / empty). */
export interface LeafOp {
  readonly hash?: number | null
  readonly prehashKey?: number | null
  readonly prehashValue?: number | null
  readonly length?: number | null
  readonly prefix?: Uint8Array | null
}

/** An InnerOp. */
export interface InnerOp {
  readonly hash?: number | null
  readonly prefix?: Uint8Array | null
  readonly suffix?: Uint8Array | null
}

/** An InnerSpec. */
export interface InnerSpec {
  readonly childOrder?: ReadonlyArray<number> | null
  readonly childSize?: number | null
  readonly minPrefixLength?: number | null
  readonly maxPrefixLength?: number | null
  readonly emptyChild?: Uint8Array | null
  readonly hash?: number | null
}

/** A ProofSpec, with Go's `PrehashKeyBeforeComparison` (absent from the 0.6.8 protobuf definitions). */
export interface ProofSpec {
  readonly leafSpec?: LeafOp | null
  readonly innerSpec?: InnerSpec | null
  readonly maxDepth?: number | null
  readonly minDepth?: number | null
  readonly prehashKeyBeforeComparison?: boolean | null
}

/** An ExistenceProof. */
export interface ExistenceProof {
  readonly key?: Uint8Array | null
  readonly value?: Uint8Array | null
  readonly leaf?: LeafOp | null
  readonly path?: ReadonlyArray<InnerOp> | null
}

/** A NonExistenceProof. */
export interface NonExistenceProof {
  readonly key?: Uint8Array | null
  readonly left?: ExistenceProof | null
  readonly right?: ExistenceProof | null
}

const EMPTY = new Uint8Array(0)
const num = (n: number | null | undefined): number => n ?? 0
const bytes = (b: Uint8Array | null | undefined): Uint8Array => b ?? EMPTY

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i])

const hasPrefix = (s: Uint8Array, prefix: Uint8Array): boolean => s.length >= prefix.length && prefix.every((x, i) => x === s[i])

/** Lexicographic byte order, as Go's bytes.Compare. */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    if (x !== y) return x < y ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

const upperHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0").toUpperCase()).join("")

/** Go's IavlSpec. */
export const IAVL_SPEC: ProofSpec = {
  leafSpec: { prefix: Uint8Array.of(0), prehashKey: HashOp.NO_HASH, hash: HashOp.SHA256, prehashValue: HashOp.SHA256, length: LengthOp.VAR_PROTO },
  innerSpec: { childOrder: [0, 1], minPrefixLength: 4, maxPrefixLength: 12, childSize: 33, hash: HashOp.SHA256 }
}

/** Go's TendermintSpec. */
export const TENDERMINT_SPEC: ProofSpec = {
  leafSpec: { prefix: Uint8Array.of(0), prehashKey: HashOp.NO_HASH, hash: HashOp.SHA256, prehashValue: HashOp.SHA256, length: LengthOp.VAR_PROTO },
  innerSpec: { childOrder: [0, 1], minPrefixLength: 1, maxPrefixLength: 1, childSize: 32, hash: HashOp.SHA256 }
}

/** Go's SmtSpec (celestiaorg/smt): keys pre-hashed, compared by hash, 32 zero bytes for an empty child. */
export const SMT_SPEC: ProofSpec = {
  leafSpec: { hash: HashOp.SHA256, prehashKey: HashOp.SHA256, prehashValue: HashOp.SHA256, length: LengthOp.NO_PREFIX, prefix: Uint8Array.of(0) },
  innerSpec: { childOrder: [0, 1], childSize: 32, minPrefixLength: 1, maxPrefixLength: 1, emptyChild: new Uint8Array(32), hash: HashOp.SHA256 },
  maxDepth: 256,
  prehashKeyBeforeComparison: true
}

/** Go's `ProofSpec.SpecEquals`: over-declares equality (prefixes and child order values are not compared). */
export const specEquals = (p: ProofSpec, q: ProofSpec): boolean => {
  const pl = p.leafSpec
  const ql = q.leafSpec
  if ((pl == null) !== (ql == null)) return false
  if (pl != null && ql != null) {
    const same =
      num(pl.hash) === num(ql.hash) &&
      num(pl.prehashKey) === num(ql.prehashKey) &&
      num(pl.prehashValue) === num(ql.prehashValue) &&
      num(pl.length) === num(ql.length)
    if (!same) return false
  }
  const pi = p.innerSpec
  const qi = q.innerSpec
  if ((pi == null) !== (qi == null)) return false
  if (pi != null && qi != null) {
    return (
      num(pi.hash) === num(qi.hash) &&
      num(pi.minPrefixLength) === num(qi.minPrefixLength) &&
      num(pi.maxPrefixLength) === num(qi.maxPrefixLength) &&
      num(pi.childSize) === num(qi.childSize) &&
      (pi.childOrder ?? []).length === (qi.childOrder ?? []).length
    )
  }
  return true
}

// Go's binary.ReadVarint: a zigzag-encoded signed varint of at most 10 bytes.
const readVarint = (data: Uint8Array, offset: number): { readonly value: bigint; readonly next: number } | string => {
  let x = 0n
  let shift = 0n
  for (let i = 0; i < 10; i++) {
    if (offset + i >= data.length) return i === 0 ? "EOF" : "unexpected EOF"
    const b = data[offset + i] ?? 0
    if (i === 9 && b > 1) return "varint overflows a 64-bit integer"
    x |= BigInt(b & 0x7f) << shift
    if (b < 0x80) {
      const signed = x & 1n ? -(x >> 1n) - 1n : x >> 1n
      return { value: signed, next: offset + i + 1 }
    }
    shift += 7n
  }
  return "varint overflows a 64-bit integer"
}

/** Go's validateIavlOps: an IAVL op's prefix is height, size, version (signed varints), then 1 or 34 bytes for an inner op. */
export const validateIavlOps = (op: { readonly prefix?: Uint8Array | null; readonly hash?: number | null }, layer: number): string | undefined => {
  const prefix = bytes(op.prefix)
  const height = readVarint(prefix, 0)
  if (typeof height === "string") return `failed to read IAVL height varint: ${height}`
  if (height.value < 0n || height.value < BigInt(layer)) {
    return `IAVL height (${height.value}) must be non-negative and greater than or equal to the layer number (${layer})`
  }
  const size = readVarint(prefix, height.next)
  if (typeof size === "string") return `failed to read IAVL size varint: ${size}`
  if (size.value < 0n) return "IAVL size must be non-negative"
  const version = readVarint(prefix, size.next)
  if (typeof version === "string") return `failed to read IAVL version varint: ${version}`
  if (version.value < 0n) return "IAVL version must be non-negative"
  const remaining = prefix.length - version.next
  if (layer === 0) {
    if (remaining !== 0) return `expected remaining prefix length to be 0, got: ${remaining}`
  } else {
    if (remaining !== 1 && remaining !== 34) return `remainder of prefix must be of length 1 or 34, got: ${remaining}`
    if (num(op.hash) !== HashOp.SHA256) return "IAVL hash op must be SHA256"
  }
  return undefined
}

const goBytes = (b: Uint8Array): string => `[${Array.from(b).join(" ")}]`

/** Go's validateTendermintOps: a Tendermint inner op is 0x01 || left || right. */
export const validateTendermintOps = (op: InnerOp): string | undefined => {
  const prefix = bytes(op.prefix)
  if (prefix.length === 0) return "inner op prefix must not be empty"
  if (bytes(op.suffix).length > 0) {
    if (!bytesEqual(prefix, Uint8Array.of(1))) return `expected inner op prefix: ${goBytes(Uint8Array.of(1))}, got: ${goBytes(prefix)}`
    return undefined
  }
  if (prefix[0] !== 1) return `expected inner op prefix to begin with: ${goBytes(Uint8Array.of(1))}, got: ${goBytes(prefix.subarray(0, 1))}`
  return undefined
}

/** Go's LeafOp.CheckAgainstSpec. */
export const checkLeafAgainstSpec = (op: LeafOp, spec: ProofSpec | null | undefined): string | undefined => {
  if (spec == null) return "op and spec must be non-nil"
  const lspec = spec.leafSpec
  if (lspec == null) return "spec.LeafSpec must be non-nil"
  if (specEquals(spec, IAVL_SPEC)) {
    const err = validateIavlOps(op, 0)
    if (err !== undefined) return err
  }
  if (num(op.hash) !== num(lspec.hash)) return `unexpected HashOp: ${num(op.hash)}`
  if (num(op.prehashKey) !== num(lspec.prehashKey)) return `unexpected PrehashKey: ${num(op.prehashKey)}`
  if (num(op.prehashValue) !== num(lspec.prehashValue)) return `unexpected PrehashValue: ${num(op.prehashValue)}`
  if (num(op.length) !== num(lspec.length)) return `unexpected LengthOp: ${num(op.length)}`
  if (!hasPrefix(bytes(op.prefix), bytes(lspec.prefix))) return `leaf Prefix doesn't start with ${upperHex(bytes(lspec.prefix))}`
  return undefined
}

/** Go's InnerOp.CheckAgainstSpec at depth `layer` (1 = just above the leaf). */
export const checkInnerAgainstSpec = (op: InnerOp, spec: ProofSpec | null | undefined, layer: number): string | undefined => {
  if (spec == null) return "op and spec must be both non-nil"
  const ispec = spec.innerSpec
  if (ispec == null) return "spec.InnerSpec must be non-nil"
  if (spec.leafSpec == null) return "spec.LeafSpec must be non-nil"
  if (num(op.hash) !== num(ispec.hash)) return `unexpected HashOp: ${num(op.hash)}`
  if (specEquals(spec, IAVL_SPEC)) {
    const err = validateIavlOps(op, layer)
    if (err !== undefined) return err
  }
  if (specEquals(spec, TENDERMINT_SPEC)) {
    const err = validateTendermintOps(op)
    if (err !== undefined) return err
  }
  const prefix = bytes(op.prefix)
  const leafPrefix = bytes(spec.leafSpec.prefix)
  if (hasPrefix(prefix, leafPrefix)) return `inner Prefix starts with ${upperHex(leafPrefix)}`
  if (prefix.length < num(ispec.minPrefixLength)) return `innerOp prefix too short (${prefix.length})`
  const childSize = num(ispec.childSize)
  const maxLeftChildBytes = ((ispec.childOrder ?? []).length - 1) * childSize
  if (prefix.length > num(ispec.maxPrefixLength) + maxLeftChildBytes) return `innerOp prefix too long (${prefix.length})`
  if (childSize <= 0) return "spec.InnerSpec.ChildSize must be >= 1"
  if (num(ispec.maxPrefixLength) >= num(ispec.minPrefixLength) + childSize) {
    return "spec.InnerSpec.MaxPrefixLength must be < spec.InnerSpec.MinPrefixLength + spec.InnerSpec.ChildSize"
  }
  if (bytes(op.suffix).length % childSize !== 0) return "InnerOp suffix malformed"
  return undefined
}

/** Go's ExistenceProof.CheckAgainstSpec (path depth 128 at most when the spec sets no MaxDepth). */
export const checkExistenceProofAgainstSpec = (proof: ExistenceProof, spec: ProofSpec): string | undefined => {
  const leaf = proof.leaf
  if (leaf == null) return "existence Proof needs defined LeafOp"
  const leafErr = checkLeafAgainstSpec(leaf, spec)
  if (leafErr !== undefined) return `leaf, ${leafErr}`
  const path = proof.path ?? []
  if (num(spec.minDepth) > 0 && path.length < num(spec.minDepth)) return `innerOps depth too short: ${path.length}`
  const maxDepth = num(spec.maxDepth) === 0 ? 128 : num(spec.maxDepth)
  if (path.length > maxDepth) return `innerOps depth too long: ${path.length}`
  for (const [i, inner] of path.entries()) {
    const err = checkInnerAgainstSpec(inner, spec, i + 1)
    if (err !== undefined) return `inner, ${err}`
  }
  return undefined
}

// Position of `branch` in the child order, or -1 (Go's getPosition errors).
const position = (order: ReadonlyArray<number>, branch: number): number =>
  branch < 0 || branch >= order.length ? -1 : order.indexOf(branch)

const padding = (spec: InnerSpec, branch: number): { readonly minPrefix: number; readonly maxPrefix: number; readonly suffix: number } | undefined => {
  const order = spec.childOrder ?? []
  const idx = position(order, branch)
  if (idx < 0) return undefined
  const prefix = idx * num(spec.childSize)
  return {
    minPrefix: prefix + num(spec.minPrefixLength),
    maxPrefix: prefix + num(spec.maxPrefixLength),
    suffix: (order.length - 1 - idx) * num(spec.childSize)
  }
}

const hasPadding = (op: InnerOp, pad: { readonly minPrefix: number; readonly maxPrefix: number; readonly suffix: number }): boolean => {
  const p = bytes(op.prefix).length
  return p >= pad.minPrefix && p <= pad.maxPrefix && bytes(op.suffix).length === pad.suffix
}

// Which child slot an inner op's padding puts the hashed child in, or -1.
const orderFromPadding = (spec: InnerSpec, op: InnerOp): number => {
  const n = (spec.childOrder ?? []).length
  for (let branch = 0; branch < n; branch++) {
    const pad = padding(spec, branch)
    if (pad !== undefined && hasPadding(op, pad)) return branch
  }
  return -1
}

/** Go's leftBranchesAreEmpty: every sibling left of the child is `emptyChild` (a placeholder on a left-most path). */
export const leftBranchesAreEmpty = (spec: InnerSpec, op: InnerOp): boolean => {
  const idx = orderFromPadding(spec, op)
  if (idx <= 0) return false
  const childSize = num(spec.childSize)
  const prefix = bytes(op.prefix)
  const actualPrefix = prefix.length - idx * childSize
  if (actualPrefix < 0) return false
  const empty = bytes(spec.emptyChild)
  for (let i = 0; i < idx; i++) {
    const pos = position(spec.childOrder ?? [], i)
    if (pos < 0) return false
    const from = actualPrefix + pos * childSize
    if (!bytesEqual(empty, prefix.subarray(from, from + childSize))) return false
  }
  return true
}

/** Go's rightBranchesAreEmpty: every sibling right of the child is `emptyChild`. */
export const rightBranchesAreEmpty = (spec: InnerSpec, op: InnerOp): boolean => {
  const idx = orderFromPadding(spec, op)
  if (idx < 0) return false
  const rightBranches = (spec.childOrder ?? []).length - 1 - idx
  if (rightBranches === 0) return false
  const childSize = num(spec.childSize)
  const suffix = bytes(op.suffix)
  if (suffix.length !== rightBranches * childSize) return false
  const empty = bytes(spec.emptyChild)
  for (let i = 0; i < rightBranches; i++) {
    const pos = position(spec.childOrder ?? [], i)
    if (pos < 0) return false
    const from = pos * childSize
    if (!bytesEqual(empty, suffix.subarray(from, from + childSize))) return false
  }
  return true
}

/** Go's IsLeftMost: every step is the left-most child or has only empty children to its left. */
export const isLeftMost = (spec: InnerSpec, path: ReadonlyArray<InnerOp>): boolean => {
  const pad = padding(spec, 0)
  return pad !== undefined && path.every((step) => hasPadding(step, pad) || leftBranchesAreEmpty(spec, step))
}

/** Go's IsRightMost. */
export const isRightMost = (spec: InnerSpec, path: ReadonlyArray<InnerOp>): boolean => {
  const pad = padding(spec, (spec.childOrder ?? []).length - 1)
  return pad !== undefined && path.every((step) => hasPadding(step, pad) || rightBranchesAreEmpty(spec, step))
}

/** Go's IsLeftNeighbor: below their common ancestors, `left` ends right-most and `right` left-most, one slot apart. */
export const isLeftNeighbor = (spec: InnerSpec, left: ReadonlyArray<InnerOp>, right: ReadonlyArray<InnerOp>): boolean => {
  let l = left.length - 1
  let r = right.length - 1
  const same = (a: InnerOp, b: InnerOp): boolean => bytesEqual(bytes(a.prefix), bytes(b.prefix)) && bytesEqual(bytes(a.suffix), bytes(b.suffix))
  // Go panics when one path runs out while skipping the common tail; that is simply not a neighbour.
  while (l >= 0 && r >= 0) {
    const topLeft = left[l]
    const topRight = right[r]
    if (topLeft === undefined || topRight === undefined) return false
    if (!same(topLeft, topRight)) {
      const li = orderFromPadding(spec, topLeft)
      const ri = orderFromPadding(spec, topRight)
      if (li < 0 || ri < 0 || ri !== li + 1) return false
      return isRightMost(spec, left.slice(0, l)) && isLeftMost(spec, right.slice(0, r))
    }
    l--
    r--
  }
  return false
}

/** How a spec's leaf pre-hashes keys: `hash(op, data)` with a HashOp number. */
export type DoHash = (hashOp: number, data: Uint8Array) => Uint8Array

/** The key as the tree orders it: pre-hashed when the spec says keys are compared after hashing. */
export const keyForComparison = (spec: ProofSpec, key: Uint8Array, doHash: DoHash): Uint8Array => {
  const op = num(spec.leafSpec?.prehashKey)
  return spec.prehashKeyBeforeComparison === true && op !== HashOp.NO_HASH ? doHash(op, key) : key
}

/**
 * Go's NonExistenceProof.Verify after the two existence proofs have been verified
 * (`existenceVerified`): the key lies strictly between the neighbours (in comparison order)
 * and the neighbours are adjacent leaves (or the edge of the tree, empty children allowed).
 */
export const checkNonExistence = (
  proof: NonExistenceProof,
  spec: ProofSpec,
  key: Uint8Array,
  doHash: DoHash
): string | undefined => {
  const left = proof.left
  const right = proof.right
  if (left == null && right == null) return "both left and right proofs missing"
  const k = keyForComparison(spec, key, doHash)
  if (right != null && compareBytes(k, keyForComparison(spec, bytes(right.key), doHash)) >= 0) return "key is not left of right proof"
  if (left != null && compareBytes(k, keyForComparison(spec, bytes(left.key), doHash)) <= 0) return "key is not right of left proof"
  const inner = spec.innerSpec
  if (inner == null) return "spec.InnerSpec must be non-nil"
  if (left == null) return isLeftMost(inner, right?.path ?? []) ? undefined : "left proof missing, right proof must be left-most"
  if (right == null) return isRightMost(inner, left.path ?? []) ? undefined : "right proof missing, left proof must be right-most"
  return isLeftNeighbor(inner, left.path ?? [], right.path ?? []) ? undefined : "right proof missing, left proof must be right-most"
}
