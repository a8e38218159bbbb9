/**
 * Entry script of an RSW solving thread (started by WorkerRswSolver, one per solve): solves
 * the puzzle it is given and posts the solution. TypeScript under Node's type stripping.
 */
import { parentPort, workerData } from "node:worker_threads"
import { type RswPuzzle, solvePuzzle } from "../../domain/timelock/Rsw.ts"

if (parentPort !== null) {
  const solution = solvePuzzle(workerData as RswPuzzle)
  parentPort.postMessage(solution)
}
