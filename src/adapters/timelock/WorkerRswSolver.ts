/**
 * RswSolver on worker threads: one thread per solve (its start-up, ~50 ms, is nothing next
 * to a solve), at most `concurrency` at once. Interrupting a solve terminates its thread.
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { Effect, Layer, Semaphore } from "effect"
import type { RswSolution } from "../../domain/timelock/Rsw.ts"
import { RswSolver, RswSolverError, type RswSolverService } from "../../ports/RswSolver.ts"

const workerUrl = new URL("./RswWorker.ts", import.meta.url)

/** The service; `concurrency` defaults to the machine's available parallelism. */
export const make = (options: { readonly concurrency?: number } = {}): Effect.Effect<RswSolverService> =>
  Effect.gen(function*() {
    const concurrency = Math.max(1, options.concurrency ?? availableParallelism())
    const permits = yield* Semaphore.make(concurrency)
    const solveOnThread = (puzzle: Parameters<RswSolverService["solve"]>[0]) =>
      Effect.callback<RswSolution, RswSolverError>((resume) => {
        const worker = new Worker(workerUrl, { workerData: puzzle })
        worker.once("message", (solution: RswSolution) => {
          resume(Effect.succeed(solution))
          void worker.terminate()
        })
        worker.once("error", (cause) => resume(Effect.fail(new RswSolverError({ reason: "solver thread failed", cause }))))
        worker.once("exit", (code) => resume(Effect.fail(new RswSolverError({ reason: `solver thread exited with code ${code}` }))))
        return Effect.promise(() => worker.terminate())
      })
    return {
      concurrency,
      solve: (puzzle) => permits.withPermits(1)(solveOnThread(puzzle))
    }
  })

/** The worker-thread solver as a layer. */
export const layerWith = (options: { readonly concurrency?: number } = {}): Layer.Layer<RswSolver> => Layer.effect(RswSolver, make(options))

/** One solving thread per core. */
export const layer: Layer.Layer<RswSolver> = layerWith()
