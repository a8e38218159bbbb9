/**
 * bench:timelock — sealing and opening a batch of 10,000 time-locked orders, and RSW puzzles.
 *
 *   1. encrypt 10,000 orders (realistic order JSON) to one round of a local quicknet-scheme
 *      beacon: tlock on mcl-wasm, one thread (this is the clients' work, spread over them);
 *   2. verify the round's beacon once, then decrypt the whole batch through the production
 *      TlockDecrypter (mcl-wasm on one worker thread per core) and check every plaintext;
 *   3. the same decryption on one thread: mcl-wasm on a sample, noble (pure JS) on a sample;
 *   4. RSW at 2,048 bits: sequential squarings/s on OpenSSL (the solver's engine) and on JS
 *      BigInt in the same run (rswRatio), solve + Wesolowski proof, the creator's trapdoor
 *      path, solution check, modulus proof check.
 *
 * Figures vary with the machine's load (shared cores): the load average is printed first.
 * Last line: {"decryptPerSec", "pureJsDecryptPerSec", ...}.
 */
import { randomBytes } from "node:crypto"
import { availableParallelism, loadavg } from "node:os"
import { Effect, Result } from "effect"
import * as LocalBeacon from "../src/adapters/beacon/LocalBeacon.ts"
import * as MclIbeOps from "../src/adapters/timelock/MclIbeOps.ts"
import * as OpensslRswSquarings from "../src/adapters/timelock/OpensslRswSquarings.ts"
import * as WorkerTlockDecrypter from "../src/adapters/timelock/WorkerTlockDecrypter.ts"
import { signRound, verifyBeacon } from "../src/domain/timelock/BeaconVerification.ts"
import { nobleIbeOps } from "../src/domain/timelock/Ibe.ts"
import * as Rsw from "../src/domain/timelock/Rsw.ts"
import { decryptWithSignature, roundEncrypter } from "../src/domain/timelock/Tlock.ts"
import { TlockDecrypter } from "../src/ports/TlockDecrypter.ts"
import { fmt } from "./support/stats.ts"
import { orderPayload } from "./support/signedEnvelopes.ts"

const BATCH = 10_000
const MCL_SAMPLE = 500
const NOBLE_SAMPLE = 120
const round3 = (x: number) => Math.round(x * 1000) / 1000
const rnd = (n: number) => new Uint8Array(randomBytes(n))
const seconds = (t0: number) => (performance.now() - t0) / 1000
// CPU time of the whole process (all threads): on a shared machine, wall time measures the
// neighbours too, CPU time per operation measures us.
const cpuSeconds = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from)
  return (d.user + d.system) / 1e6
}

console.log(`cores ${availableParallelism()}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} (shared machine: figures are noisy)`)

// --- tlock ------------------------------------------------------------------------------------
const secretKey = LocalBeacon.randomSecretKey()
const chain = LocalBeacon.chainInfoOf({ secretKey, genesisTime: Math.floor(Date.now() / 1000) })
const ROUND = 1_000
const mcl = await MclIbeOps.make()
const plaintexts = Array.from({ length: BATCH }, (_, i) => JSON.stringify({ id: i, ...orderPayload(i), expiry: 1_900_000_000_000 + i }))
const encoder = new TextEncoder()

let t0 = performance.now()
const seal = roundEncrypter(chain, ROUND, mcl)
const ciphertexts = plaintexts.map((p) => seal(encoder.encode(p)))
const encryptSeconds = seconds(t0)
const avgCiphertext = ciphertexts.reduce((a, c) => a + c.length, 0) / BATCH
console.log(`encrypt ${fmt(BATCH)} orders (mcl-wasm, 1 thread): ${encryptSeconds.toFixed(2)} s, ${fmt(BATCH / encryptSeconds)}/s; armored ciphertext ${fmt(avgCiphertext)} B on average`)

t0 = performance.now()
const signature = signRound(secretKey, ROUND)
const verified = verifyBeacon(chain, { round: ROUND, signature }, ROUND)
if (Result.isFailure(verified)) throw new Error("beacon does not verify")
const beaconMs = (performance.now() - t0)
console.log(`sign + verify the round's beacon (noble): ${beaconMs.toFixed(1)} ms, once per batch`)

const items = ciphertexts.map((ciphertext) => ({ ciphertext, signature }))
const decoder = new TextDecoder()
const checkAll = (results: ReadonlyArray<Result.Result<Uint8Array, unknown>>, offset: number) => {
  results.forEach((r, i) => {
    if (Result.isFailure(r) || decoder.decode(r.success) !== plaintexts[offset + i]) throw new Error(`order ${offset + i} did not decrypt to its plaintext`)
  })
}

