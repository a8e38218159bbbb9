/**
 * Merkle-Patricia trie proof verification (Ethereum Yellow Paper, appendix D; the proof form
 * of EIP-1186): walk the proof nodes from the root along the key's nibbles, checking each
 * node against the hash its parent commits to, and end with the value or with proven
 * absence.
 *
 * Nodes are read in place (no decoded copies) and only the items on the path are looked at
 * in depth: hashing dominates the cost and everything else stays out of its way.
 *
 * Strict about canonical form, because a verifier that accepts two shapes of one trie is a
 * verifier whose answers depend on who built the proof: every node must be canonical RLP;
 * children are a 32-byte hash or an embedded node under 32 bytes (and a hashed node is at
 * least 32 bytes); extensions have a non-empty path and lead to a branch; branches hold at
 * least two entries; leaf values are non-empty; the proof holds exactly the hashed nodes on
 * the path, in order, nothing more (geth's form), except that a byte-identical copy of an
 * embedded node may follow its parent (@ethereumjs/mpt's form): it proves nothing new, and
 * the copy is what the parent already commits to.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { Data, Option, Result } from "effect"
import { type RlpSpan, readRlpSpan } from "./Rlp.ts"

// keccak256(rlp("")). Kept private: a shared Uint8Array could be overwritten by any importer.
const EMPTY_TRIE_ROOT = Uint8Array.from([
  0x56, 0xe8, 0x1f, 0x17, 0x1b, 0xcc, 0x55, 0xa6, 0xff, 0x83, 0x45, 0xe6, 0x92, 0xc0, 0xf8, 0x6e,
  0x5b, 0x48, 0xe0, 0x1b, 0x99, 0x6c, 0xad, 0xc0, 0x01, 0x62, 0x2f, 0xb5, 0xe3, 0x63, 0xb4, 0x21
])

/** Root of the empty trie, keccak256(rlp("")), as a fresh array. */
export const emptyTrieRoot = (): Uint8Array => EMPTY_TRIE_ROOT.slice()

/** Proof node `index` does not hash to what the root or its parent commits to. */
export class ProofNodeHashMismatch extends Data.TaggedError("ProofNodeHashMismatch")<{
  readonly index: number
}> {}

/** Proof node `index` is not a canonical trie node. */
export class MalformedProofNode extends Data.TaggedError("MalformedProofNode")<{
  readonly index: number
  readonly reason: string
}> {}

/** The key's path continues to a hashed node the proof does not include (it has `index` nodes). */
export class ProofTruncated extends Data.TaggedError("ProofTruncated")<{
  readonly index: number
}> {}

/** The key's path ended, but the proof goes on: nodes from `index` on are not on the path. */
export class ProofPathMismatch extends Data.TaggedError("ProofPathMismatch")<{
  readonly index: number
}> {}

/** Why a Merkle-Patricia proof was rejected. */
export type MptProofError = ProofNodeHashMismatch | MalformedProofNode | ProofTruncated | ProofPathMismatch

const absent: Result.Result<Option.Option<Uint8Array>, never> = Result.succeed(Option.none())

/**
 * Verify a Merkle-Patricia proof: the value stored under `path` in the trie whose root hash is
 * `root` (`Some`), its proven absence (`None`), or why the proof is rejected. `path` is the
 * trie key itself: secure tries (Ethereum state and storage) take keccak256 of the key.
 * A root that is not 32 bytes matches no node. `hash` is keccak256; a caller checking many
 * proofs through the same node objects may pass it memoized (each node hashed once).
 */
