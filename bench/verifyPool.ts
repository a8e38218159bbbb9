/**
 * What handing Ed25519 checks to SodiumSignatureVerifier's worker pool costs, by batch size,
 * against its peers measured in the same run: node:crypto and libsodium on one thread.
 *
 * - nodeVerifyPerSec: `crypto.verify(null, …)` with pre-parsed keys, one thread (the peer).
 * - sodiumVerifyPerSec: `verify` of the sodium adapter, one thread (hex key in, as ingest calls it).
 * - poolPerSec[chunk]: `verifyMany` over all N in chunks of `chunk`, every chunk in flight at
 *   once (as ingest hands them off while decoding), answers awaited at the end.
 * - handOffUs: one 1-signature `verifyMany` to a single worker, awaited, one after another,
 *   minus one verify on the calling thread: packing, postMessage both ways, unpacking, the
 *   event loop's wake-up (a cost per chunk, whatever its size).
 *
 * Env: BENCH_N (signatures, default 20000), BENCH_ROUNDS (3). Last line: one JSON object.
 */
import { verify as cryptoVerify } from "node:crypto"
import { availableParallelism } from "node:os"
import { Effect, Exit, Scope } from "effect"
import * as SodiumSignatureVerifier from "../src/adapters/signatures/SodiumSignatureVerifier.ts"
import type { VerifyRequest } from "../src/ports/SignatureVerifier.ts"
import { benchSender, orderStream } from "./support/signedEnvelopes.ts"
import { fmt, median, spread } from "./support/stats.ts"

const N = Number(process.env.BENCH_N ?? 20_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CHUNKS = [16, 64, 256, 1024]

const senders = Array.from({ length: 256 }, (_, i) => benchSender(i))
const signed = orderStream(N, senders)
const requests: Array<VerifyRequest> = signed.map((s) => ({ scheme: "ed25519", publicKey: s.sender.publicHex, message: s.signed, signature: s.sig }))
console.log(`set-up: ${fmt(N)} ed25519 signatures over 48-byte signing inputs; ${availableParallelism()} core(s)`)

const main = Effect.gen(function*() {
  const scope = yield* Scope.make()
  const inline = yield* SodiumSignatureVerifier.make({ workers: 0 }).pipe(Scope.provide(scope))
  const one = yield* SodiumSignatureVerifier.make({ workers: 1 }).pipe(Scope.provide(scope))
  const pool = yield* SodiumSignatureVerifier.make({ workers: availableParallelism() }).pipe(Scope.provide(scope))

  const timed = <A>(f: () => A): number => {
    const t0 = performance.now()
    f()
    return performance.now() - t0
  }
  const timedEffect = (e: Effect.Effect<unknown>) =>
    Effect.gen(function*() {
      const t0 = performance.now()
      yield* e
      return performance.now() - t0
    })
  const chunked = (v: typeof pool, chunk: number) =>
    Effect.gen(function*() {
      const parts: Array<Effect.Effect<ReadonlyArray<boolean>>> = []
      for (let i = 0; i < N; i += chunk) parts.push(v.verifyMany(requests.slice(i, i + chunk)))
      const answers = (yield* Effect.all(parts, { concurrency: "unbounded" })).flat()
      if (answers.some((ok) => !ok)) throw new Error("a signature did not verify")
    })

  const node: Array<number> = []
  const sodium: Array<number> = []
  const poolRates: Record<number, Array<number>> = {}
  const handOff: Array<number> = []
  for (let r = 0; r <= ROUNDS; r++) {
    const nodeMs = timed(() => {
      for (const s of signed) if (!cryptoVerify(null, s.signed, s.sender.publicKey, s.sig)) throw new Error("node: did not verify")
    })
    const sodiumMs = timed(() => {
      for (const q of requests) if (!inline.verify(q.scheme, q.publicKey, q.message, q.signature)) throw new Error("sodium: did not verify")
    })
    const line: Array<string> = []
    for (const chunk of CHUNKS) {
      const poolMs = yield* timedEffect(chunked(pool, chunk))
      if (r > 0) (poolRates[chunk] ??= []).push(N / (poolMs / 1000))
      line.push(`chunk ${chunk}: pool ${fmt(N / (poolMs / 1000))}/s`)
    }
    const TRIPS = 2000
    const tripMs = yield* timedEffect(Effect.gen(function*() {
      for (let i = 0; i < TRIPS; i++) yield* one.verifyMany([requests[i % N] as VerifyRequest])
    }))
    const tripUs = (tripMs * 1000) / TRIPS - (sodiumMs * 1000) / N
    if (r > 0) handOff.push(tripUs)
    line.push(`hand-off ${tripUs.toFixed(1)} µs`)
    if (r === 0) {
      console.log("warm-up round discarded")
      continue
    }
    node.push(N / (nodeMs / 1000))
    sodium.push(N / (sodiumMs / 1000))
    console.log(`round ${r}: node:crypto ${fmt(N / (nodeMs / 1000))}/s, sodium ${fmt(N / (sodiumMs / 1000))}/s | ${line.join(" | ")}`)
  }
  yield* Scope.close(scope, Exit.void)
  const nodeVerifyPerSec = Math.round(median(node))
  const sodiumVerifyPerSec = Math.round(median(sodium))
  console.log(`node:crypto one thread: ${spread(node)}`)
  console.log(`sodium one thread:      ${spread(sodium)}`)
  for (const chunk of CHUNKS) console.log(`pool, chunk ${chunk}: ${spread(poolRates[chunk] as Array<number>)}`)
  console.log(`hand-off per chunk: median ${median(handOff).toFixed(1)} µs, min ${Math.min(...handOff).toFixed(1)}, max ${Math.max(...handOff).toFixed(1)}`)
  return {
    nodeVerifyPerSec,
    sodiumVerifyPerSec,
    ratio: Number((sodiumVerifyPerSec / nodeVerifyPerSec).toFixed(3)),
    poolPerSec: Object.fromEntries(CHUNKS.map((c) => [c, Math.round(median(poolRates[c] as Array<number>))])),
    poolRatio: Object.fromEntries(CHUNKS.map((c) => [c, Number((median(poolRates[c] as Array<number>) / nodeVerifyPerSec).toFixed(3))])),
    handOffUs: Number(median(handOff).toFixed(1))
  }
})

const result = await Effect.runPromise(main)
console.log(JSON.stringify(result))
