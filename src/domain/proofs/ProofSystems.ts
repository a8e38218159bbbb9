/**
 * Proof systems by name, each with its verifier. A key, a proof and its public signals arrive
 * with the name of their system (an open string, so a second system is one more entry); only
 * "groth16" (over BN254, snarkjs shapes) is known now, any other name is refused as
 * UnsupportedProofSystem.
 */
import { Result } from "effect"
import { Groth16Error, UnsupportedProofSystem, type VerifiedGroth16, verifyGroth16 } from "./Groth16.ts"

/** What a verified proof establishes. */
export type VerifiedProof = VerifiedGroth16

/** Why a proof was not verified, whatever its system (a union that grows with the systems). */
export const ProofVerificationError = Groth16Error
export type ProofVerificationError = Groth16Error

/** A system's verifier: the key, the proof and the public signals as that system writes them. */
export type ProofSystemVerifier = (vk: unknown, proof: unknown, publicSignals: unknown) => Result.Result<VerifiedProof, ProofVerificationError>

/** The proof systems verified here, by the name a proof announces. */
export const proofSystems: ReadonlyMap<string, ProofSystemVerifier> = new Map([["groth16", verifyGroth16]])

/** Verify a proof of the named system: what it establishes, or a failure whose `_tag` names why. Never throws. */
export const verifyProof = (
  proofSystem: string,
  vk: unknown,
  proof: unknown,
  publicSignals: unknown
): Result.Result<VerifiedProof, ProofVerificationError> => {
  const verifier = proofSystems.get(proofSystem)
  if (verifier === undefined) return Result.fail(new UnsupportedProofSystem({ proofSystem }))
  return verifier(vk, proof, publicSignals)
}
