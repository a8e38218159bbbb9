/**
 * The worker of BlockChecker: checks a block's header and receipts (`checkBlockReceipts`: the
 * header hashes to the block hash, the receipts rebuild its receipts root) and builds the
 * block's EffectsObserved messages for the watches (`observationsOf`), off the event loop.
 */
import { parentPort } from "node:worker_threads"
import { Result } from "effect"
import { checkBlockReceipts } from "../../domain/chain/EvmBlockReceipts.ts"
import type { EffectWatch } from "../../domain/effects/EffectShapes.ts"
import { observationsOf } from "../../domain/effects/Observations.ts"

/** One block to check. */
export interface BlockCheckRequest {
  readonly id: number
  readonly chain: string
  readonly hash: string
  readonly header: unknown
  readonly receipts: unknown
  readonly watches: ReadonlyArray<EffectWatch>
}

const port = parentPort
if (port === null) throw new Error("BlockCheckWorker runs only as a worker thread")

port.on("message", (r: BlockCheckRequest) => {
  try {
    const checked = checkBlockReceipts(r.hash, r.header, r.receipts)
    if (Result.isFailure(checked)) {
      const f = checked.failure
      port.postMessage({ id: r.id, error: { tag: f._tag, detail: `${f._tag}${"reason" in f ? `: ${f.reason}` : ""}` } })
      return
    }
    port.postMessage({ id: r.id, ok: observationsOf(r.chain, checked.success, r.watches) })
  } catch (e) {
    port.postMessage({ id: r.id, error: { tag: "Defect", detail: e instanceof Error ? e.message : String(e) } })
  }
})
