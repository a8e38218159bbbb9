/**
 * Rivest–Shamir–Wagner time-lock puzzles: y = x^(2^T) mod N takes T sequential squarings for
 * anyone who cannot factor N, and two short exponentiations for the creator, who can.
 *
 * - Creator: an RSA key (N = p·q, p ≡ q ≡ 3 mod 4), published once with a proof that N is a
 *   product of two primes (`proveModulus`, the Paillier–Blum modulus proof of CGGMP21, made
 *   non-interactive): nobody else knows the group order, so nobody else has a shortcut.
 * - Puzzle: x is hashed from (N, T, seed), never chosen; the plaintext is sealed with
 *   ChaCha20-Poly1305 under sha256(|y|). Creating one costs two half-size exponentiations.
 * - Solver: T squarings, then a Wesolowski proof π that y = x^(2^T), made from checkpoints
 *   kept during the solve (a few % extra work). Anyone checks (y, π) with two 128-bit
 *   exponentiations and opens the ciphertext: replay never redoes the squarings.
 *
 * Elements are taken up to sign (|v| = min(v, N−v), the group QR⁺_N), so −1, the one element
 * of known order, cannot be used to forge a proof for −y.
 *
 * What "well-formed" guarantees, and what it cannot: see docs/timelock.md.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js"
import { bytesToNumberBE, numberToBytesBE } from "@noble/curves/utils.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { Result, Schema } from "effect"

// ---------------------------------------------------------------------------------------------
// bigint arithmetic

/** a^e mod m for e ≥ 0 (4-bit fixed window). */
export const modPow = (a: bigint, e: bigint, m: bigint): bigint => {
  if (m === 1n) return 0n
  const base = ((a % m) + m) % m
  const table: Array<bigint> = [1n, base]
  for (let i = 2; i < 16; i++) table.push(((table[i - 1] as bigint) * base) % m)
  const hex = e.toString(16)
  let acc = 1n
  for (let i = 0; i < hex.length; i++) {
    if (i > 0) {
      acc = (acc * acc) % m
      acc = (acc * acc) % m
      acc = (acc * acc) % m
      acc = (acc * acc) % m
    }
    const d = parseInt(hex[i] as string, 16)
    if (d !== 0) acc = (acc * (table[d] as bigint)) % m
  }
  return acc
}

/** Inverse of a mod m (gcd must be 1). */
export const modInverse = (a: bigint, m: bigint): bigint => {
  let [r0, r1] = [((a % m) + m) % m, m]
  let [s0, s1] = [1n, 0n]
  while (r1 !== 0n) {
    const q = r0 / r1
    ;[r0, r1] = [r1, r0 - q * r1]
    ;[s0, s1] = [s1, s0 - q * s1]
  }
  if (r0 !== 1n) throw new RangeError("not invertible")
  return ((s0 % m) + m) % m
}

/** Greatest common divisor. */
export const gcd = (a: bigint, b: bigint): bigint => {
  let [x, y] = [a < 0n ? -a : a, b < 0n ? -b : b]
  while (y !== 0n) [x, y] = [y, x % y]
  return x
}

/** Jacobi symbol (a/n) for odd n > 0. */
export const jacobi = (a: bigint, n: bigint): -1 | 0 | 1 => {
  let x = ((a % n) + n) % n
  let y = n
  let sign: 1 | -1 = 1
  while (x !== 0n) {
    while ((x & 1n) === 0n) {
      x >>= 1n
      const r = y & 7n
      if (r === 3n || r === 5n) sign = sign === 1 ? -1 : 1
    }
    ;[x, y] = [y, x]
    if ((x & 3n) === 3n && (y & 3n) === 3n) sign = sign === 1 ? -1 : 1
    x %= y
  }
  return y === 1n ? sign : 0
}

const SMALL_PRIMES: ReadonlyArray<bigint> = (() => {
  const out: Array<bigint> = []
  for (let n = 3; out.length < 2000; n += 2) {
    if (out.every((p) => p * p > BigInt(n) || BigInt(n) % p !== 0n)) out.push(BigInt(n))
  }
  return out
})()

