/**
 * An immutable in-memory Merkle-Patricia trie (Ethereum Yellow Paper, appendix D): insert and
 * delete give a new trie sharing unchanged nodes, and any version yields its root hash and
 * EIP-1186-style proofs. It exists to check the proof verifier (conformance roots, proofs for
 * property tests, benchmarks), not to hold state: there is no storage and no pruning.
 *
 * Keys are used as given; a secure trie (Ethereum state, storage) is this trie over
 * keccak256(key). Each node's encoding is computed once and kept, which is sound because
 * nodes never change after they are built.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { emptyTrieRoot } from "./MerklePatricia.ts"
import { encodeRlpBytes, encodeRlpList } from "./Rlp.ts"

// Paths are arrays of nibbles (values 0..15). They are shared between nodes and never mutated.
type Nibbles = Uint8Array

interface Leaf {
  readonly kind: "leaf"
  readonly path: Nibbles
  readonly value: Uint8Array
  encoded?: Uint8Array
}
interface Extension {
  readonly kind: "extension"
  readonly path: Nibbles
  readonly child: TrieNode
  encoded?: Uint8Array
}
interface Branch {
  readonly kind: "branch"
  readonly children: ReadonlyArray<TrieNode | undefined>
  readonly value: Uint8Array | undefined
  encoded?: Uint8Array
}
type TrieNode = Leaf | Extension | Branch

const EMPTY_STRING = Uint8Array.of(0x80)
const NO_NIBBLES: Nibbles = new Uint8Array(0)

/** An immutable Merkle-Patricia trie over byte-string keys and non-empty byte-string values. */
export class MerklePatriciaTrie {
  /** The trie with no entries. */
  static readonly empty: MerklePatriciaTrie = new MerklePatriciaTrie(undefined)

  readonly #root: TrieNode | undefined

  private constructor(root: TrieNode | undefined) {
    this.#root = root
  }

