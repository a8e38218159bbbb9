/**
 * Verifying zero-knowledge proofs (#15): a Groth16 check is tens of milliseconds of CPU, so
 * never on the thread that serves requests and folds the log. The instance has each
 * reassembled proof verified through this port and publishes the verdict; projections only
 * fold verdicts. The worker adapter runs the checks on a worker thread with a bounded queue;
 * the inline adapter runs them in process (tests and tools).
 */
import { Context, Data, type Effect, type Result } from "effect"
import type { ProofVerificationError, VerifiedProof } from "../domain/proofs/ProofSystems.ts"

/** Too many verifications are waiting already: this one is refused now rather than queued without bound. */
export class ProofVerifierBusy extends Data.TaggedError("ProofVerifierBusy")<{
  readonly waiting: number
}> {}

/** The verifying machinery failed (a worker died); the proof itself may be fine. */
export class ProofVerifierError extends Data.TaggedError("ProofVerifierError")<{
  readonly reason: string
  readonly cause?: unknown
}> {}

/** The proof verifier port. */
export interface ProofVerifierService {
  /**
   * Verify a proof of `proofSystem` (e.g. "groth16") against its verification key and public
   * signals, all JSON values as the system writes them: the verdict of `verifyProof` (what the
   * proof establishes, or why it fails), or busy / a failure of the machinery.
   */
  readonly verify: (
    proofSystem: string,
    vk: unknown,
    proof: unknown,
    publicSignals: unknown
  ) => Effect.Effect<Result.Result<VerifiedProof, ProofVerificationError>, ProofVerifierBusy | ProofVerifierError>
}

/** The proof verifier service tag. */
export class ProofVerifier extends Context.Service<ProofVerifier, ProofVerifierService>()("causeway/ProofVerifier") {}
