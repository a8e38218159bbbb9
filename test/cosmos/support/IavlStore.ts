/**
 * A Cosmos SDK-shaped application store for the in-process CometBFT server: IAVL-hashed
 * key/value stores under a multistore, with the ICS23 proofs the SDK returns from
 * `abci_query` with `prove=true`.
 *
 * - Each store is a binary tree hashed exactly as IAVL hashes its nodes (cosmos/iavl
 *   `writeHashBytes`): leaves `sha256(varint 0, varint 1, varint version, len|key,
 *   len|sha256(value))`, inner nodes `sha256(varint height, varint size, varint version,
 *   len|left, len|right)` with zigzag varints. The tree is rebuilt balanced at each version
 *   (IAVL keeps it balanced by rotations instead; the hashing and proofs are the same
 *   shape, which is what a verifier sees). Proofs are IAVL's ICS23 conversion
 *   (`convertExistenceProof` / `convertInnerOps`): an ExistenceProof, or a
 *   NonExistenceProof with the neighbouring keys' existence proofs.
 * - The multistore root (the app hash) is the SDK's `CommitInfo.Hash()`: a Tendermint simple
 *   Merkle tree over `uvarint len|name, uvarint 32|sha256(storeRoot)` leaves in name order,
 *   proven with the ICS23 Tendermint spec (`ics23:simple`).
 *
 * The proofs are protobuf CommitmentProofs encoded by @confio/ics23; they are checked by the
 * library (iavlSpec / tendermintSpec) in the tests, never by code written here.
 */
import { ics23 } from "@confio/ics23"
import { sha256 } from "@noble/hashes/sha2.js"

const concat = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const uvarint = (value: number | bigint): Uint8Array => {
  const out: Array<number> = []
  let v = BigInt(value)
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return Uint8Array.from(out)
}

// Go's binary.PutVarint: zigzag, then unsigned varint.
const varint = (value: number | bigint): Uint8Array => {
  const v = BigInt(value)
  return uvarint(v >= 0n ? v << 1n : (-v << 1n) - 1n)
}

const lengthPrefixed = (bytes: Uint8Array): Uint8Array => concat([uvarint(bytes.length), bytes])

const compare = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] ?? 0) - (b[i] ?? 0)
  return a.length - b.length
}

type Node =
  | { readonly leaf: true; readonly key: Uint8Array; readonly value: Uint8Array; readonly hash: Uint8Array; readonly version: number }
  | {
    readonly leaf: false
    readonly height: number
    readonly size: number
    readonly version: number
    readonly left: Node
    readonly right: Node
    readonly hash: Uint8Array
  }

const heightOf = (n: Node): number => (n.leaf ? 0 : n.height)
const sizeOf = (n: Node): number => (n.leaf ? 1 : n.size)

const leafPrefix = (version: number): Uint8Array => concat([varint(0), varint(1), varint(version)])

const build = (entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>, version: number): Node => {
  if (entries.length === 1) {
    const [key, value] = entries[0] ?? [new Uint8Array(0), new Uint8Array(0)]
    const hash = sha256(concat([leafPrefix(version), lengthPrefixed(key), lengthPrefixed(sha256(value))]))
    return { leaf: true, key, value, hash, version }
  }
  const mid = Math.ceil(entries.length / 2)
  const left = build(entries.slice(0, mid), version)
  const right = build(entries.slice(mid), version)
  const height = Math.max(heightOf(left), heightOf(right)) + 1
  const size = sizeOf(left) + sizeOf(right)
  const hash = sha256(concat([varint(height), varint(size), varint(version), lengthPrefixed(left.hash), lengthPrefixed(right.hash)]))
  return { leaf: false, height, size, version, left, right, hash }
}

const IAVL_LEAF = { hash: ics23.HashOp.SHA256, prehashKey: ics23.HashOp.NO_HASH, prehashValue: ics23.HashOp.SHA256, length: ics23.LengthOp.VAR_PROTO }

/** One IAVL store at one version: its root hash and proofs of its keys. */
export class IavlTree {
  readonly root: Node | undefined
  readonly sorted: ReadonlyArray<readonly [Uint8Array, Uint8Array]>

  constructor(entries: ReadonlyMap<string, Uint8Array>, version: number) {
    this.sorted = [...entries].map(([k, v]) => [Uint8Array.from(Buffer.from(k, "hex")), v] as const).sort((a, b) => compare(a[0], b[0]))
    this.root = this.sorted.length === 0 ? undefined : build(this.sorted, version)
  }

  /** The root hash (SHA-256 of nothing for an empty tree, as IAVL's). */
  get hash(): Uint8Array {
    return this.root?.hash ?? sha256(new Uint8Array(0))
  }

  /** The value at `key`, if present. */
  get(key: Uint8Array): Uint8Array | undefined {
    return this.sorted.find(([k]) => compare(k, key) === 0)?.[1]
  }

