/**
 * The ordering-fairness check (POST /v1/mempool/verify-ordering) on a worker thread
 * (OrderingCheckWorker.ts): up to 10,000 receipts' decoding and signature checks never hold
 * the event loop. One worker, one check at a time, at most MAX_WAITING waiting; a check
 * beyond that is refused as busy rather than queued without bound. The worker does not keep
 * the process alive while idle.
 */
import { Data, Effect } from "effect"
import type { FairnessOptions, FairOrdering, Violation } from "../../domain/mempool/OrderingFairness.ts"
import { workerCalls } from "../WorkerCalls.ts"

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

/** Start the checker (its worker starts on the first check). */
export const make = (): OrderingChecker => {
  const calls = workerCalls<OrderingVerdict, string>(new URL("./OrderingCheckWorker.ts", import.meta.url), (detail) => detail)
  const check: OrderingChecker["check"] = (processingOrder, receipts, options) =>
    Effect.suspend((): Effect.Effect<OrderingVerdict, OrderingCheckBusy | OrderingCheckFailed> => {
      // One running and MAX_WAITING behind it: beyond that, refuse now.
      if (calls.pending() > MAX_WAITING) return Effect.fail(new OrderingCheckBusy({ waiting: calls.pending() }))
      return Effect.callback<OrderingVerdict, OrderingCheckFailed>((resume) =>
        calls.call({ processingOrder, receipts, options }, (answer) =>
          resume(answer.ok !== undefined ? Effect.succeed(answer.ok) : Effect.fail(new OrderingCheckFailed({ detail: answer.error ?? "no answer" }))))
      )
    })
  return { check }
}
