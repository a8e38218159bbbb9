/**
 * RswModulusChecker on worker threads: one thread per check (its start-up, tens of ms, is
 * small next to a ~1 s check), at most `concurrency` at once, so the event loop never runs a
 * modulus proof. Interrupting a check terminates its thread.
 */
import { Worker } from "node:worker_threads"
import { Effect, Layer, Result, Semaphore } from "effect"
import { InvalidModulus } from "../../domain/timelock/Rsw.ts"
import { RswModulusChecker, RswModulusCheckerError, type RswModulusCheckerService } from "../../ports/RswModulusChecker.ts"
import type { ModulusCheckRequest, ModulusCheckResponse } from "./RswModulusWorker.ts"

const workerUrl = new URL("./RswModulusWorker.ts", import.meta.url)

/** The service; `concurrency` defaults to 1 (checks are rare; the solver keeps the other cores busy). */
export const make = (options: { readonly concurrency?: number } = {}): Effect.Effect<RswModulusCheckerService> =>
  Effect.gen(function*() {
    const concurrency = Math.max(1, options.concurrency ?? 1)
    const permits = yield* Semaphore.make(concurrency)
    const checkOnThread = (request: ModulusCheckRequest) =>
      Effect.callback<Result.Result<void, InvalidModulus>, RswModulusCheckerError>((resume) => {
        const worker = new Worker(workerUrl, { workerData: request })
        worker.once("message", (response: ModulusCheckResponse) => {
          resume(Effect.succeed(response.ok ? Result.succeed(undefined) : Result.fail(new InvalidModulus({ reason: response.reason }))))
          void worker.terminate()
        })
        worker.once("error", (cause) => resume(Effect.fail(new RswModulusCheckerError({ reason: "modulus check thread failed", cause }))))
        worker.once("exit", (code) => resume(Effect.fail(new RswModulusCheckerError({ reason: `modulus check thread exited with code ${code}` }))))
        return Effect.promise(() => worker.terminate())
      })
    return {
      concurrency,
      check: (n, proof, modulusBits) => permits.withPermits(1)(checkOnThread({ n, proof, modulusBits }))
    }
  })

/** The worker-thread checker as a layer. */
export const layerWith = (options: { readonly concurrency?: number } = {}): Layer.Layer<RswModulusChecker> =>
  Layer.effect(RswModulusChecker, make(options))

/** One checking thread at a time. */
export const layer: Layer.Layer<RswModulusChecker> = layerWith()
