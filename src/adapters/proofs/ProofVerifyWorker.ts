/**
 * The worker of WorkerProofVerifier: runs `verifyProof` off the event loop and answers the
 * verdict with its failure encoded as plain data (a class instance does not survive the
 * message), which the adapter decodes back into the typed error. The worker's key cache
 * (Groth16's prepared keys) lives as long as the worker.
 */
import { parentPort } from "node:worker_threads"
import { Result, Schema } from "effect"
import { ProofVerificationError, type VerifiedProof, verifyProof } from "../../domain/proofs/ProofSystems.ts"

/** One verification to run. */
export interface ProofVerifyRequest {
  readonly id: number
  readonly proofSystem: string
  readonly vk: unknown
  readonly proof: unknown
  readonly publicSignals: unknown
}

/** A verdict as the worker posts it. */
export type EncodedVerdict =
  | { readonly valid: true; readonly verified: VerifiedProof }
  | { readonly valid: false; readonly error: typeof ProofVerificationError.Encoded }

const encodeError = Schema.encodeSync(ProofVerificationError)

const port = parentPort
if (port === null) throw new Error("ProofVerifyWorker runs only as a worker thread")

port.on("message", (r: ProofVerifyRequest) => {
  try {
    const verdict = verifyProof(r.proofSystem, r.vk, r.proof, r.publicSignals)
    const ok: EncodedVerdict = Result.isSuccess(verdict) ? { valid: true, verified: verdict.success } : { valid: false, error: encodeError(verdict.failure) }
    port.postMessage({ id: r.id, ok })
  } catch (e) {
    port.postMessage({ id: r.id, error: e instanceof Error ? e.message : String(e) })
  }
})
