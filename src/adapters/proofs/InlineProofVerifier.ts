/**
 * ProofVerifier in process: runs `verifyProof` on the calling thread. For tests and tools
 * only; a service must use WorkerProofVerifier, or each verification blocks its event loop.
 */
import { Effect, Layer } from "effect"
import { verifyProof } from "../../domain/proofs/ProofSystems.ts"
import { ProofVerifier } from "../../ports/ProofVerifier.ts"

/** The in-process verifier. */
export const layer: Layer.Layer<ProofVerifier> = Layer.succeed(ProofVerifier, {
  verify: (proofSystem, vk, proof, publicSignals) => Effect.sync(() => verifyProof(proofSystem, vk, proof, publicSignals))
})
