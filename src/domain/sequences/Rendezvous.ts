/**
 * Who should take a node of an execution sequence, by rendezvous (highest random weight)
 * hashing: every operator's weight for the node is SHA-256(operatorKey ‖ 0x00 ‖ sequenceId ‖
 * 0x00 ‖ nodeId), and the heaviest is suggested. Every reader computes the same answer from
 * the registered operators alone, so operators split the work without talking; when one
 * leaves, only the nodes it was suggested for move (to their second heaviest).
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"

const encoder = new TextEncoder()

/** An operator's weight for a node: SHA-256 over key, sequence and node, 0x00-separated, lowercase hex. */
export const nodeWeight = (operator: string, sequenceId: string, nodeId: string): string =>
  bytesToHex(sha256(encoder.encode(`${operator}\u0000${sequenceId}\u0000${nodeId}`)))

/** The operator suggested to take a node: the one of highest weight (ties: the smaller key); undefined with no operator. */
export const suggestedClaimant = (operators: ReadonlyArray<string>, sequenceId: string, nodeId: string): string | undefined => {
  let best: string | undefined
  let bestWeight = ""
  for (const o of operators) {
    const weight = nodeWeight(o, sequenceId, nodeId)
    if (best === undefined || weight > bestWeight || (weight === bestWeight && o < best)) {
      best = o
      bestWeight = weight
    }
  }
  return best
}