/** Miller–Rabin with the given bases (n odd, > 3). */
const millerRabin = (n: bigint, bases: ReadonlyArray<bigint>): boolean => {
  let d = n - 1n
  let s = 0
  while ((d & 1n) === 0n) {
    d >>= 1n
    s++
  }
  outer: for (const b of bases) {
    const a = 2n + (b % (n - 3n))
    let x = modPow(a, d, n)
    if (x === 1n || x === n - 1n) continue
    for (let i = 1; i < s; i++) {
      x = (x * x) % n
      if (x === n - 1n) continue outer
    }
    return false
  }
  return true
}

/** Has `n` a prime factor among the first 2,000 odd primes (or 2)? */
const hasSmallFactor = (n: bigint): boolean => (n & 1n) === 0n || SMALL_PRIMES.some((p) => n % p === 0n && n !== p)

/** Probable primality: trial division, then Miller–Rabin with the first 40 primes as bases (error < 4^-40 for random n). */
export const isProbablePrime = (n: bigint): boolean => {
  if (n < 2n) return false
  if (n === 2n || n === 3n) return true
  if (hasSmallFactor(n)) return SMALL_PRIMES.includes(n)
  return millerRabin(n, [2n, ...SMALL_PRIMES.slice(0, 39)])
}

const bitLength = (n: bigint): number => n.toString(2).length

/** |v| in Z_N: the representative of ±v in [0, N/2] (the group QR⁺_N works up to sign). */
const abs = (v: bigint, n: bigint): bigint => (v > n >> 1n ? n - v : v)

// ---------------------------------------------------------------------------------------------
// keys and the modulus proof

/** The creator's secret: N and its factors. */
export interface RswKey {
  readonly n: bigint
  readonly p: bigint
  readonly q: bigint
}

/** Random bytes source (randomness is an input of the domain). */
export type RandomBytes = (n: number) => Uint8Array

const randomPrime3mod4 = (bits: number, random: RandomBytes): bigint => {
  for (;;) {
    let c = bytesToNumberBE(random(Math.ceil(bits / 8))) & ((1n << BigInt(bits)) - 1n)
    // top two bits set so p·q has exactly 2·bits bits; ≡ 3 mod 4 (Blum)
    c |= (3n << BigInt(bits - 2)) | 3n
    if (!hasSmallFactor(c) && millerRabin(c, [2n, ...SMALL_PRIMES.slice(0, 39)])) return c
  }
}

/** A fresh creator key with a `bits`-bit modulus (2048 in production; smaller only in tests). */
export const generateKey = (bits: number, random: RandomBytes): RswKey => {
  if (!Number.isInteger(bits) || bits < 512 || bits % 2 !== 0) throw new RangeError("modulus bits must be an even integer ≥ 512")
  for (;;) {
    const p = randomPrime3mod4(bits / 2, random)
    const q = randomPrime3mod4(bits / 2, random)
    if (p !== q) return { n: p * q, p, q }
  }
}

/** Non-interactive proof that N = p·q with p ≡ q ≡ 3 mod 4 and gcd(N, φ(N)) = 1 (CGGMP21 Πmod). */
export interface ModulusProof {
  /** An element of Jacobi symbol −1. */
  readonly w: bigint
  /** Fourth roots x_i⁴ = (−1)^a_i · w^b_i · y_i. */
  readonly x: ReadonlyArray<bigint>
  /** a_i and b_i as two bits per challenge (bit 1: a, bit 0: b). */
  readonly ab: ReadonlyArray<number>
  /** N-th roots z_i^N = y_i. */
  readonly z: ReadonlyArray<bigint>
}

