/**
 * Checking RSW modulus proofs (the Paillier–Blum proof of `verifyModulus`): ~1 s of CPU per
 * proof at 2,048 bits, so never on the thread that serves requests and folds the log. The
 * instance checks each registration through this port and publishes its verdict
 * (RswModulusVerified); the projection only folds verdicts. The worker adapter runs each
 * check on its own thread; the inline adapter runs it in process (tests).
 */
import { Context, Data, type Effect, type Result } from "effect"
import type { InvalidModulus, ModulusProof } from "../domain/timelock/Rsw.ts"

/** The checking machinery failed (a worker died); the proof itself may be fine. */
export class RswModulusCheckerError extends Data.TaggedError("RswModulusCheckerError")<{
  readonly reason: string
  readonly cause?: unknown
}> {}

/** The modulus checker port. */
export interface RswModulusCheckerService {
  /** Checks it runs at once at most (the rest wait). */
  readonly concurrency: number
  /** Check N (of exactly `modulusBits` bits) and its proof: success, or why the proof fails. */
  readonly check: (
    n: bigint,
    proof: ModulusProof,
    modulusBits: number
  ) => Effect.Effect<Result.Result<void, InvalidModulus>, RswModulusCheckerError>
}

/** The modulus checker service tag. */
export class RswModulusChecker extends Context.Service<RswModulusChecker, RswModulusCheckerService>()("causeway/RswModulusChecker") {}