  /** IAVL's ICS23 existence proof of a present key. */
  existence(key: Uint8Array): ics23.IExistenceProof {
    const path: Array<ics23.IInnerOp> = []
    let node = this.root
    const ancestors: Array<{ readonly node: Node & { leaf: false }; readonly wentLeft: boolean }> = []
    while (node !== undefined && !node.leaf) {
      // IAVL inner nodes route by the smallest key of the right subtree.
      const goLeft = compare(key, firstKey(node.right)) < 0
      ancestors.push({ node, wentLeft: goLeft })
      node = goLeft ? node.left : node.right
    }
    if (node === undefined || compare(node.key, key) !== 0) throw new Error("key not present")
    for (let i = ancestors.length - 1; i >= 0; i--) {
      const a = ancestors[i]
      if (a === undefined) continue
      const head = concat([varint(a.node.height), varint(a.node.size), varint(a.node.version)])
      path.push(
        a.wentLeft
          ? { hash: ics23.HashOp.SHA256, prefix: concat([head, Uint8Array.of(0x20)]), suffix: concat([Uint8Array.of(0x20), a.node.right.hash]) }
          : { hash: ics23.HashOp.SHA256, prefix: concat([head, Uint8Array.of(0x20), a.node.left.hash, Uint8Array.of(0x20)]), suffix: new Uint8Array(0) }
      )
    }
    return { key: node.key, value: node.value, leaf: { ...IAVL_LEAF, prefix: leafPrefix(node.version) }, path }
  }

  /** IAVL's ICS23 non-existence proof of an absent key: its neighbours' existence proofs. */
  nonExistence(key: Uint8Array): ics23.INonExistenceProof {
    if (this.get(key) !== undefined) throw new Error("key is present")
    const left = [...this.sorted].reverse().find(([k]) => compare(k, key) < 0)
    const right = this.sorted.find(([k]) => compare(k, key) > 0)
    return {
      key,
      ...(left === undefined ? {} : { left: this.existence(left[0]) }),
      ...(right === undefined ? {} : { right: this.existence(right[0]) })
    }
  }
}

const firstKey = (node: Node): Uint8Array => (node.leaf ? node.key : firstKey(node.left))

// --- the multistore: a Tendermint simple Merkle map of store name -> store root ---

const leafHash = (leaf: Uint8Array): Uint8Array => sha256(concat([Uint8Array.of(0), leaf]))
const innerHash = (left: Uint8Array, right: Uint8Array): Uint8Array => sha256(concat([Uint8Array.of(1), left, right]))

// CometBFT's split point: the largest power of two strictly less than n.
const splitPoint = (n: number): number => {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

const merkleRoot = (leaves: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (leaves.length === 0) return sha256(new Uint8Array(0))
  if (leaves.length === 1) return leaves[0] ?? new Uint8Array(0)
  const k = splitPoint(leaves.length)
  return innerHash(merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)))
}

// Inner ops from the leaf at `index` up to the root.
const merklePath = (leaves: ReadonlyArray<Uint8Array>, index: number): Array<ics23.IInnerOp> => {
  if (leaves.length <= 1) return []
  const k = splitPoint(leaves.length)
  if (index < k) {
    return [...merklePath(leaves.slice(0, k), index), { hash: ics23.HashOp.SHA256, prefix: Uint8Array.of(1), suffix: merkleRoot(leaves.slice(k)) }]
  }
  return [...merklePath(leaves.slice(k), index - k), { hash: ics23.HashOp.SHA256, prefix: concat([Uint8Array.of(1), merkleRoot(leaves.slice(0, k))]), suffix: new Uint8Array(0) }]
}

const utf8 = new TextEncoder()

/** A proof op of an abci_query response, as the SDK returns it. */
export interface ProofOp {
  readonly type: "ics23:iavl" | "ics23:simple"
  readonly key: Uint8Array
  readonly data: Uint8Array
}

/** The result of an abci_query on `store/<name>/key` with prove. */
export interface StoreQueryResult {
  readonly value: Uint8Array | undefined
  readonly ops: ReadonlyArray<ProofOp>
}

/** All stores at one version, and the app hash they commit to. */
export class MultiStore {
  readonly stores: ReadonlyMap<string, IavlTree>
  readonly names: ReadonlyArray<string>
  private readonly leaves: ReadonlyArray<Uint8Array>

  constructor(contents: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>, version: number) {
    this.names = [...contents.keys()].sort()
    this.stores = new Map(this.names.map((name) => [name, new IavlTree(contents.get(name) ?? new Map(), version)]))
    this.leaves = this.names.map((name) =>
      leafHash(concat([lengthPrefixed(utf8.encode(name)), lengthPrefixed(sha256(this.stores.get(name)?.hash ?? new Uint8Array(0)))]))
    )
  }

  /** The app hash: CommitInfo.Hash(). */
  get appHash(): Uint8Array {
    return merkleRoot(this.leaves)
  }

  /** The `ics23:simple` proof that store `name` has its root under the app hash. */
  storeProof(name: string): ics23.IExistenceProof {
    const index = this.names.indexOf(name)
    const tree = this.stores.get(name)
    if (index < 0 || tree === undefined) throw new Error(`no store ${name}`)
    return {
      key: utf8.encode(name),
      value: tree.hash,
      leaf: { hash: ics23.HashOp.SHA256, prehashKey: ics23.HashOp.NO_HASH, prehashValue: ics23.HashOp.SHA256, length: ics23.LengthOp.VAR_PROTO, prefix: Uint8Array.of(0) },
      path: merklePath(this.leaves, index)
    }
  }

  /** What the SDK answers to abci_query `/store/<name>/key` with prove: the value and both proof ops. */
  query(name: string, key: Uint8Array): StoreQueryResult | undefined {
    const tree = this.stores.get(name)
    if (tree === undefined) return undefined
    const value = tree.get(key)
    const storeLevel: ics23.ICommitmentProof = value === undefined ? { nonexist: tree.nonExistence(key) } : { exist: tree.existence(key) }
    return {
      value,
      ops: [
        { type: "ics23:iavl", key, data: ics23.CommitmentProof.encode(storeLevel).finish() },
        { type: "ics23:simple", key: utf8.encode(name), data: ics23.CommitmentProof.encode({ exist: this.storeProof(name) }).finish() }
      ]
    }
  }
}
