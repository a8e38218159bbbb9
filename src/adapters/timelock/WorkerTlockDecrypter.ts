/**
 * TlockDecrypter on a pool of worker threads, each with its own mcl-wasm instance: a batch
 * is cut into slices handed to the least busy worker, so all cores pair at once. Workers are
 * started with the layer and terminated with its scope; one that dies is replaced and the
 * slices it held fail the batch with TlockDecrypterError (never a silent partial result).
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { Effect, Layer } from "effect"
import { type DecryptItem, TlockDecrypter, TlockDecrypterError, type TlockDecrypterService } from "../../ports/TlockDecrypter.ts"
import { fromWire, type WireResult } from "./TlockBatch.ts"
import type { WorkerRequest, WorkerResponse } from "./TlockWorker.ts"

/** Pool options. */
export interface WorkerTlockDecrypterOptions {
  /** Worker threads (default: the machine's available parallelism). */
  readonly workers?: number
  /** Largest slice sent to one worker at a time (default 64). */
  readonly maxSlice?: number
  /** The worker entry script (default TlockWorker.ts; tests substitute one that can crash). */
  readonly script?: URL
}

interface Pending {
  readonly resolve: (results: Array<WireResult>) => void
  readonly reject: (error: Error) => void
}

interface Slot {
  worker: Worker
  readonly pending: Map<number, Pending>
  ready: Promise<void>
}

const defaultScript = new URL("./TlockWorker.ts", import.meta.url)

/** A pool whose `run` decrypts one slice on the least busy worker. */
const makePool = (size: number, script: URL) => {
  let nextId = 0
  let closed = false
  const slots: Array<Slot> = []

  const spawn = (slot?: Slot): Slot => {
    const worker = new Worker(script)
    const s: Slot = slot ?? { worker, pending: new Map(), ready: Promise.resolve() }
    s.worker = worker
    s.ready = new Promise<void>((resolve, reject) => {
      const onMessage = (msg: WorkerResponse) => {
        if (msg.id === -1) return resolve()
        const p = s.pending.get(msg.id)
        if (p === undefined) return
        s.pending.delete(msg.id)
        if ("failure" in msg) p.reject(new Error(msg.failure))
        else p.resolve(msg.results)
      }
      let dead = false
      const onDeath = (error: Error) => {
        // "error" is followed by "exit": act once
        if (dead) return
        dead = true
        worker.off("message", onMessage)
        reject(error)
        for (const p of s.pending.values()) p.reject(error)
        s.pending.clear()
        if (!closed) spawn(s) // replace it; the slices it held already failed
      }
      worker.on("message", onMessage)
      worker.once("error", onDeath)
      worker.once("exit", (code) => onDeath(new Error(`decryption worker exited with code ${code}`)))
    })
    s.ready.catch(() => {}) // observed through the slices that wait on it
    return s
  }

  for (let i = 0; i < size; i++) slots.push(spawn())

  const run = (items: ReadonlyArray<DecryptItem>, chainHash: string): Promise<Array<WireResult>> => {
    let slot = slots[0] as Slot
    for (const s of slots) if (s.pending.size < slot.pending.size) slot = s
    const id = nextId++
    return new Promise<Array<WireResult>>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject })
      slot.worker.postMessage({ id, chainHash, items } satisfies WorkerRequest)
    })
  }

  const close = () => {
    closed = true
    return Promise.all(slots.map((s) => s.worker.terminate())).then(() => undefined)
  }

  return { run, close, ready: () => Promise.all(slots.map((s) => s.ready)).then(() => undefined) }
}

/** The pool as a service; workers live as long as the scope. */
export const make = (options: WorkerTlockDecrypterOptions = {}) =>
  Effect.gen(function*() {
    const size = Math.max(1, options.workers ?? availableParallelism())
    const maxSlice = Math.max(1, options.maxSlice ?? 64)
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => makePool(size, options.script ?? defaultScript)),
      (p) => Effect.promise(() => p.close())
    )
    yield* Effect.tryPromise({
      try: () => pool.ready(),
      catch: (cause) => new TlockDecrypterError({ reason: "decryption workers failed to start", cause })
    })
    const service: TlockDecrypterService = {
      describe: `mcl-wasm × ${size} worker threads`,
      decryptBatch: (items, { chainHash }) => {
        if (items.length === 0) return Effect.succeed([])
        // Several slices per worker keep both busy to the end of an uneven batch.
        const slice = Math.min(maxSlice, Math.max(1, Math.ceil(items.length / (size * 4))))
        const slices: Array<ReadonlyArray<DecryptItem>> = []
        for (let i = 0; i < items.length; i += slice) slices.push(items.slice(i, i + slice))
        return Effect.tryPromise({
          try: () => Promise.all(slices.map((s) => pool.run(s, chainHash))),
          catch: (cause) => new TlockDecrypterError({ reason: "a decryption worker failed", cause })
        }).pipe(Effect.map((parts) => parts.flat().map(fromWire)))
      }
    }
    return service
  })

/** The worker-pool decrypter as a layer. */
export const layerWith = (options: WorkerTlockDecrypterOptions = {}): Layer.Layer<TlockDecrypter, TlockDecrypterError> =>
  Layer.effect(TlockDecrypter, make(options))

/** The worker-pool decrypter with one worker per core. */
export const layer: Layer.Layer<TlockDecrypter, TlockDecrypterError> = layerWith()