export const verifyMerklePatriciaProof = (
  root: Uint8Array,
  path: Uint8Array,
  proof: ReadonlyArray<Uint8Array>,
  hash: (node: Uint8Array) => Uint8Array = keccak_256
): Result.Result<Option.Option<Uint8Array>, MptProofError> => {
  const first = proof[0]
  if (first === undefined) {
    return root.length === 32 && equalBytesAt(EMPTY_TRIE_ROOT, root, 0) ? absent : Result.fail(new ProofTruncated({ index: 0 }))
  }
  if (root.length !== 32 || !equalBytesAt(hash(first), root, 0)) {
    return Result.fail(new ProofNodeHashMismatch({ index: 0 }))
  }
  const rootSpan = readRlpSpan(first, 0, first.length)
  if (typeof rootSpan === "string") return malformed(0, rootSpan)
  if (rootSpan.end !== first.length) return malformed(0, "trailing bytes after the node")
  if (!rootSpan.isList) {
    // The one string a root may be: rlp(""), the empty trie.
    if (rootSpan.payloadStart !== rootSpan.end) return malformed(0, "node is a string, not a list")
    return proof.length === 1 ? absent : Result.fail(new ProofPathMismatch({ index: 1 }))
  }
  return walk(path, proof, first, rootSpan, hash)
}

const walk = (
  path: Uint8Array,
  proof: ReadonlyArray<Uint8Array>,
  firstNode: Uint8Array,
  rootSpan: RlpSpan,
  hash: (node: Uint8Array) => Uint8Array
): Result.Result<Option.Option<Uint8Array>, MptProofError> => {
  const keyNibbles = path.length * 2
  let pos = 0
  let index = 0
  let buf = firstNode
  let node = rootSpan
  let afterExtension = false
  // Each turn reads the node `node` (a list span in `buf`) and either finishes or moves to
  // its child on the path, which is embedded in `buf` or the next proof node.
  for (;;) {
    const one = readRlpSpan(buf, node.payloadStart, node.end)
    if (typeof one === "string") return malformed(index, one)
    const two = readRlpSpan(buf, one.end, node.end)
    if (typeof two === "string") return malformed(index, two)

    let child: RlpSpan
    let childStart: number
    if (two.end === node.end) {
      // Leaf or extension: [hex-prefix path, value | child].
      if (afterExtension) return malformed(index, "extension does not lead to a branch")
      if (one.isList) return malformed(index, "hex-prefix path is a list")
      if (one.payloadStart === one.end) return malformed(index, "empty hex-prefix path")
      const lead = buf[one.payloadStart] as number
      const flag = lead >> 4
      if (flag > 3) return malformed(index, "hex-prefix flag above 3")
      const odd = (flag & 1) === 1
      if (!odd && (lead & 0x0f) !== 0) return malformed(index, "hex-prefix padding nibble is not zero")
      const skip = odd ? 1 : 2
      const pathNibbles = (one.end - one.payloadStart) * 2 - skip
      let matches = pathNibbles <= keyNibbles - pos
      for (let j = 0; matches && j < pathNibbles; j++) {
        const at = j + skip
        const b = buf[one.payloadStart + (at >> 1)] as number
        if (((at & 1) === 1 ? b & 0x0f : b >> 4) !== nibbleAt(path, pos + j)) matches = false
      }
      if ((flag & 2) === 2) {
        if (two.isList) return malformed(index, "leaf value is a list")
        if (two.payloadStart === two.end) return malformed(index, "empty leaf value")
        if (!matches || pos + pathNibbles !== keyNibbles) return finish(proof, index, undefined)
        return finish(proof, index, buf.subarray(two.payloadStart, two.end))
      }
      if (pathNibbles === 0) return malformed(index, "extension with an empty path")
      if (!matches) return finish(proof, index, undefined)
      pos += pathNibbles
      child = two
      childStart = one.end
      afterExtension = true
    } else {
      // Branch: 16 children then the value slot; walk all 17 to check the shape, keep the one on the path.
      const target = pos === keyNibbles ? 16 : nibbleAt(path, pos)
      let item = one
      let itemStart = node.payloadStart
      let chosen = one
      let chosenStart = itemStart
      let entries = 0
      for (let i = 0; ; i++) {
        if (i < 16) {
          const size = item.isList ? item.end - itemStart : item.end - item.payloadStart
          if (item.isList ? size >= 32 : size !== 0 && size !== 32) {
            return malformed(index, "branch child is neither empty, a hash nor an embedded node under 32 bytes")
          }
          if (size !== 0) entries++
        } else {
          if (item.isList) return malformed(index, "branch value is a list")
          if (item.end !== item.payloadStart) entries++
        }
        if (i === target) {
          chosen = item
          chosenStart = itemStart
        }
        if (i === 16) break
        if (item.end === node.end) return malformed(index, "branch with fewer than 17 items")
        itemStart = item.end
        const next = readRlpSpan(buf, itemStart, node.end)
        if (typeof next === "string") return malformed(index, next)
        item = next
      }
      if (item.end !== node.end) return malformed(index, "node with more than 17 items")
      if (entries < 2) return malformed(index, "branch with fewer than two entries")
      if (target === 16) {
        return finish(proof, index, chosen.end === chosen.payloadStart ? undefined : buf.subarray(chosen.payloadStart, chosen.end))
      }
      if (!chosen.isList && chosen.end === chosen.payloadStart) return finish(proof, index, undefined)
      pos++
      child = chosen
      childStart = chosenStart
      afterExtension = false
    }

    // Follow the child reference.
    if (child.isList) {
      const size = child.end - childStart
      if (size >= 32) return malformed(index, "embedded node of 32 bytes or more")
      // @ethereumjs/mpt lists embedded nodes in its proofs too; a byte-identical copy adds nothing, so skip it.
      const copy = proof[index + 1]
      if (copy !== undefined && copy.length === size && equalRange(copy, buf, childStart)) index++
      node = child
      continue
    }
    if (child.end - child.payloadStart !== 32) return malformed(index, "child reference is not a 32-byte hash")
    const next = proof[index + 1]
    if (next === undefined) return Result.fail(new ProofTruncated({ index: index + 1 }))
    if (!equalBytesAt(hash(next), buf, child.payloadStart)) {
      return Result.fail(new ProofNodeHashMismatch({ index: index + 1 }))
    }
    index++
    if (next.length < 32) return malformed(index, "hashed node under 32 bytes (it must be embedded)")
    const span = readRlpSpan(next, 0, next.length)
    if (typeof span === "string") return malformed(index, span)
    if (span.end !== next.length) return malformed(index, "trailing bytes after the node")
    if (!span.isList) return malformed(index, "node is a string, not a list")
    buf = next
    node = span
  }
}

