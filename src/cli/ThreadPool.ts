/**
 * Sizes libuv's thread pool, which checks ingest's signatures (node:crypto's callback form,
 * `SignatureVerifier.verifyMany`) besides its usual fs and dns work. libuv reads
 * UV_THREADPOOL_SIZE once, when the pool first starts, so this module is the entry point's
 * first import: it runs before anything can use the pool. A UV_THREADPOOL_SIZE set in the
 * environment is kept.
 *
 * The size: one thread per core the process may run on, so signature checks scale with the
 * machine, and never fewer than libuv's own default of 4, so fs and dns work does not wait
 * long behind a batch of signatures on a small machine. On 2 cores, 2 and 4 threads measured
 * the same in bench:ingest (docs/ingest.md).
 */
import { availableParallelism } from "node:os"

/** The pool size this process runs with. */
export const threadPoolSize: number = (() => {
  const set = Number(process.env.UV_THREADPOOL_SIZE)
  if (Number.isInteger(set) && set > 0) return set
  const size = Math.max(4, availableParallelism())
  process.env.UV_THREADPOOL_SIZE = String(size)
  return size
})()