const pool = await Effect.runPromise(
  Effect.gen(function*() {
    const decrypter = yield* TlockDecrypter
    // warm-up (JIT, WebAssembly tiers) on a small slice, not timed
    checkAll(yield* decrypter.decryptBatch(items.slice(0, 200), { chainHash: chain.chainHash }), 0)
    const start = performance.now()
    const cpu = process.cpuUsage()
    const results = yield* decrypter.decryptBatch(items, { chainHash: chain.chainHash })
    const s = seconds(start)
    const c = cpuSeconds(cpu)
    checkAll(results, 0)
    return { seconds: s, cpu: c, describe: decrypter.describe }
  }).pipe(Effect.provide(WorkerTlockDecrypter.layer), Effect.scoped)
)
const decryptPerSec = BATCH / pool.seconds
console.log(`decrypt ${fmt(BATCH)} orders (${pool.describe}): ${pool.seconds.toFixed(2)} s, ${fmt(decryptPerSec)}/s, all ${fmt(BATCH)} plaintexts checked`)
console.log(`  → a batch of 1,000 opens in ${(1000 / decryptPerSec).toFixed(2)} s (budget 12 s); ${fmt(decryptPerSec * 12)} orders fit one 12 s batch`)
const cpuMsPerDecrypt = (pool.cpu / BATCH) * 1000
console.log(
  `  CPU time ${cpuMsPerDecrypt.toFixed(2)} ms per order (process CPU ${pool.cpu.toFixed(1)} s over ${pool.seconds.toFixed(1)} s wall: ` +
    `we got ${(pool.cpu / pool.seconds).toFixed(2)} of ${availableParallelism()} cores); on ${availableParallelism()} idle cores that is ≈ ${fmt((availableParallelism() * 1000) / cpuMsPerDecrypt)}/s`
)

const single = (ops: typeof mcl, n: number) => {
  const start = performance.now()
  const cpu = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    const r = decryptWithSignature(ciphertexts[i] as string, signature, { chainHash: chain.chainHash, ops })
    if (Result.isFailure(r) || decoder.decode(r.success) !== plaintexts[i]) throw new Error(`order ${i} did not decrypt`)
  }
  return { perSec: n / seconds(start), perCpuSec: n / cpuSeconds(cpu) }
}
single(mcl, 50)
const mclSingle = single(mcl, MCL_SAMPLE)
const mclPerSec = mclSingle.perSec
console.log(`decrypt, 1 thread, mcl-wasm: ${fmt(mclPerSec)}/s wall, ${fmt(mclSingle.perCpuSec)} per CPU-second (${MCL_SAMPLE} orders)`)
single(nobleIbeOps, 5)
const nobleSingle = single(nobleIbeOps, NOBLE_SAMPLE)
const pureJsDecryptPerSec = nobleSingle.perSec
console.log(
  `decrypt, 1 thread, noble (pure JS): ${fmt(pureJsDecryptPerSec)}/s wall, ${fmt(nobleSingle.perCpuSec)} per CPU-second (${NOBLE_SAMPLE} orders); ` +
    `mcl-wasm is ${(mclSingle.perCpuSec / nobleSingle.perCpuSec).toFixed(1)}× faster per CPU-second`
)

// --- RSW --------------------------------------------------------------------------------------
t0 = performance.now()
const key = Rsw.generateKey(2048, rnd)
const keygenMs = performance.now() - t0
t0 = performance.now()
const modulusProof = Rsw.proveModulus(key, rnd)
const proveModulusMs = performance.now() - t0
t0 = performance.now()
if (Result.isFailure(Rsw.verifyModulus(key.n, modulusProof, 2048))) throw new Error("modulus proof does not verify")
const verifyModulusMs = performance.now() - t0
console.log(`RSW 2048-bit key ${keygenMs.toFixed(0)} ms; modulus proof (${Rsw.MODULUS_PROOF_ROUNDS} rounds) made in ${proveModulusMs.toFixed(0)} ms, checked in ${verifyModulusMs.toFixed(0)} ms (once per creator key)`)

// bare squarings: the rate a solver (or an attacker) gets on this machine, from JS BigInt and
// from OpenSSL (the solver's engine). Interleaved, three rounds each, median kept, so both see
// the same neighbours; CPU time alongside.
const squareBigInt = Rsw.bigintSquarings(key.n)
const squareOpenssl = OpensslRswSquarings.make(key.n)
if (squareOpenssl.engine !== "OpenSSL") throw new Error("OpenSSL squarings refused on this machine: the solver would fall back to BigInt")
const chunk = OpensslRswSquarings.chunkFor(key.n)
const base = Rsw.puzzleBase(key.n, 1, rnd(32))
const rate = (square: Rsw.Squarings, total: number, step: number) => {
  let v = base
  const start = performance.now()
  const cpu = process.cpuUsage()
  for (let done = 0; done < total; done += step) v = square(v, step)
  if (v === 0n) throw new Error("unreachable")
  return { perSec: total / seconds(start), perCpuSec: total / cpuSeconds(cpu) }
}
const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const bigintRuns: Array<{ perSec: number; perCpuSec: number }> = []
const opensslRuns: Array<{ perSec: number; perCpuSec: number }> = []
for (let i = 0; i < 3; i++) {
  bigintRuns.push(rate(squareBigInt, 300_000, 1000))
  opensslRuns.push(rate(squareOpenssl, 1000 * chunk, chunk))
}
const rswBigIntSquaringsPerSec = median(bigintRuns.map((r) => r.perSec))
const rswBigIntSquaringsPerCpuSec = median(bigintRuns.map((r) => r.perCpuSec))
const rswSquaringsPerSec = median(opensslRuns.map((r) => r.perSec))
const rswSquaringsPerCpuSec = median(opensslRuns.map((r) => r.perCpuSec))
const rswRatio = rswSquaringsPerSec / rswBigIntSquaringsPerSec
console.log(
  `RSW squarings (2048-bit, 1 thread, median of 3 interleaved runs): OpenSSL ${fmt(rswSquaringsPerSec)}/s wall, ${fmt(rswSquaringsPerCpuSec)} per CPU-second ` +
    `(${chunk} per call); BigInt ${fmt(rswBigIntSquaringsPerSec)}/s wall, ${fmt(rswBigIntSquaringsPerCpuSec)} per CPU-second; ratio ${rswRatio.toFixed(2)}× wall, ` +
    `${(rswSquaringsPerCpuSec / rswBigIntSquaringsPerCpuSec).toFixed(2)}× CPU`
)

