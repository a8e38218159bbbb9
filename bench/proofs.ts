/**
 * Groth16 verifications per second against the bare cost of the same pairing products with
 * noble, in the same run, and proof share reassembly in MB/s.
 *
 * Verify: `verifyGroth16` on the 9 valid third-party proofs of test/vectors/groth16/cases.json
 * (1 to 9 public inputs), each from its proof.json and public.json text: JSON parse, shape and
 * canonical-decimal checks, every proof point on its curve and B in the G2 subgroup, vk_x from
 * the publics, then the pairing product. The keys are the parsed verification_key.json objects
 * a caller holds; their checks and precomputations are cached by content, as in the service.
 *
 * Bare: noble's `bn254.pairingBatch` of the same four pairs, (-A, B), (alpha, beta),
 * (vk_x, gamma), (C, delta), as points built once before timing (noble caches their validity),
 * then the comparison with 1: nothing but the pairing product. `ratio` is verifies per second
 * over bare products per second. Rounds alternate between the two so drift (turbo, GC, other
 * load) hits both alike; the rates use the summed counts.
 *
 * Reassembly: `reassembleProof` on a 1 MiB proof in 32 shares of 32 KiB (hex, as ProofShare
 * carries them) arriving in a shuffled order: decode, join, SHA-256 against the commitment.
 * `reassemblyMBps` is proof bytes (10^6) per second.
 *
 * Run: npm run bench:proofs  [-- --rounds 4 --round-ms 2000]
 * The last line is one JSON object: {"verifiesPerSec":…,"barePairingPerSec":…,"ratio":…,"reassemblyMBps":…}.
 */
import { readFileSync } from "node:fs"
import { bn254 } from "@noble/curves/bn254.js"
import { Result } from "effect"
import { verifyGroth16 } from "../src/domain/proofs/Groth16.ts"
import { proofCommitment, proofShares, reassembleProof } from "../src/domain/proofs/ProofShares.ts"

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN
  return Number.isFinite(v) && v > 0 ? v : fallback
}
const ROUNDS = arg("rounds", 4)
const ROUND_MS = arg("round-ms", 2000)

type G1 = [string, string, string]
type G2 = [[string, string], [string, string], [string, string]]
interface Key {
  readonly vk_alpha_1: G1
  readonly vk_beta_2: G2
  readonly vk_gamma_2: G2
  readonly vk_delta_2: G2
  readonly IC: ReadonlyArray<G1>
}
interface Proof {
  readonly pi_a: G1
  readonly pi_b: G2
  readonly pi_c: G1
}
interface Case {
  readonly name: string
  readonly vk: Key
  readonly proof: Proof
  readonly publicSignals: ReadonlyArray<string>
  readonly valid: boolean
}

const all = JSON.parse(readFileSync(new URL("../test/vectors/groth16/cases.json", import.meta.url), "utf8")) as ReadonlyArray<Case>
const cases = all.filter((c) => c.valid)

const g1 = ([x, y]: G1) => bn254.G1.Point.fromAffine({ x: BigInt(x), y: BigInt(y) })
const g2 = ([[x0, x1], [y0, y1]]: G2) =>
  bn254.G2.Point.fromAffine({ x: bn254.fields.Fp2.fromBigTuple([BigInt(x0), BigInt(x1)]), y: bn254.fields.Fp2.fromBigTuple([BigInt(y0), BigInt(y1)]) })

// The bare peer's inputs: the same four pairs per proof, built once.
const products = cases.map((c) => {
  let vkX = g1(c.vk.IC[0] as G1)
  for (const [i, s] of c.publicSignals.entries()) {
    if (BigInt(s) !== 0n) vkX = vkX.add(g1(c.vk.IC[i + 1] as G1).multiply(BigInt(s)))
  }
  return [
    { g1: g1(c.proof.pi_a).negate(), g2: g2(c.proof.pi_b) },
    { g1: g1(c.vk.vk_alpha_1), g2: g2(c.vk.vk_beta_2) },
    { g1: vkX, g2: g2(c.vk.vk_gamma_2) },
    { g1: g1(c.proof.pi_c), g2: g2(c.vk.vk_delta_2) }
  ]
})
// What a verifier receives: the proof and publics as text.
const inputs = cases.map((c) => ({ vk: c.vk, proofJson: JSON.stringify(c.proof), publicJson: JSON.stringify(c.publicSignals) }))

