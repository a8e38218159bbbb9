/**
 * Batch tlock decryption: when a batch is sealed and its round's beacon is out, every
 * time-locked order of the batch is opened at once. One pairing per ciphertext, so the
 * adapters differ in speed only: mcl-wasm across worker threads in production, noble or
 * mcl in-process for tests and small deployments. Results come back in input order, one
 * per ciphertext; a bad ciphertext fails its own entry, never the batch.
 */
import { Context, Data, type Effect, type Result } from "effect"
import type { TlockError } from "../domain/timelock/Tlock.ts"

/** One ciphertext and the beacon signature (hex) of the round it is locked to. */
export interface DecryptItem {
  readonly ciphertext: string
  readonly signature: string
}

/** Options of a batch: ciphertexts for another chain are refused (strict mode). */
export interface DecryptBatchOptions {
  readonly chainHash: string
}

/** The decryption machinery itself failed (a worker died, WebAssembly failed to load). */
export class TlockDecrypterError extends Data.TaggedError("TlockDecrypterError")<{
  readonly reason: string
  readonly cause?: unknown
}> {}

/** The batch decrypter port. */
export interface TlockDecrypterService {
  /** Implementation name and parallelism, for logs and benchmarks. */
  readonly describe: string
  /** Decrypt every item; the i-th result belongs to the i-th item. */
  readonly decryptBatch: (
    items: ReadonlyArray<DecryptItem>,
    options: DecryptBatchOptions
  ) => Effect.Effect<ReadonlyArray<Result.Result<Uint8Array, TlockError>>, TlockDecrypterError>
}

/** The batch decrypter service tag. */
export class TlockDecrypter extends Context.Service<TlockDecrypter, TlockDecrypterService>()("causeway/TlockDecrypter") {}
