/**
 * A decryption worker for the pool's failure tests: the real one, except that it exits
 * (as a crashed thread would) when a slice holds the ciphertext "crash".
 */
import { parentPort } from "node:worker_threads"
import * as MclIbeOps from "../../src/adapters/timelock/MclIbeOps.ts"
import { decryptSlice } from "../../src/adapters/timelock/TlockBatch.ts"
import type { WorkerRequest } from "../../src/adapters/timelock/TlockWorker.ts"

const port = parentPort
if (port !== null) {
  const ops = await MclIbeOps.make()
  port.on("message", (req: WorkerRequest) => {
    if (req.items.some((i) => i.ciphertext === "crash")) process.exit(3)
    port.postMessage({ id: req.id, results: decryptSlice(ops, req.items, req.chainHash) })
  })
  port.postMessage({ id: -1, results: [] })
}
