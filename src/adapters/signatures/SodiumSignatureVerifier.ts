/**
 * SignatureVerifier with Ed25519 on libsodium (sodium-native, a prebuilt N-API addon), about
 * 2.4 times node:crypto's rate per core; secp256k1 stays on node:crypto.
 *
 * Accept/reject rules: libsodium's `crypto_sign_verify_detached` (1.0.18+) gives the same
 * verdict as node:crypto (OpenSSL 3.5) and noble with zip215: false on every Wycheproof and
 * speccheck case in test/vectors/ed25519 (test/adapters/Ed25519Conformance.test.ts pins all
 * three engines to one table): S must be below the group order, A and R canonical and not of
 * small order, and the equation is the cofactorless one. Every instance must use one rule,
 * since which records count depends on it.
 *
 * libsodium's verify is synchronous, so `verifyMany` hands batches to a pool of worker threads
 * (one per core) as one transferred buffer each: the event loop goes on decoding and
 * appending while the workers check signatures on the other cores.
 */
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import sodium from "sodium-native"
import { Effect, Layer } from "effect"
import { SignatureVerifier, type SignatureVerifierService, type VerifyRequest } from "../../ports/SignatureVerifier.ts"
import * as NodeCryptoSignatureVerifier from "./NodeCryptoSignatureVerifier.ts"
import { verifyManyByScheme } from "./SchemeBatch.ts"

/** Options of the verifier. */
export interface SodiumOptions {
  /** Worker threads for `verifyMany`; 0 checks on the calling thread. Default: one per core. */
  readonly workers: number
}

const defaults: SodiumOptions = { workers: availableParallelism() }

const HEX = /^[0-9a-f]{64}$/

// A 32-byte key from lowercase hex, or null (the schema admits only lowercase hex keys; an
// uppercase or odd one does not verify, as with node:crypto's adapter).
const keyBytes = (hex: string): Buffer | null => (hex.length === 64 && HEX.test(hex) ? Buffer.from(hex, "hex") : null)

const ed25519 = (publicKey: string, message: Uint8Array, signature: Uint8Array): boolean => {
  const key = keyBytes(publicKey)
  return key !== null && signature.length === 64 && sodium.crypto_sign_verify_detached(signature, message, key)
}

interface Pending {
  readonly resolve: (answers: Uint8Array) => void
  readonly reject: (error: unknown) => void
}

// Workers with their outstanding batches; a batch goes to the one with the fewest queued. A
// worker with nothing outstanding is unref'd, so an idle pool does not keep the process alive;
// a worker that dies fails what it had (a defect for the callers) and is replaced.
const makePool = (size: number) => {
  const url = new URL("./SodiumEd25519Worker.ts", import.meta.url)
  let closing = false
  let next = 0
  interface Slot {
    worker: Worker
    load: number
    readonly pending: Map<number, Pending>
  }
  const wire = (slot: Slot) => {
    const worker = slot.worker
    worker.unref()
    worker.on("message", ({ id, answers }: { id: number; answers: ArrayBuffer }) => {
      if (--slot.load === 0) worker.unref()
      const p = slot.pending.get(id)
      slot.pending.delete(id)
      p?.resolve(new Uint8Array(answers))
    })
    const fail = (error: unknown) => {
      for (const p of slot.pending.values()) p.reject(error)
      slot.pending.clear()
      slot.load = 0
    }
    worker.on("error", fail)
    worker.on("exit", (code) => {
      if (closing) return
      fail(new Error(`Ed25519 worker exited with code ${code}`))
      slot.worker = new Worker(url)
      wire(slot)
    })
  }
  const workers: Array<Slot> = Array.from({ length: size }, () => {
    const slot: Slot = { worker: new Worker(url), load: 0, pending: new Map() }
    wire(slot)
    return slot
  })
  const run = (requests: ReadonlyArray<VerifyRequest>, keys: ReadonlyArray<Buffer>): Promise<Uint8Array> => {
    let total = 0
    for (const r of requests) total += 100 + r.message.length
    const buffer = new ArrayBuffer(total)
    const bytes = new Uint8Array(buffer)
    const view = new DataView(buffer)
    let at = 0
    requests.forEach((r, i) => {
      view.setUint32(at, r.message.length, true)
      bytes.set(keys[i] as Buffer, at + 4)
      bytes.set(r.signature, at + 36)
      bytes.set(r.message, at + 100)
      at += 100 + r.message.length
    })
    let target = workers[0] as (typeof workers)[number]
    for (const w of workers) if (w.load < target.load) target = w
    if (target.load++ === 0) target.worker.ref()
    const id = next++
    return new Promise((resolve, reject) => {
      target.pending.set(id, { resolve, reject })
      target.worker.postMessage({ id, count: requests.length, buffer }, [buffer])
    })
  }
  const close = () => {
    closing = true
    return Promise.all(workers.map((w) => w.worker.terminate())).then(() => undefined)
  }
  return { run, close }
}

/** Build the verifier; its worker pool (if any) is closed with the scope. */
export const make = (options: SodiumOptions = defaults) =>
  Effect.gen(function*() {
    const secp = NodeCryptoSignatureVerifier.make()
    const pool = options.workers > 0
      ? yield* Effect.acquireRelease(Effect.sync(() => makePool(options.workers)), (p) => Effect.promise(p.close))
      : null
    const verify: SignatureVerifierService["verify"] = (scheme, publicKey, message, signature) =>
      scheme === "ed25519" ? ed25519(publicKey, message, signature) : secp.verify(scheme, publicKey, message, signature)

    const verifyMany = (requests: ReadonlyArray<VerifyRequest>): Effect.Effect<ReadonlyArray<boolean>> =>
      verifyManyByScheme(
        requests,
        // Refused before libsodium sees it: a key that is not 32 bytes of hex, a signature not 64 bytes.
        (r) => (r.signature.length === 64 ? keyBytes(r.publicKey) : null),
        (edRequests, edKeys) =>
          pool === null
            ? Effect.sync(() => edRequests.map((r, k) => sodium.crypto_sign_verify_detached(r.signature, r.message, edKeys[k] as Buffer)))
            : Effect.tryPromise(() => pool.run(edRequests, edKeys)).pipe(
              Effect.orDie, // a worker crashed: nothing a caller can act on
              Effect.map((answers) => Array.from(answers, (a) => a === 1)),
              // Resumed inline in the promise's reaction, outside any turn budget: what the
              // caller does with the answers (the rest of a 500-message batch's checks) waits
              // for the scheduler's queue instead (55 ms reactions seen under a flood).
              Effect.tap(() => Effect.yieldNow)
            ),
        secp.verifyMany
      )
    return { verify, verifyMany } satisfies SignatureVerifierService
  })

/** The libsodium verifier as a layer, a worker per core. */
export const layer = Layer.effect(SignatureVerifier, make())

/** The libsodium verifier with the given options. */
export const layerWith = (options: SodiumOptions) => Layer.effect(SignatureVerifier, make(options))