/** Challenges of the modulus proof: y_i hashed from (N, w, i) into Z_N. */
export const modulusChallenges = (n: bigint, w: bigint, count: number): Array<bigint> => {
  const bytes = Math.ceil(bitLength(n) / 8) + 16
  const nb = numberToBytesBE(n, Math.ceil(bitLength(n) / 8))
  const wb = numberToBytesBE(w, nb.length)
  const out: Array<bigint> = []
  for (let i = 0; i < count; i++) {
    const blocks: Array<Uint8Array> = []
    for (let j = 0; blocks.length * 32 < bytes; j++) {
      blocks.push(sha256(concatBytes(utf8ToBytes("causeway-rsw-modulus-v1"), nb, wb, u32(i), u32(j))))
    }
    out.push(bytesToNumberBE(concatBytes(...blocks).subarray(0, bytes)) % n)
  }
  return out
}

const u32 = (v: number): Uint8Array => {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, v)
  return b
}

/** Default number of challenges: soundness error 2^-80. */
export const MODULUS_PROOF_ROUNDS = 80

/** Prove the key's modulus well-formed (once per key; publish it with N). */
export const proveModulus = (key: RswKey, random: RandomBytes, rounds = MODULUS_PROOF_ROUNDS): ModulusProof => {
  const { n, p, q } = key
  let w: bigint
  do {
    w = bytesToNumberBE(random(Math.ceil(bitLength(n) / 8) + 16)) % n
  } while (jacobi(w, n) !== -1)
  const phi = (p - 1n) * (q - 1n)
  const nInv = modInverse(n, phi)
  // For p ≡ 3 mod 4, a^(((p+1)/4)^2) is the fourth root of a QR a that is itself a QR.
  const ep = ((p + 1n) / 4n) ** 2n % (p - 1n)
  const eq = ((q + 1n) / 4n) ** 2n % (q - 1n)
  const qInvP = modInverse(q, p)
  const crt = (rp: bigint, rq: bigint) => rq + q * ((((rp - rq) % p) + p) * qInvP % p)
  const legendre = (a: bigint, prime: bigint) => modPow(a, (prime - 1n) / 2n, prime) === 1n
  const ys = modulusChallenges(n, w, rounds)
  const x: Array<bigint> = []
  const ab: Array<number> = []
  const z: Array<bigint> = []
  for (const y of ys) {
    let found = false
    for (const [a, b] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
      let v = b === 1 ? (y * w) % n : y
      if (a === 1) v = (n - v) % n
      if (legendre(v, p) && legendre(v, q)) {
        x.push(crt(modPow(v, ep, p), modPow(v, eq, q)))
        ab.push((a << 1) | b)
        found = true
        break
      }
    }
    if (!found) throw new Error("challenge shares a factor with N") // probability ~2^-1000
    z.push(modPow(y, nInv, n))
  }
  return { w, x, ab, z }
}

/** The modulus or its proof is not acceptable. */
export class InvalidModulus extends Schema.TaggedError<InvalidModulus>()("InvalidModulus", {
  reason: Schema.String
}, { httpApiStatus: 400 }) {}

/** Limits a verifier holds puzzles to. */
export interface RswLimits {
  readonly modulusBits: number
  readonly minSquarings: number
  readonly maxSquarings: number
  readonly maxPlaintext: number
}

/** Production limits: 2048-bit moduli, 2^16..2^32 squarings, 64 KiB plaintexts. */
export const defaultLimits: RswLimits = { modulusBits: 2048, minSquarings: 1 << 16, maxSquarings: 2 ** 32, maxPlaintext: 64 * 1024 }

