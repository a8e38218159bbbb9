/**
 * Entry script of an RSW solving thread (started by WorkerRswSolver, one per solve): solves
 * the puzzle it is given, its squarings on OpenSSL, and posts the solution. TypeScript under
 * Node's type stripping.
 */
import { parentPort, workerData } from "node:worker_threads"
import { type RswPuzzle, solvePuzzle } from "../../domain/timelock/Rsw.ts"
import * as OpensslRswSquarings from "./OpensslRswSquarings.ts"

if (parentPort !== null) {
  const puzzle = workerData as RswPuzzle
  const solution = solvePuzzle(puzzle, undefined, undefined, OpensslRswSquarings.make(puzzle.n))
  parentPort.postMessage(solution)
}
