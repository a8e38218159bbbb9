/**
 * The admission guard ingest consults (src/ports/AdmissionGuard.ts): the seal guard's checks
 * (reveals) and the proof guard's (keys, announcements, shares), each on the types it knows;
 * a candidate is refused with the first refusal either gives.
 */
import { Effect, Layer } from "effect"
import { AdmissionGuard, type AdmissionGuardService } from "../ports/AdmissionGuard.ts"
import * as ProofGuard from "./ProofGuard.ts"
import * as SealGuard from "./SealGuard.ts"

/** Several guards as one: for each candidate, the first refusal in the guards' order. */
export const combine = (guards: ReadonlyArray<AdmissionGuardService>): AdmissionGuardService => ({
  refusals: (candidates) =>
    Effect.map(Effect.forEach(guards, (g) => g.refusals(candidates)), (all) =>
      candidates.map((_, i) => {
        for (const refusals of all) {
          const r = refusals[i]
          if (r !== undefined && r !== null) return r
        }
        return null
      }))
})

/** The seal and proof guards as the AdmissionGuard reference, over Projections, the views and CausalLog. */
export const layer = Layer.effect(AdmissionGuard, Effect.map(Effect.all([SealGuard.make(), ProofGuard.make()]), combine))
