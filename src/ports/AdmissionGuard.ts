/**
 * Checks ingest asks of the projections before a message is written: the log is public, so a
 * message the projections' rules say must not be out yet (a reveal of a commitment whose
 * batch is not sealed, src/services/SealGuard.ts) is refused before the append, not after.
 * Undefined when nothing provides it (tests of ingest alone): no such check.
 */
import { Context, type Effect } from "effect"
import type { Candidate } from "../domain/Admission.ts"
import type { Rejection } from "../domain/Rejection.ts"
import type { CausalLogError } from "./CausalLog.ts"

/** The guard: for each candidate, in order, why it may not be written now, or null. */
export interface AdmissionGuardService {
  readonly refusals: (candidates: ReadonlyArray<Candidate>) => Effect.Effect<ReadonlyArray<Rejection | CausalLogError | null>>
}

/** The guard ingest consults after a message's signature and authority are checked. */
export const AdmissionGuard = Context.Reference<AdmissionGuardService | undefined>("causeway/AdmissionGuard", {
  defaultValue: () => undefined
})
