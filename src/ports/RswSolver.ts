/**
 * Solving RSW puzzles: T sequential squarings each (seconds to minutes), so never on the
 * thread that serves requests. The worker adapter runs each solve on its own thread, as
 * many at once as there are cores; interrupting a solve stops its thread.
 */
import { Context, Data, type Effect } from "effect"
import type { RswPuzzle, RswSolution } from "../domain/timelock/Rsw.ts"

/** The solving machinery failed (a worker died); the puzzle itself may be fine. */
export class RswSolverError extends Data.TaggedError("RswSolverError")<{
  readonly reason: string
  readonly cause?: unknown
}> {}

/** The RSW solver port. */
export interface RswSolverService {
  /** Parallel solves it runs at most (the rest wait). */
  readonly concurrency: number
  /** Solve a puzzle (already checked with `verifyPuzzle`): y and its Wesolowski proof. */
  readonly solve: (puzzle: RswPuzzle) => Effect.Effect<RswSolution, RswSolverError>
}

/** The RSW solver service tag. */
export class RswSolver extends Context.Service<RswSolver, RswSolverService>()("causeway/RswSolver") {}
