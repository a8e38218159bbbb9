/**
 * The ordering-fairness check (POST /v1/mempool/verify-ordering) on a worker thread
 * (OrderingCheckWorker.ts): the body's parsing, up to 10,000 receipts' decoding and their
 * signature checks never hold the event loop (the endpoint hands over the body's bytes). One worker, one check at a time, at most MAX_WAITING waiting; a check
 * beyond that is refused as busy rather than queued without bound. The worker does not keep
 * the process alive while idle.
 */
import { Data, Effect } from "effect"
import type { FairOrdering, Violation } from "../../domain/mempool/OrderingFairness.ts"
import { workerCalls } from "../WorkerCalls.ts"

/** Most checks waiting for the worker; more are refused. */
export const MAX_WAITING = 4

/** A verdict, as the endpoint answers it. */
export type OrderingVerdict =
  | ({ readonly fair: true } & FairOrdering)
  | { readonly fair: false; readonly reason: string; readonly violations: ReadonlyArray<Violation> }

/** Every slot of the worker is taken. */
export class OrderingCheckBusy extends Data.TaggedError("OrderingCheckBusy")<{ readonly waiting: number }> {}

/** The body is not a VerifyOrderingRequest (its reason names the first problem). */
export class OrderingRequestInvalid extends Data.TaggedError("OrderingRequestInvalid")<{ readonly reason: string }> {}

/** What the worker answers a check. */
type Answer = { readonly _tag: "Verdict"; readonly verdict: OrderingVerdict } | { readonly _tag: "Invalid"; readonly reason: string }

/** The worker failed (a defect). */
export class OrderingCheckFailed extends Data.TaggedError("OrderingCheckFailed")<{ readonly detail: string }> {}

/** The checker. */
export interface OrderingChecker {
  /** Check the request body (JSON bytes, VerifyOrderingRequest). */
  readonly check: (body: Uint8Array) => Effect.Effect<OrderingVerdict, OrderingCheckBusy | OrderingRequestInvalid | OrderingCheckFailed>
}

/** Start the checker (its worker starts on the first check). */
export const make = (): OrderingChecker => {
  const calls = workerCalls<Answer, string>(new URL("./OrderingCheckWorker.ts", import.meta.url), (detail) => detail)
  const check: OrderingChecker["check"] = (body) =>
    Effect.suspend((): Effect.Effect<OrderingVerdict, OrderingCheckBusy | OrderingRequestInvalid | OrderingCheckFailed> => {
      // One running and MAX_WAITING behind it: beyond that, refuse now.
      if (calls.pending() > MAX_WAITING) return Effect.fail(new OrderingCheckBusy({ waiting: calls.pending() }))
      return Effect.callback<OrderingVerdict, OrderingRequestInvalid | OrderingCheckFailed>((resume) =>
        calls.call({ body }, (answer) => {
          const ok = answer.ok
          if (ok === undefined) return resume(Effect.fail(new OrderingCheckFailed({ detail: answer.error ?? "no answer" })))
          resume(ok._tag === "Verdict" ? Effect.succeed(ok.verdict) : Effect.fail(new OrderingRequestInvalid({ reason: ok.reason })))
        })
      )
    })
  return { check }
}
