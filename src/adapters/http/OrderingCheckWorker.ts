/**
 * The worker of OrderingChecker: runs `verifyOrderingFairness` (decode every receipt, check
 * every signature, the sequence and the processing order) off the event loop.
 */
import { parentPort } from "node:worker_threads"
import { Result } from "effect"
import { type FairnessOptions, verifyOrderingFairness } from "../../domain/mempool/OrderingFairness.ts"

/** One check to run. */
export interface OrderingCheckRequest {
  readonly id: number
  readonly processingOrder: ReadonlyArray<unknown>
  readonly receipts: ReadonlyArray<unknown>
  readonly options: FairnessOptions
}

const port = parentPort
if (port === null) throw new Error("OrderingCheckWorker runs only as a worker thread")

port.on("message", (r: OrderingCheckRequest) => {
  try {
    const verdict = verifyOrderingFairness(r.processingOrder, r.receipts, r.options)
    port.postMessage({
      id: r.id,
      ok: Result.isSuccess(verdict)
        ? { fair: true, ...verdict.success }
        : { fair: false, reason: verdict.failure.reason, violations: verdict.failure.violations }
    })
  } catch (e) {
    port.postMessage({ id: r.id, error: e instanceof Error ? e.message : String(e) })
  }
})
