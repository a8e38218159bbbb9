/**
 * Senders' standings as this instance's projections last folded them, for ingest to refuse a
 * banned sender's messages and lower a poorly scored one's rate before anything is written
 * (src/domain/senders/SenderScore.ts). Undefined when nothing provides it (tests of ingest
 * alone): no scoring.
 */
import { Context, type Effect } from "effect"
import type { SenderStanding } from "../domain/senders/SenderScore.ts"

/** Where ingest reads the standings from: a lookup over the folded states, a few map reads per sender. */
export const SenderScores = Context.Reference<{ readonly current: Effect.Effect<(sender: string) => SenderStanding> } | undefined>("causeway/SenderScores", {
  defaultValue: () => undefined
})