/** Check a modulus and its proof (about 10 ms per round at 2048 bits: do it once per modulus). */
export const verifyModulus = (
  n: bigint,
  proof: ModulusProof,
  modulusBits: number,
  rounds = MODULUS_PROOF_ROUNDS
): Result.Result<void, InvalidModulus> => {
  const bad = (reason: string) => Result.fail(new InvalidModulus({ reason }))
  if (bitLength(n) !== modulusBits) return bad(`modulus must have exactly ${modulusBits} bits`)
  if ((n & 3n) !== 1n) return bad("modulus must be ≡ 1 mod 4 (a product of two primes ≡ 3 mod 4)")
  if (hasSmallFactor(n)) return bad("modulus has a small prime factor")
  if (millerRabin(n, [2n, 3n, 5n, 7n])) return bad("modulus is prime")
  if (proof.x.length !== rounds || proof.z.length !== rounds || proof.ab.length !== rounds) return bad(`proof must answer ${rounds} challenges`)
  if (proof.w <= 1n || proof.w >= n || jacobi(proof.w, n) !== -1) return bad("w must have Jacobi symbol −1")
  const ys = modulusChallenges(n, proof.w, rounds)
  for (let i = 0; i < rounds; i++) {
    const y = ys[i] as bigint
    const x = proof.x[i] as bigint
    const z = proof.z[i] as bigint
    const ab = proof.ab[i] as number
    if (x <= 0n || x >= n || z <= 0n || z >= n || !(ab >= 0 && ab <= 3)) return bad(`answer ${i} out of range`)
    let v = (ab & 1) === 1 ? (y * proof.w) % n : y
    if ((ab & 2) === 2) v = (n - v) % n
    const x2 = (x * x) % n
    if ((x2 * x2) % n !== v) return bad(`fourth root ${i} does not check`)
    if (modPow(z, n, n) !== y) return bad(`N-th root ${i} does not check`)
  }
  return Result.succeed(undefined)
}

// ---------------------------------------------------------------------------------------------
// puzzles

/** A time-locked plaintext: opens after `t` squarings modulo `n`. */
export interface RswPuzzle {
  readonly n: bigint
  readonly t: number
  /** 32 bytes; x = hashToGroup(n, t, seed). */
  readonly seed: Uint8Array
  /** ChaCha20-Poly1305 under sha256("…key" ‖ |y|), nonce 0, the puzzle header as associated data. */
  readonly ciphertext: Uint8Array
}

/** A solved puzzle: y = x^(2^t) up to sign, and the Wesolowski proof of it. */
export interface RswSolution {
  readonly y: bigint
  readonly proof: bigint
}

/** The puzzle breaks a rule (size, squarings, encoding). */
export class MalformedPuzzle extends Schema.TaggedError<MalformedPuzzle>()("MalformedPuzzle", {
  reason: Schema.String
}, { httpApiStatus: 400 }) {}

/** The claimed solution is not x^(2^t), or the ciphertext does not open under it. */
export class InvalidSolution extends Schema.TaggedError<InvalidSolution>()("InvalidSolution", {
  reason: Schema.String
}, { httpApiStatus: 400 }) {}

const byteLen = (n: bigint) => Math.ceil(bitLength(n) / 8)

/** The puzzle header: what the ciphertext is bound to (N, t, seed). */
const header = (n: bigint, t: number, seed: Uint8Array): Uint8Array =>
  concatBytes(utf8ToBytes("causeway-rsw-v1"), numberToBytesBE(n, byteLen(n)), numberToBytesBE(BigInt(t), 8), seed)

/** x = |h²| with h hashed from the header into Z_N (a square, so of odd order with overwhelming probability). */
export const puzzleBase = (n: bigint, t: number, seed: Uint8Array): bigint => {
  const h = header(n, t, seed)
  const blocks: Array<Uint8Array> = []
  for (let j = 0; blocks.length * 32 < byteLen(n) + 16; j++) blocks.push(sha256(concatBytes(h, u32(j))))
  const v = bytesToNumberBE(concatBytes(...blocks)) % n
  return abs((v * v) % n, n)
}

const sealKey = (y: bigint, n: bigint): Uint8Array =>
  sha256(concatBytes(utf8ToBytes("causeway-rsw-v1/key"), numberToBytesBE(abs(y, n), byteLen(n))))

const ZERO_NONCE = new Uint8Array(12)

/** y = x^(2^t) by the trapdoor: two half-size exponentiations and CRT. */
const trapdoorPower = (key: RswKey, x: bigint, t: number): bigint => {
  const { p, q } = key
  const yp = modPow(x % p, modPow(2n, BigInt(t), p - 1n), p)
  const yq = modPow(x % q, modPow(2n, BigInt(t), q - 1n), q)
  return abs(yq + q * ((((yp - yq) % p) + p) * modInverse(q, p) % p), key.n)
}

