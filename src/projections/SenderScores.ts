/**
 * A sender's standing as every instance computes it: its score marks in the mempool's,
 * operators' and proofs' tallies (each decayed by the seals that projection folded), summed
 * and scored (src/domain/senders/SenderScore.ts). A lookup is a few map reads: it never
 * recomputes over all senders.
 */
import type { MempoolState } from "../domain/mempool/MempoolFold.ts"
import { addCounts, marksOf, type SenderStanding, standingOf } from "../domain/senders/SenderScore.ts"
import type { OperatorsState } from "./Operators/Operators.ts"
import type { ProofsProjectionState } from "./Proofs/Proofs.ts"

/** The states a standing combines. */
export interface ScoredStates {
  readonly mempool: Pick<MempoolState, "scores" | "batch">
  readonly operators: Pick<OperatorsState, "scores" | "openBatch">
  readonly proofs: Pick<ProofsProjectionState, "scores" | "batch">
}

/** `sender`'s standing in these states (a sender with no marks: score 100, no reasons). */
export const standingIn = (states: ScoredStates) => (sender: string): SenderStanding =>
  standingOf(
    sender,
    addCounts([
      marksOf(states.mempool.scores, sender, states.mempool.batch),
      marksOf(states.operators.scores, sender, states.operators.openBatch),
      marksOf(states.proofs.scores, sender, states.proofs.batch)
    ]),
    states.mempool.batch
  )
