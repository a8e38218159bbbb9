/**
 * Sizes libuv's thread pool, which checks ingest's signatures (node:crypto's callback form,
 * `SignatureVerifier.verifyMany`) besides its usual fs and dns work. libuv reads
 * UV_THREADPOOL_SIZE once, when the pool first starts, so this module is the entry point's
 * first import: it runs before anything can use the pool. A UV_THREADPOOL_SIZE set in the
 * environment is kept.
 *
 * The size: one thread per core the process may run on, and never fewer than libuv's own
 * default of 4 (other pool work must not queue behind a batch of signatures). More threads
 * than cores would not check signatures faster; they would only take CPU from the event
 * loop, which decodes messages and runs the log writer.
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
