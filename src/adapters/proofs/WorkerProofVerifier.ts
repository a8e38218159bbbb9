/**
 * ProofVerifier on a worker thread (ProofVerifyWorker.ts): one thread verifies one proof at a
 * time with at most `maxWaiting` behind it; a verification beyond that is refused at once as
 * ProofVerifierBusy rather than queued without bound. The thread starts on the first
 * verification, does not keep the process alive while idle and stops with the layer's scope.
 */
import { Effect, Layer, Result, Schema } from "effect"
import { ProofVerificationError, type VerifiedProof } from "../../domain/proofs/ProofSystems.ts"
import { ProofVerifier, ProofVerifierBusy, ProofVerifierError, type ProofVerifierService } from "../../ports/ProofVerifier.ts"
import { workerCalls } from "../WorkerCalls.ts"
import type { EncodedVerdict } from "./ProofVerifyWorker.ts"

/** Verifications waiting behind the running one by default; more are refused as busy. */
export const MAX_WAITING = 16

const decodeError = Schema.decodeUnknownResult(ProofVerificationError)

const verdictOf = (answer: EncodedVerdict): Effect.Effect<Result.Result<VerifiedProof, ProofVerificationError>, ProofVerifierError> => {
  if (answer.valid) return Effect.succeed(Result.succeed(answer.verified))
  const error = decodeError(answer.error)
  return Result.isSuccess(error)
    ? Effect.succeed(Result.fail(error.success))
    : Effect.fail(new ProofVerifierError({ reason: "the worker answered an error that does not decode", cause: error.failure }))
}

/** The service and the stopping of its thread. */
export const make = (options: { readonly maxWaiting?: number } = {}): ProofVerifierService & { readonly close: () => Promise<void> } => {
  const maxWaiting = Math.max(0, options.maxWaiting ?? MAX_WAITING)
  const calls = workerCalls<EncodedVerdict, string>(new URL("./ProofVerifyWorker.ts", import.meta.url), (detail) => detail)
  const verify: ProofVerifierService["verify"] = (proofSystem, vk, proof, publicSignals) =>
    Effect.suspend((): Effect.Effect<Result.Result<VerifiedProof, ProofVerificationError>, ProofVerifierBusy | ProofVerifierError> => {
      // One running and maxWaiting behind it: beyond that, refuse now.
      if (calls.pending() > maxWaiting) return Effect.fail(new ProofVerifierBusy({ waiting: calls.pending() }))
      return Effect.callback<EncodedVerdict, ProofVerifierError>((resume) =>
        calls.call({ proofSystem, vk, proof, publicSignals }, (answer) =>
          resume(
            answer.ok !== undefined
              ? Effect.succeed(answer.ok)
              : Effect.fail(new ProofVerifierError({ reason: `proof verification thread failed: ${answer.error ?? "no answer"}` }))
          ))
      ).pipe(Effect.flatMap(verdictOf))
    })
  return { verify, close: calls.close }
}

/** The worker-thread verifier as a layer; its thread stops with the scope. */
export const layerWith = (options: { readonly maxWaiting?: number } = {}): Layer.Layer<ProofVerifier> =>
  Layer.effect(
    ProofVerifier,
    Effect.acquireRelease(Effect.sync(() => make(options)), (verifier) => Effect.promise(verifier.close)).pipe(
      Effect.map(({ verify }): ProofVerifierService => ({ verify }))
    )
  )

/** One verifying thread, MAX_WAITING behind it. */
export const layer: Layer.Layer<ProofVerifier> = layerWith()