  /** A trie with `key` set to `value`; an empty value deletes, as in Ethereum. */
  set(key: Uint8Array, value: Uint8Array): MerklePatriciaTrie {
    if (value.length === 0) return this.delete(key)
    return new MerklePatriciaTrie(insert(this.#root, toNibbles(key), value.slice()))
  }

  /** A trie without `key` (the same trie when it was absent). */
  delete(key: Uint8Array): MerklePatriciaTrie {
    const root = remove(this.#root, toNibbles(key))
    return root === this.#root ? this : new MerklePatriciaTrie(root)
  }

  /** The value under `key`, if any. */
  get(key: Uint8Array): Uint8Array | undefined {
    const nibbles = toNibbles(key)
    let node = this.#root
    let pos = 0
    while (node !== undefined) {
      if (node.kind === "leaf") return equalNibbles(node.path, nibbles, pos, nibbles.length) ? node.value.slice() : undefined
      if (node.kind === "extension") {
        if (!equalNibbles(node.path, nibbles, pos, pos + node.path.length)) return undefined
        pos += node.path.length
        node = node.child
      } else {
        if (pos === nibbles.length) return node.value?.slice()
        node = node.children[nibbles[pos] as number]
        pos++
      }
    }
    return undefined
  }

  /** The root hash: keccak256 of the root node's RLP (always hashed, however short). */
  rootHash(): Uint8Array {
    return this.#root === undefined ? emptyTrieRoot() : keccak_256(encode(this.#root))
  }

  /**
   * The proof for `key`, present or not: the RLP of every hashed node on its path, root first
   * (embedded nodes travel inside their parent), as eth_getProof returns them.
   */
  prove(key: Uint8Array): Array<Uint8Array> {
    let node = this.#root
    if (node === undefined) return []
    const nibbles = toNibbles(key)
    const proof = [encode(node)]
    let pos = 0
    for (;;) {
      let next: TrieNode | undefined
      if (node.kind === "leaf") return proof
      if (node.kind === "extension") {
        if (!equalNibbles(node.path, nibbles, pos, pos + node.path.length)) return proof
        pos += node.path.length
        next = node.child
      } else {
        if (pos === nibbles.length) return proof
        next = node.children[nibbles[pos] as number]
        pos++
      }
      if (next === undefined) return proof
      const encoded = encode(next)
      if (encoded.length >= 32) proof.push(encoded)
      node = next
    }
  }
}

const toNibbles = (key: Uint8Array): Nibbles => {
  const out = new Uint8Array(key.length * 2)
  for (let i = 0; i < key.length; i++) {
    const b = key[i] as number
    out[2 * i] = b >> 4
    out[2 * i + 1] = b & 0x0f
  }
  return out
}

// True when `path` equals `key[from .. to]`.
const equalNibbles = (path: Nibbles, key: Nibbles, from: number, to: number): boolean => {
  if (to > key.length || to - from !== path.length) return false
  for (let i = 0; i < path.length; i++) if (path[i] !== key[from + i]) return false
  return true
}

const commonPrefix = (a: Nibbles, b: Nibbles): number => {
  const n = Math.min(a.length, b.length)
  let i = 0
  while (i < n && a[i] === b[i]) i++
  return i
}

const concatNibbles = (...parts: ReadonlyArray<Nibbles>): Nibbles => {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

const leaf = (path: Nibbles, value: Uint8Array): Leaf => ({ kind: "leaf", path, value })
const extension = (path: Nibbles, child: TrieNode): TrieNode => (path.length === 0 ? child : { kind: "extension", path, child })
const emptyChildren = (): Array<TrieNode | undefined> => new Array<TrieNode | undefined>(16).fill(undefined)

// A branch holding `node` (whose path begins at its first nibble) and `value` under `rest`.
const split = (nodePath: Nibbles, place: (b: Array<TrieNode | undefined>, rest: Nibbles) => Uint8Array | undefined, rest: Nibbles, value: Uint8Array): TrieNode => {
  const shared = commonPrefix(nodePath, rest)
  const children = emptyChildren()
  let branchValue = place(children, nodePath.subarray(shared))
  if (shared === rest.length) branchValue = value
  else children[rest[shared] as number] = leaf(rest.subarray(shared + 1), value)
  return extension(nodePath.subarray(0, shared), { kind: "branch", children, value: branchValue })
}

const insert = (node: TrieNode | undefined, rest: Nibbles, value: Uint8Array): TrieNode => {
  if (node === undefined) return leaf(rest, value)
  switch (node.kind) {
    case "leaf": {
      if (equalNibbles(node.path, rest, 0, rest.length)) return leaf(node.path, value)
      return split(node.path, (children, tail) => {
        // The old leaf goes below the branch, or into its value slot when its path ends here.
        if (tail.length === 0) return node.value
        children[tail[0] as number] = leaf(tail.subarray(1), node.value)
        return undefined
      }, rest, value)
    }
    case "extension": {
      const shared = commonPrefix(node.path, rest)
      if (shared === node.path.length) return extension(node.path, insert(node.child, rest.subarray(shared), value))
      return split(node.path, (children, tail) => {
        children[tail[0] as number] = extension(tail.subarray(1), node.child)
        return undefined
      }, rest, value)
    }
    case "branch": {
      if (rest.length === 0) return { kind: "branch", children: node.children, value }
      const children = node.children.slice()
      const i = rest[0] as number
      children[i] = insert(children[i], rest.subarray(1), value)
      return { kind: "branch", children, value: node.value }
    }
  }
}

const remove = (node: TrieNode | undefined, rest: Nibbles): TrieNode | undefined => {
  if (node === undefined) return undefined
  switch (node.kind) {
    case "leaf":
      return equalNibbles(node.path, rest, 0, rest.length) ? undefined : node
    case "extension": {
      if (!equalNibbles(node.path, rest, 0, node.path.length)) return node
      const child = remove(node.child, rest.subarray(node.path.length))
      if (child === node.child) return node
      return child === undefined ? undefined : prefixed(node.path, child)
    }
    case "branch": {
      let children = node.children
      let value = node.value
      if (rest.length === 0) {
        if (value === undefined) return node
        value = undefined
      } else {
        const i = rest[0] as number
        const child = remove(children[i], rest.subarray(1))
        if (child === children[i]) return node
        const copy = children.slice()
        copy[i] = child
        children = copy
      }
      return collapse(children, value)
    }
  }
}

// A branch left with a single entry is no longer canonical: it becomes that entry, one nibble longer.
const collapse = (children: ReadonlyArray<TrieNode | undefined>, value: Uint8Array | undefined): TrieNode | undefined => {
  let only = -1
  let count = value === undefined ? 0 : 1
  for (let i = 0; i < 16; i++) {
    if (children[i] !== undefined) {
      count++
      only = i
    }
  }
  if (count >= 2) return { kind: "branch", children, value }
  if (value !== undefined) return leaf(NO_NIBBLES, value)
  const child = children[only]
  return child === undefined ? undefined : prefixed(Uint8Array.of(only), child)
}

// `node` moved up under a longer path: merge paths so no extension points at a leaf or extension.
const prefixed = (path: Nibbles, node: TrieNode): TrieNode => {
  switch (node.kind) {
    case "leaf":
      return leaf(concatNibbles(path, node.path), node.value)
    case "extension":
      return { kind: "extension", path: concatNibbles(path, node.path), child: node.child }
    case "branch":
      return { kind: "extension", path, child: node }
  }
}

const hexPrefix = (path: Nibbles, isLeaf: boolean): Uint8Array => {
  const odd = path.length % 2
  const out = new Uint8Array((path.length >> 1) + 1)
  out[0] = ((isLeaf ? 2 : 0) + odd) << 4
  let i = 0
  if (odd === 1) out[0] |= path[i++] as number
  for (let o = 1; i < path.length; i += 2, o++) out[o] = ((path[i] as number) << 4) | (path[i + 1] as number)
  return out
}

// How a parent refers to a child: the child's RLP when under 32 bytes, its hash otherwise.
const reference = (node: TrieNode): Uint8Array => {
  const encoded = encode(node)
  return encoded.length < 32 ? encoded : encodeRlpBytes(keccak_256(encoded))
}

const encode = (node: TrieNode): Uint8Array => {
  if (node.encoded !== undefined) return node.encoded
  let encoded: Uint8Array
  switch (node.kind) {
    case "leaf":
      encoded = encodeRlpList([encodeRlpBytes(hexPrefix(node.path, true)), encodeRlpBytes(node.value)])
      break
    case "extension":
      encoded = encodeRlpList([encodeRlpBytes(hexPrefix(node.path, false)), reference(node.child)])
      break
    case "branch": {
      const items: Array<Uint8Array> = []
      for (let i = 0; i < 16; i++) {
        const child = node.children[i]
        items.push(child === undefined ? EMPTY_STRING : reference(child))
      }
      items.push(node.value === undefined ? EMPTY_STRING : encodeRlpBytes(node.value))
      encoded = encodeRlpList(items)
    }
  }
  node.encoded = encoded
  return encoded
}
