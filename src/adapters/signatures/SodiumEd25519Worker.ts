/**
 * The worker of SodiumSignatureVerifier's pool: checks packed batches of Ed25519 signatures
 * with libsodium and answers one byte per signature (1 verifies, 0 not).
 *
 * A batch is one transferred ArrayBuffer of records `[u32 message length][32 key][64 sig][message]`
 * (little-endian length), so a hand-off is one postMessage each way and no copy of the bytes.
 */
import { parentPort } from "node:worker_threads"
import sodium from "sodium-native"

interface Batch {
  readonly id: number
  readonly count: number
  readonly buffer: ArrayBuffer
}

const port = parentPort
if (port === null) throw new Error("SodiumEd25519Worker runs only as a worker thread")

port.on("message", ({ id, count, buffer }: Batch) => {
  const bytes = new Uint8Array(buffer)
  const view = new DataView(buffer)
  const out = new Uint8Array(count)
  let at = 0
  for (let i = 0; i < count; i++) {
    const length = view.getUint32(at, true)
    const key = bytes.subarray(at + 4, at + 36)
    const sig = bytes.subarray(at + 36, at + 100)
    const message = bytes.subarray(at + 100, at + 100 + length)
    out[i] = sodium.crypto_sign_verify_detached(sig, message, key) ? 1 : 0
    at += 100 + length
  }
  port.postMessage({ id, answers: out.buffer }, [out.buffer])
})
