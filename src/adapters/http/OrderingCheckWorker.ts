/**
 * The worker of OrderingChecker: parses and decodes the request body (OrderingRequest.ts), then
 * runs `verifyOrderingFairness` (decode every receipt, check every signature, the sequence and
 * the processing order), all off the event loop. Signatures are checked with node:crypto
 * (OpenSSL): the same verdicts as the domain's noble default (test/mempool/OrderingFairness.test.ts
 * runs the check both ways), about 15 times faster.
 */
import { parentPort } from "node:worker_threads"
import { Result, Schema } from "effect"
import { verifyOrderingFairness } from "../../domain/mempool/OrderingFairness.ts"
import { nodeCryptoReceiptCheck } from "../signatures/NodeCryptoReceiptCheck.ts"
import { VerifyOrderingRequest } from "./OrderingRequest.ts"

/** One check to run: the request body's bytes. */
export interface OrderingCheckRequest {
  readonly id: number
  readonly body: Uint8Array
}

const port = parentPort
if (port === null) throw new Error("OrderingCheckWorker runs only as a worker thread")

const decodeRequest = Schema.decodeUnknownResult(VerifyOrderingRequest)
const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").slice(0, 500)

port.on("message", (r: OrderingCheckRequest) => {
  try {
    let json: unknown
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(r.body))
    } catch {
      return port.postMessage({ id: r.id, ok: { _tag: "Invalid", reason: "payload: the body is not valid JSON" } })
    }
    const request = decodeRequest(json, { errors: "first" })
    if (Result.isFailure(request)) {
      return port.postMessage({ id: r.id, ok: { _tag: "Invalid", reason: `payload: ${oneLine(request.failure.message)}` } })
    }
    const { processingOrder, receipts, instanceKey, members } = request.success
    const verdict = verifyOrderingFairness(processingOrder, receipts, {
      ...(instanceKey === undefined ? {} : { instanceKey }),
      ...(members === undefined ? {} : { members })
    }, nodeCryptoReceiptCheck)
    port.postMessage({
      id: r.id,
      ok: {
        _tag: "Verdict",
        verdict: Result.isSuccess(verdict)
          ? { fair: true, ...verdict.success }
          : { fair: false, reason: verdict.failure.reason, violations: verdict.failure.violations }
      }
    })
  } catch (e) {
    port.postMessage({ id: r.id, error: e instanceof Error ? e.message : String(e) })
  }
})