/** Lock `plaintext` for `t` squarings (fast: uses the factorization). `seed`: 32 fresh random bytes. */
export const createPuzzle = (key: RswKey, t: number, plaintext: Uint8Array, seed: Uint8Array): RswPuzzle => {
  if (!Number.isSafeInteger(t) || t < 1) throw new RangeError("t must be a positive integer")
  if (seed.length !== 32) throw new RangeError("seed must be 32 bytes")
  const y = trapdoorPower(key, puzzleBase(key.n, t, seed), t)
  const ciphertext = chacha20poly1305(sealKey(y, key.n), ZERO_NONCE, header(key.n, t, seed)).encrypt(plaintext)
  return { n: key.n, t, seed, ciphertext }
}

/**
 * Check a puzzle's form against the limits: modulus size, squarings in range, seed and
 * ciphertext sizes, x not degenerate. The modulus itself is checked once, by `verifyModulus`.
 */
export const verifyPuzzle = (puzzle: RswPuzzle, limits: RswLimits = defaultLimits): Result.Result<RswPuzzle, MalformedPuzzle> => {
  const bad = (reason: string) => Result.fail(new MalformedPuzzle({ reason }))
  if (bitLength(puzzle.n) !== limits.modulusBits) return bad(`modulus must have ${limits.modulusBits} bits`)
  if (!Number.isSafeInteger(puzzle.t) || puzzle.t < limits.minSquarings || puzzle.t > limits.maxSquarings) {
    return bad(`squarings must be in [${limits.minSquarings}, ${limits.maxSquarings}]`)
  }
  if (puzzle.seed.length !== 32) return bad("seed must be 32 bytes")
  if (puzzle.ciphertext.length < 16 || puzzle.ciphertext.length > limits.maxPlaintext + 16) return bad("ciphertext size out of range")
  const x = puzzleBase(puzzle.n, puzzle.t, puzzle.seed)
  if (x <= 1n || gcd(x, puzzle.n) !== 1n) return bad("degenerate puzzle base")
  return Result.succeed(puzzle)
}

// ---------------------------------------------------------------------------------------------
// Wesolowski proof

/** ℓ: a 128-bit prime hashed from the statement (Fiat–Shamir challenge). */
export const challengePrime = (n: bigint, x: bigint, y: bigint, t: number): bigint => {
  const len = byteLen(n)
  const seed = sha256(
    concatBytes(utf8ToBytes("causeway-rsw-v1/prime"), numberToBytesBE(n, len), numberToBytesBE(x, len), numberToBytesBE(abs(y, n), len), numberToBytesBE(BigInt(t), 8))
  )
  let c = bytesToNumberBE(seed.subarray(0, 16)) | (1n << 127n) | 1n
  while (!isProbablePrime(c)) c += 2n
  return c
}

/** Progress callback of the solver: squarings done so far. */
export type SolveProgress = (done: number, total: number) => void

/**
 * v ↦ v^(2^k) mod N for one fixed modulus N, k ≥ 0, v in [0, N): the solver's sequential
 * squarings. Injected so an adapter can run them on a faster engine (OpenSSL); whatever runs
 * them, the Wesolowski proof is what a verifier checks.
 */
export interface Squarings {
  (v: bigint, k: number): bigint
  /** Engine name, for logs and benchmarks. */
  readonly engine: string
  /** Fixed cost of one call, in BigInt multiplications mod N: it sets the checkpoint spacing. */
  readonly callCost: number
}

/** The reference engine: k BigInt squarings, one at a time. */
export const bigintSquarings = (n: bigint): Squarings =>
  Object.assign((v: bigint, k: number) => {
    let r = v
    for (let i = 0; i < k; i++) r = (r * r) % n
    return r
  }, { engine: "BigInt", callCost: 0 })

