/**
 * The operator registry as this instance's projections last folded it, for ingest to refuse
 * operators' messages (proposals, fill reports, intents) from keys that are not registered
 * operators, and intents beyond an operator's bound, before anything is written
 * (src/domain/operators/OperatorRegistry.ts). Undefined when nothing provides it (tests of
 * ingest alone): no such check.
 */
import { Context, type Effect } from "effect"

/** The registry folded through `offset` (every record below it). */
export interface OperatorRosterState {
  readonly offset: number
  /** Is the sender an operator (registered, or one of the deployment's instances)? */
  readonly isOperator: (sender: string) => boolean
  /** How many intents the sender has open in the folded state. */
  readonly openIntents: (sender: string) => number
}

/** Where ingest reads the registry from. */
export const OperatorRoster = Context.Reference<{ readonly current: Effect.Effect<OperatorRosterState> } | undefined>("causeway/OperatorRoster", {
  defaultValue: () => undefined
})