const T = 1_000_000
t0 = performance.now()
const puzzle = Rsw.createPuzzle(key, T, encoder.encode(plaintexts[0] as string), rnd(32))
const createMs = performance.now() - t0
t0 = performance.now()
const solveCpu = process.cpuUsage()
const solution = Rsw.solvePuzzle(puzzle, undefined, undefined, squareOpenssl)
const solveSeconds = seconds(t0)
const solveCpuSeconds = cpuSeconds(solveCpu)
t0 = performance.now()
const opened = Rsw.verifySolution(puzzle, solution)
const verifySolutionMs = performance.now() - t0
if (Result.isFailure(opened) || decoder.decode(opened.success) !== plaintexts[0]) throw new Error("RSW puzzle did not open")
// in CPU time: wall time on a loaded machine can even make the proof look free
const proofOverhead = solveCpuSeconds * rswSquaringsPerCpuSec / T - 1
const rswSolveSquaringsPerCpuSec = T / solveCpuSeconds
console.log(
  `RSW puzzle of T = ${fmt(T)} (solver on ${squareOpenssl.engine}): created in ${createMs.toFixed(1)} ms, ` +
    `solved with proof in ${solveSeconds.toFixed(2)} s wall, ${solveCpuSeconds.toFixed(2)} s CPU (${(proofOverhead * 100).toFixed(1)}% CPU over bare OpenSSL squarings: ` +
    `per-checkpoint calls and the proof's BigInt products; ${(rswSolveSquaringsPerCpuSec / rswBigIntSquaringsPerCpuSec).toFixed(2)}× bare BigInt per CPU-second), checked + opened in ${verifySolutionMs.toFixed(1)} ms`
)
// T for a 12 s lock against bare OpenSSL squarings (what an attacker has at least); our solve adds the proof
const delay12 = Math.round(rswSquaringsPerCpuSec * 12)
const solve12 = delay12 / rswSolveSquaringsPerCpuSec
console.log(
  `  → a puzzle locking for 12 s on an idle core has T ≈ ${fmt(delay12)}; solving it with its proof takes ${solve12.toFixed(1)} s of one core: ` +
    `one core solves ${(1 / solve12).toFixed(3)} such puzzles/s, ${availableParallelism()} cores ${(availableParallelism() / solve12).toFixed(2)}/s (≈ ${(availableParallelism() * 12 / solve12).toFixed(1)} per 12 s batch)`
)

console.log(
  JSON.stringify({
    decryptPerSec: Math.round(decryptPerSec),
    pureJsDecryptPerSec: round3(pureJsDecryptPerSec),
    decryptCpuMsPerOrder: round3(cpuMsPerDecrypt),
    mclDecryptPerCpuSec: round3(mclSingle.perCpuSec),
    pureJsDecryptPerCpuSec: round3(nobleSingle.perCpuSec),
    mclSingleThreadDecryptPerSec: round3(mclPerSec),
    batch10kDecryptSeconds: round3(pool.seconds),
    batch10kEncryptSeconds: round3(encryptSeconds),
    encryptPerSec: Math.round(BATCH / encryptSeconds),
    beaconVerifyMs: round3(beaconMs),
    workers: availableParallelism(),
    rswSquaringsPerSec: Math.round(rswSquaringsPerSec),
    rswSquaringsPerCpuSec: Math.round(rswSquaringsPerCpuSec),
    rswBigIntSquaringsPerSec: Math.round(rswBigIntSquaringsPerSec),
    rswBigIntSquaringsPerCpuSec: Math.round(rswBigIntSquaringsPerCpuSec),
    rswRatio: round3(rswRatio),
    rswSolveSquaringsPerCpuSec: Math.round(rswSolveSquaringsPerCpuSec),
    rswSolveProofOverhead: round3(proofOverhead),
    rswCreateMs: round3(createMs),
    rswVerifySolutionMs: round3(verifySolutionMs),
    rswVerifyModulusMs: Math.round(verifyModulusMs)
  })
)
