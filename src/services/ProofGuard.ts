/**
 * The proof guard: a proof-sharing message is written to the log only if the proofs
 * projection would count it, judged by the fold's own rules (src/domain/proofs/ProofFold.ts)
 * on the state folded through what it names. A key its system does not take, an
 * announcement of an unknown key, a share of an unknown or decided proof, from anyone but its
 * announcer, or beyond its announced shares is refused (409 ProofRefused); an announcement
 * over the announcer's or the deployment's pending bound is refused (429 TooManyPendingProofs).
 * A repeat of a share already held is refused too (it would only grow the log); repeats within
 * one batch pass and the fold ignores all but the first. A share of an announcement in the same
 * batch passes (not folded yet: the fold judges it), and so does a non-operator's message:
 * admission refuses it next (403 OperatorNotRegistered). Messages of one batch are
 * judged against the same state; the fold judges again at each record's place, so what the
 * guard lets through stays bounded.
 */
import { Duration, Effect } from "effect"
import type { Candidate } from "../domain/Admission.ts"
import type { PayloadOf } from "../domain/MessageTypes.ts"
import { isOperator } from "../domain/operators/OperatorRegistry.ts"
import { announcementRefusal, base64Length, keyRefusal, shareHeld, shareRefusal } from "../domain/proofs/ProofFold.ts"
import { ProofRefused, type Rejection, TooManyPendingProofs } from "../domain/Rejection.ts"
import type { AdmissionGuardService } from "../ports/AdmissionGuard.ts"
import { CausalLog, type CausalLogError } from "../ports/CausalLog.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { ProofsView } from "../projections/Views.ts"

/** How long a proof message waits for the projection to fold what it names before it is refused (retry later). */
export const DEFAULT_FOLD_WAIT = Duration.seconds(2)

const proofTypes: ReadonlySet<string> = new Set(["VerificationKeyRegistered", "ProofAnnouncement", "ProofShare"])

/** The guard over the runner's proofs view and the log. */
export const make = (foldWait: Duration.Input = DEFAULT_FOLD_WAIT) =>
  Effect.gen(function*() {
    const runner = yield* Projections
    const proofs = yield* ProofsView
    const log = yield* CausalLog
    const refuse = (type: string, reason: string) => new ProofRefused({ reason: `${type} refused before it was logged: ${reason}`, type })

    // Folded through `offset` (exclusive), or a refusal to retry.
    const foldedThrough = (type: string, offset: number) =>
      runner.awaitOffset(offset).pipe(
        Effect.timeoutOption(foldWait),
        Effect.map((folded) => folded._tag === "None" ? refuse(type, `the proofs projection has not folded the log through offset ${offset - 1} yet; retry`) : null)
      )

    const check = Effect.fnUntraced(function*(c: Candidate, batch: ReadonlySet<string>) {
      const e = c.envelope
      // A non-operator's message is refused by admission itself (OperatorNotRegistered), after the guard.
      const now = yield* proofs.state
      if (!isOperator(now.registry, now.authority, e.sender)) return null
      switch (e.type) {
        case "VerificationKeyRegistered": {
          const p = e.payload as PayloadOf<"VerificationKeyRegistered">
          const reason = keyRefusal(p.proofSystem, p.vk)
          return reason === null ? null : refuse(e.type, reason)
        }
        case "ProofAnnouncement": {
          const p = e.payload as PayloadOf<"ProofAnnouncement">
          // Its key was registered before it: fold what the log holds now.
          const late = yield* foldedThrough(e.type, yield* log.endOffset)
          if (late !== null) return late
          const refusal = announcementRefusal(yield* proofs.state, { id: c.id, offset: Number.MAX_SAFE_INTEGER, announcer: e.sender, ...p })
          if (refusal === null) return null
          return refusal.bound ? new TooManyPendingProofs({ reason: refusal.reason }) : refuse(e.type, refusal.reason)
        }
        case "ProofShare": {
          const p = e.payload as PayloadOf<"ProofShare">
          // Announced in the same batch: not folded yet, the fold judges it at its place.
          if (batch.has(p.announcementId)) return null
          const found = (yield* log.lookup([p.announcementId])).get(p.announcementId)
          if (found === undefined) return refuse(e.type, `no proof was announced as ${p.announcementId}`)
          // Folded through what the log holds now: the announcement and the shares before this one.
          const late = yield* foldedThrough(e.type, Math.max(found.offset + 1, yield* log.endOffset))
          if (late !== null) return late
          const folded = yield* proofs.state
          const reason = shareRefusal(folded, { sender: e.sender, announcementId: p.announcementId, index: p.index, bytes: base64Length(p.data) })
          if (reason !== null) return refuse(e.type, reason)
          // A repeat would only grow the log: the first share of each index stands.
          return shareHeld(folded, p.announcementId, p.index) ? refuse(e.type, `share ${p.index} is already held (the first in log order stands)`) : null
        }
        default:
          return null
      }
    })

    const service: AdmissionGuardService = {
      refusals: (candidates) => {
        const announced = new Set(candidates.filter((c) => c.envelope.type === "ProofAnnouncement").map((c) => c.id))
        return Effect.forEach(candidates, (c): Effect.Effect<Rejection | CausalLogError | null> =>
          proofTypes.has(c.envelope.type) ? check(c, announced).pipe(Effect.catch((error) => Effect.succeed(error))) : Effect.succeed(null), { concurrency: 16 })
      }
    }
    return service
  })
