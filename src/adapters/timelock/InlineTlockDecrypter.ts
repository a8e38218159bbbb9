/**
 * TlockDecrypter in the calling thread, on noble (pure JS, the reference) or mcl-wasm. It
 * yields to the runtime between slices so a large batch does not starve other fibers, but it
 * uses one core: production uses WorkerTlockDecrypter.
 */
import { Effect, Layer } from "effect"
import { type IbeOps, nobleIbeOps } from "../../domain/timelock/Ibe.ts"
import { TlockDecrypter, TlockDecrypterError, type TlockDecrypterService } from "../../ports/TlockDecrypter.ts"
import * as MclIbeOps from "./MclIbeOps.ts"
import { decryptSlice, fromWire } from "./TlockBatch.ts"

const SLICE = 16

/** The in-process decrypter over the given curve backend. */
export const make = (ops: IbeOps): TlockDecrypterService => ({
  describe: `${ops.name} in-process`,
  decryptBatch: (items, { chainHash }) =>
    Effect.gen(function*() {
      const out = []
      for (let i = 0; i < items.length; i += SLICE) {
        if (i > 0) yield* Effect.yieldNow
        for (const w of decryptSlice(ops, items.slice(i, i + SLICE), chainHash)) out.push(fromWire(w))
      }
      return out
    })
})

/** In-process on noble. */
export const layerNoble: Layer.Layer<TlockDecrypter> = Layer.succeed(TlockDecrypter, make(nobleIbeOps))

/** In-process on mcl-wasm. */
export const layerMcl: Layer.Layer<TlockDecrypter, TlockDecrypterError> = Layer.effect(
  TlockDecrypter,
  Effect.tryPromise({
    try: () => MclIbeOps.make(),
    catch: (cause) => new TlockDecrypterError({ reason: "mcl-wasm failed to load", cause })
  }).pipe(Effect.map(make))
)