const nibbleAt = (path: Uint8Array, k: number): number => {
  const b = path[k >> 1] as number
  return (k & 1) === 1 ? b & 0x0f : b >> 4
}

// True when the 32 bytes of `hash` equal `bytes[offset .. offset + 32]`.
const equalBytesAt = (hash: Uint8Array, bytes: Uint8Array, offset: number): boolean => {
  if (bytes.length - offset < 32 || hash.length !== 32) return false
  for (let i = 0; i < 32; i++) if (hash[i] !== bytes[offset + i]) return false
  return true
}

const equalRange = (a: Uint8Array, bytes: Uint8Array, offset: number): boolean => {
  for (let i = 0; i < a.length; i++) if (a[i] !== bytes[offset + i]) return false
  return true
}

const finish = (
  proof: ReadonlyArray<Uint8Array>,
  index: number,
  value: Uint8Array | undefined
): Result.Result<Option.Option<Uint8Array>, MptProofError> => {
  if (index !== proof.length - 1) return Result.fail(new ProofPathMismatch({ index: index + 1 }))
  return value === undefined ? absent : Result.succeed(Option.some(value))
}

const malformed = (index: number, reason: string): Result.Result<never, MalformedProofNode> =>
  Result.fail(new MalformedProofNode({ index, reason }))
