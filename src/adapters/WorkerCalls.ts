/**
 * Calls to a worker thread that answers each `{ id, ... }` message with `{ id, ok | error }`:
 * the pending calls by id, the worker kept from holding the process alive while idle, and every
 * pending call failed when the worker errs or exits (a new worker then serves the next call).
 * Used by the EVM block checks and the ordering check.
 */
import { Worker } from "node:worker_threads"

/** A worker's answer to one call. */
export interface WorkerAnswer<A, E> {
  readonly id: number
  readonly ok?: A
  readonly error?: E
}

/** The calls to one worker script. */
export interface WorkerCalls<A, E> {
  /** Post `message` (with its id added) and call `done` with the answer. */
  readonly call: (message: object, done: (answer: WorkerAnswer<A, E>) => void) => void
  /** Calls waiting for their answer. */
  readonly pending: () => number
  /** Stop the worker. */
  readonly close: () => Promise<void>
}

/** Calls to the worker at `url`, started on the first call; `failed` makes the answer of a call the worker lost. */
export const workerCalls = <A, E>(url: URL, failed: (detail: string) => E): WorkerCalls<A, E> => {
  const waiting = new Map<number, (answer: WorkerAnswer<A, E>) => void>()
  let next = 0
  let worker: Worker | undefined
  let closed = false
  const start = (): Worker => {
    const w = new Worker(url)
    w.unref()
    w.on("message", (answer: WorkerAnswer<A, E>) => {
      const done = waiting.get(answer.id)
      waiting.delete(answer.id)
      if (waiting.size === 0) w.unref()
      done?.(answer)
    })
    const fail = (detail: string) => {
      if (worker === w) worker = undefined
      for (const [id, done] of waiting) done({ id, error: failed(detail) })
      waiting.clear()
    }
    w.on("error", (e) => fail(e.message))
    w.on("exit", (code) => {
      if (!closed) fail(`worker exited with code ${code}`)
    })
    return w
  }
  return {
    call: (message, done) => {
      const id = next++
      waiting.set(id, done)
      const w = (worker ??= start())
      w.ref()
      w.postMessage({ ...message, id })
    },
    pending: () => waiting.size,
    close: async () => {
      closed = true
      await worker?.terminate()
    }
  }
}
