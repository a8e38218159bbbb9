/**
 * CometBFT's simple Merkle tree (crypto/merkle, RFC 6962 style): leaf = SHA-256(0x00 || item),
 * inner = SHA-256(0x01 || left || right), split at the largest power of two below the item
 * count, and the root of no items is SHA-256 of nothing.
 */
import { sha256 } from "@noble/hashes/sha2.js"

const leafHash = (item: Uint8Array): Uint8Array => {
  const buf = new Uint8Array(item.length + 1)
  buf.set(item, 1)
  return sha256(buf)
}

// Children are always SHA-256 digests, so one 65-byte scratch buffer serves every inner node.
const scratch = new Uint8Array(65)
const innerHash = (left: Uint8Array, right: Uint8Array): Uint8Array => {
  scratch[0] = 1
  scratch.set(left, 1)
  scratch.set(right, 33)
  return sha256(scratch)
}

// The largest power of two strictly below n (n >= 2).
const splitPoint = (n: number): number => {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

const rootOf = (items: ReadonlyArray<Uint8Array>, from: number, to: number): Uint8Array => {
  const n = to - from
  if (n === 1) return leafHash(items[from] ?? new Uint8Array(0))
  const k = splitPoint(n)
  return innerHash(rootOf(items, from, from + k), rootOf(items, from + k, to))
}

/** The Merkle root of the items (`merkle.HashFromByteSlices`). */
export const merkleRoot = (items: ReadonlyArray<Uint8Array>): Uint8Array =>
  items.length === 0 ? sha256(new Uint8Array(0)) : rootOf(items, 0, items.length)
