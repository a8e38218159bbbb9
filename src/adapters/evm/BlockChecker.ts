/**
 * Block checks on a worker thread (BlockCheckWorker.ts), so an EVM observer's per-block work
 * (decode, re-encode and rebuild the receipts trie, match the watches, build the proofs) runs
 * on another core than the one that signs, appends and folds. One worker; it does not keep
 * the process alive while idle.
 */
import { Effect } from "effect"
import type { EffectWatch } from "../../domain/effects/EffectShapes.ts"
import type { BlockObservations } from "../../domain/effects/Observations.ts"
import { workerCalls } from "../WorkerCalls.ts"

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

/** Start the checker (its worker starts on the first check). */
export const make = (): BlockChecker => {
  const calls = workerCalls<BlockObservations, BlockCheckFailure>(new URL("./BlockCheckWorker.ts", import.meta.url), (detail) => ({ tag: "WorkerFailed", detail }))
  const check: BlockChecker["check"] = (chain, hash, header, receipts, watches) =>
    Effect.callback<BlockObservations, BlockCheckFailure>((resume) =>
      calls.call({ chain, hash, header, receipts, watches }, (answer) =>
        resume(answer.ok !== undefined ? Effect.succeed(answer.ok) : Effect.fail(answer.error ?? { tag: "WorkerFailed", detail: "no answer" })))
    )
  return { check, close: calls.close }
}

let shared: BlockChecker | undefined

/** The process's checker, started on first use (one worker for every EVM observer). */
export const sharedChecker = (): BlockChecker => (shared ??= make())