/**
 * Solve by T sequential squarings, keeping every K-th power (the checkpoints C_j = x^(2^(Kj))),
 * then build the Wesolowski proof π = x^⌊2^T/ℓ⌋ from them. `squarings` runs each K-squaring
 * stretch (BigInt by default; the worker adapter passes OpenSSL's).
 *
 * ⌊2^T/ℓ⌋ = Σ_j b_j·2^(Kj) with K-bit digits b_j; cut each into c-bit windows d_(j,i), then
 * π = Π_i (Π_j C_j^(d_(j,i)))^(2^(ci)): per window T/K bucket products and 2^(c+1) to combine
 * the buckets, the windows joined Horner-style by c squarings each. With K = c (one window,
 * the BigInt engine's choice) that is T/κ + 2^(κ+1) multiplications, ≈ 9% of T at T = 10^6;
 * an engine with a fixed cost per call (OpenSSL) gets longer stretches and several windows.
 */
export const solvePuzzle = (
  puzzle: RswPuzzle,
  onProgress?: SolveProgress,
  progressEvery = 1 << 16,
  squarings: Squarings = bigintSquarings(puzzle.n)
): RswSolution => {
  const { n, t } = puzzle
  const x = puzzleBase(n, t, puzzle.seed)
  const { spacing, window } = proofPlan(t, squarings.callCost)
  const checkpoints: Array<bigint> = []
  let v = x
  let done = 0
  let nextReport = progressEvery
  while (done < t) {
    checkpoints.push(v)
    const stretch = Math.min(spacing, t - done)
    v = squarings(v, stretch)
    done += stretch
    if (onProgress !== undefined && done >= nextReport) {
      onProgress(done, t)
      nextReport += progressEvery
    }
  }
  const y = abs(v, n)
  const l = challengePrime(n, x, y, t)
  // b_j = ⌊2^(T−Kj)/ℓ⌋ mod 2^K = ⌊2^K·(2^(T−K(j+1)) mod ℓ)/ℓ⌋ while T−K(j+1) ≥ 0.
  const K = BigInt(spacing)
  const mask = (1n << K) - 1n
  const digits = new Array<bigint>(checkpoints.length)
  const step = (1n << K) % l
  let rem: bigint | undefined // 2^(T−K(j+1)) mod ℓ, walked from the top checkpoint down
  for (let j = checkpoints.length - 1; j >= 0; j--) {
    const e = t - spacing * j
    if (e - spacing < 0) {
      digits[j] = ((1n << BigInt(e)) / l) & mask
    } else {
      rem = rem === undefined ? modPow(2n, BigInt(e - spacing), l) : (rem * step) % l
      digits[j] = (rem << K) / l
    }
  }
  const windows = Math.ceil(spacing / window)
  const windowMask = (1n << BigInt(window)) - 1n
  const buckets = new Array<bigint>(1 << window)
  let proof = 1n
  for (let i = windows - 1; i >= 0; i--) {
    if (i < windows - 1) proof = squarings(proof, window)
    // Π_j C_j^(d_(j,i)): bucket C_j by its digit, then Π_d Y_d^d by running products from the top.
    buckets.fill(1n)
    const shift = BigInt(window * i)
    for (let j = 0; j < checkpoints.length; j++) {
      const d = Number(((digits[j] as bigint) >> shift) & windowMask)
      if (d !== 0) buckets[d] = ((buckets[d] as bigint) * (checkpoints[j] as bigint)) % n
    }
    let running = 1n
    let part = 1n
    for (let d = buckets.length - 1; d >= 1; d--) {
      const bucket = buckets[d] as bigint
      if (bucket !== 1n) running = (running * bucket) % n
      if (running !== 1n) part = (part * running) % n
    }
    proof = (proof * part) % n
  }
  return { y, proof: abs(proof, n) }
}

/**
 * Checkpoint spacing K and window c minimising the solve's extra work, in multiplications: T/K
 * engine calls at `callCost` each, T/K·⌈K/c⌉ bucket products, ⌈K/c⌉·2^(c+1) to combine buckets
 * (and ⌈K/c⌉ calls to join windows). With `callCost` 0 the best is one window, K = c.
 */
