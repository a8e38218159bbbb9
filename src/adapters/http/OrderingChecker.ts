/**
 * The ordering-fairness check (POST /v1/mempool/verify-ordering) on a worker thread
 * (OrderingCheckWorker.ts): up to 10,000 receipts' decoding and signature checks never hold
 * the event loop. One worker, one check at a time, at most MAX_WAITING waiting; a check
 * beyond that is refused as busy rather than queued without bound. The worker does not keep
 * the process alive while idle.
 */
import { Worker } from "node:worker_threads"
import { Data, Effect } from "effect"
import type { FairnessOptions, FairOrdering, Violation } from "../../domain/mempool/OrderingFairness.ts"

/** Most checks waiting for the worker; more are refused. */
export const MAX_WAITING = 4

/** A verdict, as the endpoint answers it. */
export type OrderingVerdict =
  | ({ readonly fair: true } & FairOrdering)
  | { readonly fair: false; readonly reason: string; readonly violations: ReadonlyArray<Violation> }

/** Every slot of the worker is taken. */
export class OrderingCheckBusy extends Data.TaggedError("OrderingCheckBusy")<{ readonly waiting: number }> {}

/** The worker failed (a defect). */
export class OrderingCheckFailed extends Data.TaggedError("OrderingCheckFailed")<{ readonly detail: string }> {}

/** The checker. */
export interface OrderingChecker {
  readonly check: (
    processingOrder: ReadonlyArray<unknown>,
    receipts: ReadonlyArray<unknown>,
    options: FairnessOptions
  ) => Effect.Effect<OrderingVerdict, OrderingCheckBusy | OrderingCheckFailed>
}

type Answer = { readonly id: number; readonly ok?: OrderingVerdict; readonly error?: string }

/** Start the checker (its worker starts on the first check). */
export const make = (): OrderingChecker => {
  const url = new URL("./OrderingCheckWorker.ts", import.meta.url)
  const pending = new Map<number, (answer: Answer) => void>()
  let next = 0
  let worker: Worker | undefined
  const start = (): Worker => {
    const w = new Worker(url)
    w.unref()
    w.on("message", (answer: Answer) => {
      const done = pending.get(answer.id)
      pending.delete(answer.id)
      if (pending.size === 0) w.unref()
      done?.(answer)
    })
    const fail = (detail: string) => {
      for (const [id, done] of pending) done({ id, error: detail })
      pending.clear()
      worker = undefined
    }
    w.on("error", (e) => fail(e.message))
    w.on("exit", (code) => fail(`ordering check worker exited with code ${code}`))
    return w
  }
  const check: OrderingChecker["check"] = (processingOrder, receipts, options) =>
    Effect.suspend((): Effect.Effect<OrderingVerdict, OrderingCheckBusy | OrderingCheckFailed> => {
      // One running and MAX_WAITING behind it: beyond that, refuse now.
      if (pending.size > MAX_WAITING) return Effect.fail(new OrderingCheckBusy({ waiting: pending.size }))
      return Effect.callback<OrderingVerdict, OrderingCheckFailed>((resume) => {
        const id = next++
        pending.set(id, (answer) =>
          resume(answer.ok !== undefined ? Effect.succeed(answer.ok) : Effect.fail(new OrderingCheckFailed({ detail: answer.error ?? "no answer" }))))
        const w = (worker ??= start())
        w.ref()
        w.postMessage({ id, processingOrder, receipts, options })
      })
    })
  return { check }
}
