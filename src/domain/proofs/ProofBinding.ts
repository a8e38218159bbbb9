/**
 * How a proof binds what it is attached to (issue #15, docs/proofs.md).
 *
 * A proof's public inputs are BN254 scalar-field elements (r ≈ 2^253.6), written as decimal
 * strings. A SHA-256 digest is 256 bits and does not fit one element, and reducing it mod r
 * would let two digests share an element; so each digest is split into two 128-bit limbs,
 * high half first, each a field element as it is (2^128 < r): the map from digests to limb
 * pairs is injective.
 *
 * - A register update binds when its proof's first four public inputs are
 *   `[prev_hi, prev_lo, new_hi, new_lo]`: the limbs of `previousStateHash` (a register's
 *   first update, with no previous state, uses `0, 0`) and of `newStateHash`.
 * - A node result binds when its proof's first two public inputs are the limbs of
 *   `resultDigest(sequenceId, nodeId, result)`: SHA-256 of the canonical JSON of
 *   `{nodeId, result, sequenceId}`.
 *
 * Fixed positions, not "somewhere in the list", so a circuit's other inputs can never be read
 * as the hashes.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { canonicalBytes } from "../CanonicalJson.ts"

/** How many public inputs of a proof the bindings read (the prefix the folds keep). */
export const BOUND_INPUTS = 4

/** A SHA-256 digest (64 lowercase hex digits) as two 128-bit limbs, high first, in canonical decimal. */
export const hashLimbs = (hex: string): readonly [string, string] => {
  if (!/^[0-9a-f]{64}$/u.test(hex)) throw new Error(`not a SHA-256 digest: ${hex}`)
  return [BigInt(`0x${hex.slice(0, 32)}`).toString(10), BigInt(`0x${hex.slice(32)}`).toString(10)]
}

/** The public inputs a register update's proof must open with: the previous state's limbs (0, 0 when none) and the new state's. */
export const registerBinding = (previousStateHash: string | null, newStateHash: string): ReadonlyArray<string> => [
  ...(previousStateHash === null ? ["0", "0"] : hashLimbs(previousStateHash)),
  ...hashLimbs(newStateHash)
]

/** The digest a node result's proof binds: SHA-256 of the canonical JSON of `{nodeId, result, sequenceId}`, lowercase hex. */
export const resultDigest = (sequenceId: string, nodeId: string, result: unknown): string =>
  bytesToHex(sha256(canonicalBytes({ sequenceId, nodeId, result })))

/** The public inputs a node result's proof must open with. */
export const resultBinding = (sequenceId: string, nodeId: string, result: unknown): ReadonlyArray<string> =>
  hashLimbs(resultDigest(sequenceId, nodeId, result))

/** Do the proof's public inputs open with `expected`? */
export const binds = (publicInputs: ReadonlyArray<string>, expected: ReadonlyArray<string>): boolean =>
  expected.length <= publicInputs.length && expected.every((x, i) => publicInputs[i] === x)
