/**
 * Entry script of an RSW modulus-checking thread (started by WorkerRswModulusChecker, one per
 * check): checks the proof it is given and posts `{ ok }` or `{ ok: false, reason }`.
 * TypeScript under Node's type stripping.
 */
import { parentPort, workerData } from "node:worker_threads"
import { Result } from "effect"
import { type ModulusProof, verifyModulus } from "../../domain/timelock/Rsw.ts"

/** What the thread is given. */
export interface ModulusCheckRequest {
  readonly n: bigint
  readonly proof: ModulusProof
  readonly modulusBits: number
}

/** What the thread posts back. */
export type ModulusCheckResponse = { readonly ok: true } | { readonly ok: false; readonly reason: string }

if (parentPort !== null) {
  const { n, proof, modulusBits } = workerData as ModulusCheckRequest
  const checked = verifyModulus(n, proof, modulusBits)
  const response: ModulusCheckResponse = Result.isSuccess(checked) ? { ok: true } : { ok: false, reason: checked.failure.reason }
  parentPort.postMessage(response)
}
