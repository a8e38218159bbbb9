/**
 * Block checks on a worker thread (BlockCheckWorker.ts), so an EVM observer's per-block work
 * (decode, re-encode and rebuild the receipts trie, match the watches, build the proofs) runs
 * on another core than the one that signs, appends and folds. One worker; it does not keep
 * the process alive while idle.
 */
import { Worker } from "node:worker_threads"
import { Effect } from "effect"
import type { EffectWatch } from "../../domain/effects/EffectShapes.ts"
import type { BlockObservations } from "../../domain/effects/Observations.ts"

/** Why a block did not check (the receipts or header tag, e.g. ReceiptsRootMismatch), or the worker failed. */
export interface BlockCheckFailure {
  readonly tag: string
  readonly detail: string
}

/** The checker. */
export interface BlockChecker {
  readonly check: (chain: string, hash: string, header: unknown, receipts: unknown, watches: ReadonlyArray<EffectWatch>) => Effect.Effect<BlockObservations, BlockCheckFailure>
  readonly close: () => Promise<void>
}

type Answer = { readonly id: number; readonly ok?: BlockObservations; readonly error?: BlockCheckFailure }

/** Start the checker's worker. */
export const make = (): BlockChecker => {
  const url = new URL("./BlockCheckWorker.ts", import.meta.url)
  const pending = new Map<number, (answer: Answer) => void>()
  let next = 0
  let worker = new Worker(url)
  const wire = (w: Worker) => {
    w.unref()
    w.on("message", (answer: Answer) => {
      const done = pending.get(answer.id)
      pending.delete(answer.id)
      if (pending.size === 0) w.unref()
      done?.(answer)
    })
    const fail = (detail: string) => {
      for (const [id, done] of pending) done({ id, error: { tag: "WorkerFailed", detail } })
      pending.clear()
    }
    w.on("error", (e) => fail(e.message))
    w.on("exit", (code) => {
      if (closed) return
      fail(`block check worker exited with code ${code}`)
      worker = new Worker(url)
      wire(worker)
    })
  }
  let closed = false
  wire(worker)
  const check: BlockChecker["check"] = (chain, hash, header, receipts, watches) =>
    Effect.callback<BlockObservations, BlockCheckFailure>((resume) => {
      const id = next++
      pending.set(id, (answer) => resume(answer.ok !== undefined ? Effect.succeed(answer.ok) : Effect.fail(answer.error ?? { tag: "WorkerFailed", detail: "no answer" })))
      worker.ref()
      worker.postMessage({ id, chain, hash, header, receipts, watches })
    })
  return {
    check,
    close: async () => {
      closed = true
      await worker.terminate()
    }
  }
}

let shared: BlockChecker | undefined

/** The process's checker, started on first use (one worker for every EVM observer). */
export const sharedChecker = (): BlockChecker => (shared ??= make())
