/**
 * RswModulusChecker in process: runs `verifyModulus` on the calling thread. For tests and
 * tools only; a service must use WorkerRswModulusChecker, or each check blocks its event loop.
 */
import { Effect, Layer } from "effect"
import { verifyModulus } from "../../domain/timelock/Rsw.ts"
import { RswModulusChecker } from "../../ports/RswModulusChecker.ts"

/** The in-process checker. */
export const layer: Layer.Layer<RswModulusChecker> = Layer.succeed(RswModulusChecker, {
  concurrency: 1,
  check: (n, proof, modulusBits) => Effect.sync(() => verifyModulus(n, proof, modulusBits))
})
