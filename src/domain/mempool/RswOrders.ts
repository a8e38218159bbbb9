/**
 * RSW time-locked orders on the wire: a sender's modulus registration (N and its modulus
 * proof), a puzzle as a `TimelockedOrder` of scheme "rsw", and the instance's solutions.
 * Conversions both ways between the messages' hex/base64 fields and src/domain/timelock/Rsw.ts's
 * bigints and bytes; what a client needs to build the messages, and what the projection reads.
 */
import { numberToBytesBE } from "@noble/curves/utils.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Result } from "effect"
import type { MessageId } from "../Primitives.ts"
import { decodeBase64, encodeBase64 } from "../timelock/Base64.ts"
import type { ModulusProof, RswPuzzle, RswSolution } from "../timelock/Rsw.ts"
import type { Bytes32, RswLock, RswModulusRegistration, RswSolved } from "./MempoolMessages.ts"

type Registration = typeof RswModulusRegistration.Type
type Lock = typeof RswLock.Type
type Solved = typeof RswSolved.Type

const byteLength = (n: bigint): number => Math.ceil(n.toString(16).length / 2)
const big = (hex: string): bigint => BigInt(`0x${hex}`)
const hexOf = (v: bigint): string => v.toString(16)

/** The registration message's payload for a modulus and its proof. */
export const registrationOf = (n: bigint, proof: ModulusProof): Registration => {
  const len = byteLength(n)
  const roots = new Uint8Array(len * (proof.x.length + proof.z.length))
  ;[...proof.x, ...proof.z].forEach((v, i) => roots.set(numberToBytesBE(v, len), i * len))
  return { n: hexOf(n), w: hexOf(proof.w), ab: proof.ab.join(""), roots: encodeBase64(roots, true) }
}

/** N and the proof a registration carries, or why its encoding is wrong (not whether the proof holds). */
export const modulusOfRegistration = (r: Registration): Result.Result<{ readonly n: bigint; readonly proof: ModulusProof }, string> => {
  const n = big(r.n)
  const len = byteLength(n)
  const rounds = r.ab.length
  const roots = decodeBase64(r.roots, true)
  if (roots === undefined) return Result.fail("roots are not canonical base64")
  if (roots.length !== 2 * rounds * len) return Result.fail(`roots must be ${2 * rounds} numbers of ${len} bytes (one x and one z per challenge)`)
  const at = (i: number) => big(bytesToHex(roots.subarray(i * len, (i + 1) * len)))
  const x: Array<bigint> = []
  const z: Array<bigint> = []
  for (let i = 0; i < rounds; i++) {
    x.push(at(i))
    z.push(at(rounds + i))
  }
  return Result.succeed({ n, proof: { w: big(r.w), x, ab: [...r.ab].map(Number), z } })
}

/** The TimelockedOrder payload of a puzzle over the sender's registered modulus. */
export const lockOf = (puzzle: RswPuzzle, modulusId: MessageId): Lock => ({
  scheme: "rsw",
  modulusId,
  t: puzzle.t,
  seed: bytesToHex(puzzle.seed) as Bytes32,
  ciphertext: bytesToHex(puzzle.ciphertext)
})

/** The puzzle a lock describes over modulus `n` (hex). */
export const puzzleOfLock = (n: string, lock: { readonly t: number; readonly seed: string; readonly ciphertext: string }): RswPuzzle => ({
  n: big(n),
  t: lock.t,
  seed: hexToBytes(lock.seed),
  ciphertext: hexToBytes(lock.ciphertext)
})

/** A solution as the instance publishes it. */
export const solvedOf = (orderId: MessageId, s: RswSolution): Solved => ({ orderId, y: hexOf(s.y), proof: hexOf(s.proof) })

/** The solution a published result claims. */
export const solutionOf = (s: Pick<Solved, "y" | "proof">): RswSolution => ({ y: big(s.y), proof: big(s.proof) })
