/**
 * Entry script of a decryption worker thread: loads mcl-wasm once, then decrypts the slices
 * it is sent. Started by WorkerTlockDecrypter with the same Node binary as its parent (worker
 * threads share the process), and run as TypeScript through Node's type stripping: imports
 * end in `.ts` and the code uses erasable syntax only.
 */
import { parentPort } from "node:worker_threads"
import type { DecryptItem } from "../../ports/TlockDecrypter.ts"
import * as MclIbeOps from "./MclIbeOps.ts"
import { decryptSlice, type WireResult } from "./TlockBatch.ts"

/** A request to a worker. */
export interface WorkerRequest {
  readonly id: number
  readonly chainHash: string
  readonly items: ReadonlyArray<DecryptItem>
}

/** A worker's answer. */
export type WorkerResponse = { readonly id: number; readonly results: Array<WireResult> } | { readonly id: number; readonly failure: string }

const port = parentPort
if (port !== null) {
  const ops = MclIbeOps.make()
  port.on("message", (req: WorkerRequest) => {
    ops.then(
      (o) => {
        let response: WorkerResponse
        try {
          response = { id: req.id, results: decryptSlice(o, req.items, req.chainHash) }
        } catch (e) {
          response = { id: req.id, failure: e instanceof Error ? e.message : String(e) }
        }
        port.postMessage(response)
      },
      (e: unknown) => port.postMessage({ id: req.id, failure: `mcl-wasm failed to load: ${String(e)}` } satisfies WorkerResponse)
    )
  })
  // id −1: "loaded", so the pool can tell start-up cost from work
  ops.then(() => port.postMessage({ id: -1, results: [] } satisfies WorkerResponse), () => {})
}
