/**
 * The seal guard: a reveal is written to the log only if the mempool would take it, judged by
 * the mempool's own rule (`revealRefusal`, src/domain/mempool/MempoolDecide.ts) on the state folded
 * through the reveal's dependencies. So a reveal sent before its batch's seal, without
 * naming that seal, for someone else's commitment, or with an order and salt that do not
 * open the commitment is refused with a reason (409 SealedContent), and its plaintext order
 * and salt never reach the public log. The safety of the check does not depend on timing:
 * "sealed", "named", "its sender's" and "opens the commitment" stay true once true.
 *
 * Other message types pass untouched (no other type discloses sealed content: commitments
 * carry a hash, time-locked orders a ciphertext, decisions come from the instance).
 */
import { Duration, Effect, Layer } from "effect"
import type { Candidate } from "../domain/Admission.ts"
import { revealRefusal } from "../domain/mempool/MempoolDecide.ts"
import type { OrderReveal } from "../domain/mempool/MempoolMessages.ts"
import { SealedContent } from "../domain/Rejection.ts"
import { AdmissionGuard, type AdmissionGuardService } from "../ports/AdmissionGuard.ts"
import { CausalLog } from "../ports/CausalLog.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { MempoolView } from "../projections/Views.ts"

/** How long a reveal waits for the mempool to fold its dependencies before it is refused (retry later). */
export const DEFAULT_FOLD_WAIT = Duration.seconds(2)

/** The guard over the runner's mempool view and the log. */
export const make = (foldWait: Duration.Input = DEFAULT_FOLD_WAIT) =>
  Effect.gen(function*() {
    const runner = yield* Projections
    const mempool = yield* MempoolView
    const log = yield* CausalLog
    const refuse = (reason: string) => new SealedContent({ reason: `reveal refused before it was logged: ${reason}`, type: "OrderReveal" })

    const revealCheck = Effect.fnUntraced(function*(c: Candidate) {
      const e = c.envelope
      const p = e.payload as typeof OrderReveal.Type
      // Its covering seal, if it names it, is among its deps: fold through the last of them.
      const refs = e.deps.length === 0 ? new Map() : yield* log.lookup(e.deps)
      let through = -1
      for (const r of refs.values()) through = Math.max(through, r.offset)
      if (through >= 0) {
        const folded = yield* runner.awaitOffset(through + 1).pipe(Effect.timeoutOption(foldWait))
        if (folded._tag === "None") {
          return refuse(`the mempool has not folded the reveal's dependencies (through offset ${through}) yet; retry`)
        }
      }
      const state = yield* mempool.state
      const reason = revealRefusal(state, e, p)
      return reason === null ? null : refuse(reason)
    })

    const service: AdmissionGuardService = {
      refusals: (candidates) =>
        Effect.forEach(candidates, (c) =>
          c.envelope.type !== "OrderReveal"
            ? Effect.succeed(null)
            : revealCheck(c).pipe(Effect.catch((error) => Effect.succeed(error))), { concurrency: 16 })
    }
    return service
  })

/** The guard as the AdmissionGuard reference, over Projections, the mempool's view and CausalLog. */
export const layer = Layer.effect(AdmissionGuard, make())