const proofPlan = (t: number, callCost: number): { readonly spacing: number; readonly window: number } => {
  const cost = (k: number, c: number) => {
    const calls = Math.ceil(t / k)
    const windows = Math.ceil(k / c)
    return calls * callCost + calls * windows + windows * (2 ** (c + 1) + callCost)
  }
  let best = { spacing: 1, window: 1 }
  let bestCost = cost(1, 1)
  const maxSpacing = callCost === 0 ? 20 : 4096
  for (let k = 1; k <= maxSpacing; k++) {
    for (let c = 1; c <= Math.min(k, 20); c++) {
      const v = cost(k, c)
      if (v < bestCost) {
        best = { spacing: k, window: c }
        bestCost = v
      }
    }
  }
  return best
}

/** Check only that y = x^(2^t) by its Wesolowski proof (two 128-bit exponentiations), without opening anything. */
export const verifyProof = (puzzle: RswPuzzle, solution: RswSolution): Result.Result<void, InvalidSolution> => {
  const bad = (reason: string) => Result.fail(new InvalidSolution({ reason }))
  const { n, t } = puzzle
  const half = n >> 1n
  if (solution.y <= 0n || solution.y > half || solution.proof <= 0n || solution.proof > half) return bad("y and π must be in [1, N/2]")
  const x = puzzleBase(n, t, puzzle.seed)
  const l = challengePrime(n, x, solution.y, t)
  const r = modPow(2n, BigInt(t), l)
  if (abs((modPow(solution.proof, l, n) * modPow(x, r, n)) % n, n) !== solution.y) return bad("Wesolowski proof does not verify")
  return Result.succeed(undefined)
}

/** Check a solution with its proof (two 128-bit exponentiations) and open the ciphertext. */
export const verifySolution = (puzzle: RswPuzzle, solution: RswSolution): Result.Result<Uint8Array, InvalidSolution> => {
  const bad = (reason: string) => Result.fail(new InvalidSolution({ reason }))
  const { n, t } = puzzle
  const proven = verifyProof(puzzle, solution)
  if (Result.isFailure(proven)) return Result.fail(proven.failure)
  try {
    return Result.succeed(chacha20poly1305(sealKey(solution.y, n), ZERO_NONCE, header(n, t, puzzle.seed)).decrypt(puzzle.ciphertext))
  } catch {
    return bad("ciphertext does not open under the solution (the creator sealed something else)")
  }
}

// ---------------------------------------------------------------------------------------------
// wire form

const HexBig = Schema.String.check(Schema.isPattern(/^[0-9a-f]{1,2048}$/u))
const HexBytes = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2}){0,140000}$/u))

/** A puzzle as JSON (hex numbers and bytes). */
export const RswPuzzleJson = Schema.Struct({
  n: HexBig,
  t: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1)),
  seed: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)),
  ciphertext: HexBytes
})
/** A puzzle as JSON. */
export type RswPuzzleJson = typeof RswPuzzleJson.Type

/** A solution as JSON. */
export const RswSolutionJson = Schema.Struct({ y: HexBig, proof: HexBig })
/** A solution as JSON. */
export type RswSolutionJson = typeof RswSolutionJson.Type

const hex = (b: Uint8Array) => Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("")
const unhex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16))

/** Puzzle → JSON. */
export const puzzleToJson = (p: RswPuzzle): RswPuzzleJson => ({ n: p.n.toString(16), t: p.t, seed: hex(p.seed), ciphertext: hex(p.ciphertext) })
/** JSON (already decoded with `RswPuzzleJson`) → puzzle. */
export const puzzleFromJson = (j: RswPuzzleJson): RswPuzzle => ({ n: BigInt("0x" + j.n), t: j.t, seed: unhex(j.seed), ciphertext: unhex(j.ciphertext) })
/** Solution → JSON. */
export const solutionToJson = (s: RswSolution): RswSolutionJson => ({ y: s.y.toString(16), proof: s.proof.toString(16) })
/** JSON (decoded with `RswSolutionJson`) → solution. */
export const solutionFromJson = (j: RswSolutionJson): RswSolution => ({ y: BigInt("0x" + j.y), proof: BigInt("0x" + j.proof) })