const verifyOnce = (i: number): boolean => {
  const input = inputs[i]
  if (input === undefined) return false
  return Result.isSuccess(verifyGroth16(input.vk, JSON.parse(input.proofJson), JSON.parse(input.publicJson)))
}
const bareOnce = (i: number): boolean => {
  const pairs = products[i]
  if (pairs === undefined) return false
  return bn254.fields.Fp12.eql(bn254.pairingBatch(pairs), bn254.fields.Fp12.ONE)
}

// Both must agree that every proof holds before any timing.
for (const [i, c] of cases.entries()) {
  if (!verifyOnce(i) || !bareOnce(i)) throw new Error(`${c.name} does not verify`)
}

const timed = (once: (i: number) => boolean, ms: number): { n: number; ms: number } => {
  const start = performance.now()
  let n = 0
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < cases.length; i++) if (!once(i)) throw new Error(`case ${i} failed while timed`)
    n += cases.length
    now = performance.now()
  }
  return { n, ms: now - start }
}

// 1 MiB of deterministic bytes (xorshift32) in 32 shares, in a fixed shuffled order.
const MiB = 1024 * 1024
const proofBytes = new Uint8Array(MiB)
let seed = 0x9e3779b9
for (let i = 0; i < proofBytes.length; i++) {
  seed ^= seed << 13
  seed ^= seed >>> 17
  seed ^= seed << 5
  proofBytes[i] = seed & 0xff
}
const shares = proofShares(proofBytes)
for (let i = shares.length - 1; i > 0; i--) {
  const j = (i * 7919) % (i + 1)
  const t = shares[i]
  const u = shares[j]
  if (t !== undefined && u !== undefined) [shares[i], shares[j]] = [u, t]
}
const announced = { shares: shares.length, commitment: proofCommitment(proofBytes) }
const reassembleOnce = (): boolean => Result.isSuccess(reassembleProof(announced, shares))

const timedReassembly = (ms: number): { n: number; ms: number } => {
  const start = performance.now()
  let n = 0
  let now = start
  while (now - start < ms) {
    if (!reassembleOnce()) throw new Error("reassembly failed")
    n++
    now = performance.now()
  }
  return { n, ms: now - start }
}

console.log(`${cases.length} valid Groth16 proofs (publics: ${cases.map((c) => c.publicSignals.length).join(", ")}); ${shares.length} shares of ${MiB / shares.length} bytes`)
timed(verifyOnce, ROUND_MS / 2)
timed(bareOnce, ROUND_MS / 2)
timedReassembly(ROUND_MS / 4)
const total = { verify: { n: 0, ms: 0 }, bare: { n: 0, ms: 0 }, reassembly: { n: 0, ms: 0 } }
const rate = (r: { n: number; ms: number }) => (r.n / r.ms) * 1000
for (let round = 1; round <= ROUNDS; round++) {
  const v = timed(verifyOnce, ROUND_MS)
  const b = timed(bareOnce, ROUND_MS)
  const r = timedReassembly(ROUND_MS / 2)
  for (const [key, x] of [["verify", v], ["bare", b], ["reassembly", r]] as const) {
    total[key].n += x.n
    total[key].ms += x.ms
  }
  console.log(`round ${round}: verifyGroth16 ${rate(v).toFixed(1)}/s  bare pairing product ${rate(b).toFixed(1)}/s  reassembly ${((rate(r) * MiB) / 1e6).toFixed(1)} MB/s`)
}
const verifiesPerSec = Math.round(rate(total.verify) * 10) / 10
const barePairingPerSec = Math.round(rate(total.bare) * 10) / 10
const reassemblyMBps = Math.round(((rate(total.reassembly) * MiB) / 1e6) * 10) / 10
console.log(`verifyGroth16 ${verifiesPerSec}/s, bare noble pairing product ${barePairingPerSec}/s, reassembly ${reassemblyMBps} MB/s`)
console.log(
  JSON.stringify({
    verifiesPerSec,
    barePairingPerSec,
    ratio: Math.round((rate(total.verify) / rate(total.bare)) * 100) / 100,
    reassemblyMBps,
    proofs: cases.length,
    rounds: ROUNDS
  })
)
