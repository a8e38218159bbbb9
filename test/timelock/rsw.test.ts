/**
 * RSW puzzles. There are no third-party vectors for this construction, so each piece is held
 * against an independent computation: primality against OpenSSL (node:crypto), the Jacobi
 * symbol against Euler's criterion, the creator's trapdoor result against the solver's T
 * squarings, the Wesolowski proof against its own equation, and the modulus proof against
 * moduli that are not products of two Blum primes.
 */
import { checkPrimeSync, randomBytes as nodeRandom } from "node:crypto"
import { sha256 } from "@noble/hashes/sha2.js"
import { utf8ToBytes } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Result, Schema } from "effect"
import fc from "fast-check"
import * as WorkerRswSolver from "../../src/adapters/timelock/WorkerRswSolver.ts"
import * as Rsw from "../../src/domain/timelock/Rsw.ts"
import { RswSolver } from "../../src/ports/RswSolver.ts"

/** Seeded randomness so keys (slow to make) are the same on every run. */
const seeded = (seed: string) => {
  let counter = 0
  return (n: number) => {
    const out = new Uint8Array(n)
    for (let o = 0; o < n; o += 32) out.set(sha256(utf8ToBytes(`${seed}/${counter++}`)).subarray(0, Math.min(32, n - o)), o)
    return out
  }
}

const BITS = 1024 // tests only; production is 2048
const key = Rsw.generateKey(BITS, seeded("rsw key"))
const proof = Rsw.proveModulus(key, seeded("rsw modulus proof"), 16)
const limits: Rsw.RswLimits = { modulusBits: BITS, minSquarings: 1, maxSquarings: 1 << 20, maxPlaintext: 4096 }
const utf8 = (s: string) => new TextEncoder().encode(s)

describe("number theory against independent implementations", () => {
  it("isProbablePrime agrees with OpenSSL on random and structured numbers", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 2n, max: (1n << 200n) }), (n) => Rsw.isProbablePrime(n) === checkPrimeSync(n)),
      { numRuns: 300 }
    )
    for (const p of [key.p, key.q]) {
      expect(checkPrimeSync(p)).toBe(true)
      expect(Rsw.isProbablePrime(p)).toBe(true)
    }
    // Carmichael numbers fool Fermat but not Miller–Rabin
    for (const c of [561n, 41041n, 825265n, 321197185n]) expect(Rsw.isProbablePrime(c)).toBe(false)
  })

  it("jacobi matches Euler's criterion modulo a prime, and is multiplicative in the modulus", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: key.n }), (a) => {
        const euler = Rsw.modPow(a, (key.p - 1n) / 2n, key.p)
        const expected = euler === 0n ? 0 : euler === 1n ? 1 : -1
        return Rsw.jacobi(a, key.p) === expected && Rsw.jacobi(a, key.n) === Rsw.jacobi(a, key.p) * Rsw.jacobi(a, key.q)
      }),
      { numRuns: 50 }
    )
  })

  it("modPow agrees with repeated multiplication, modInverse inverts", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 300n }), fc.integer({ min: 0, max: 300 }), fc.bigInt({ min: 2n, max: 1n << 256n }), (a, e, m) => {
        let slow = 1n
        for (let i = 0; i < e; i++) slow = (slow * a) % m
        return Rsw.modPow(a, BigInt(e), m) === slow % m
      }),
      { numRuns: 100 }
    )
    const inv = Rsw.modInverse(key.q, key.p)
    expect((inv * key.q) % key.p).toBe(1n)
  })

  it("keys are two distinct Blum primes with the requested modulus size", () => {
    expect(key.n).toBe(key.p * key.q)
    expect(key.n.toString(2).length).toBe(BITS)
    expect([key.p % 4n, key.q % 4n]).toEqual([3n, 3n])
    expect(key.p).not.toBe(key.q)
  })
})

describe("modulus proof", () => {
  it("an honest proof verifies", () => {
    expect(Result.isSuccess(Rsw.verifyModulus(key.n, proof, BITS, 16))).toBe(true)
  })

  it("is bound to its modulus and to each answer", () => {
    const other = Rsw.generateKey(BITS, seeded("other key"))
    expect(Result.isFailure(Rsw.verifyModulus(other.n, proof, BITS, 16))).toBe(true)
    const x = [...proof.x]
    x[3] = (x[3] as bigint) + 1n
    expect(Result.isFailure(Rsw.verifyModulus(key.n, { ...proof, x }, BITS, 16))).toBe(true)
    const z = [...proof.z]
    z[0] = (z[0] as bigint) * 2n % key.n
    expect(Result.isFailure(Rsw.verifyModulus(key.n, { ...proof, z }, BITS, 16))).toBe(true)
    expect(Result.isFailure(Rsw.verifyModulus(key.n, { ...proof, ab: proof.ab.map((v) => v ^ 2) }, BITS, 16))).toBe(true)
    expect(Result.isFailure(Rsw.verifyModulus(key.n, { ...proof, x: proof.x.slice(1) }, BITS, 16))).toBe(true)
  })

  it("a modulus of four Blum primes cannot be proven: most challenges have no fourth root", () => {
    // N = p·q·r·s is ≡ 1 mod 4 like a genuine one, so only the proof can tell. The strongest
    // prover knows all four factors and answers every challenge that has an answer; for the
    // others it can only guess.
    const extra = Rsw.generateKey(512, seeded("more primes"))
    const [p, q, r, t] = [key.p, key.q, extra.p, extra.q]
    const n = p * q * r * t
    const primes = [p, q, r, t]
    let w = 2n
    while (Rsw.jacobi(w, n) !== -1) w++
    const ys = Rsw.modulusChallenges(n, w, 64)
    const qr = (v: bigint, pr: bigint) => Rsw.modPow(v, (pr - 1n) / 2n, pr) === 1n
    const x: Array<bigint> = []
    const ab: Array<number> = []
    let answerable = 0
    for (const y of ys) {
      const combo = [0, 1, 2, 3].find((c) => {
        let v = (c & 1) === 1 ? (y * w) % n : y
        if ((c & 2) === 2) v = n - v
        return primes.every((pr) => qr(v, pr))
      })
      if (combo === undefined) {
        x.push(2n)
        ab.push(0)
        continue
      }
      answerable++
      let v = (combo & 1) === 1 ? (y * w) % n : y
      if ((combo & 2) === 2) v = n - v
      // fourth root by CRT over the three primes
      let root = 0n
      for (const pr of primes) {
        const rp = Rsw.modPow(v, ((pr + 1n) / 4n) ** 2n % (pr - 1n), pr)
        const m = n / pr
        root = (root + rp * m * Rsw.modInverse(m % pr, pr)) % n
      }
      x.push(root)
      ab.push(combo)
    }
    const phi = (p - 1n) * (q - 1n) * (r - 1n) * (t - 1n)
    const z = ys.map((y) => Rsw.modPow(y, Rsw.modInverse(n, phi), n))
    // a quarter of the challenges on average (4 of the 16 residue patterns are reachable)
    expect(answerable).toBeGreaterThan(4)
    expect(answerable).toBeLessThan(40)
    const verdict = Rsw.verifyModulus(n, { w, x, ab, z }, n.toString(2).length, 64)
    expect(Result.isFailure(verdict) && verdict.failure.reason).toMatch(/fourth root/)
    // with the same code, a genuine two-prime modulus answers all 64
    const honest = Rsw.proveModulus(key, seeded("64"), 64)
    expect(Result.isSuccess(Rsw.verifyModulus(key.n, honest, BITS, 64))).toBe(true)
  })

  it("a prime modulus, one with a small factor, or a wrong size is refused before the proof is read", () => {
    let prime = (1n << BigInt(BITS - 1)) + 1n // ≡ 1 mod 4, so only the primality check can refuse it
    while (!Rsw.isProbablePrime(prime)) prime += 4n
    const reasons = [
      Rsw.verifyModulus(prime, proof, BITS, 16),
      Rsw.verifyModulus(key.n * 3n, proof, (key.n * 3n).toString(2).length, 16),
      Rsw.verifyModulus(key.n, proof, 2048, 16)
    ].map((r) => (Result.isFailure(r) ? r.failure.reason : "accepted"))
    expect(reasons[0]).toMatch(/modulus is prime/)
    expect(reasons[1]).toMatch(/small prime factor|≡ 1 mod 4/)
    expect(reasons[2]).toMatch(/2048 bits/)
  })
})

describe("puzzles", () => {
  it("the creator's trapdoor result is the solver's: opens to the plaintext, for any number of squarings", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (t, plaintext, seed) => {
        const puzzle = Rsw.createPuzzle(key, t, plaintext, seed)
        if (Result.isFailure(Rsw.verifyPuzzle(puzzle, limits))) return false
        const solution = Rsw.solvePuzzle(puzzle)
        const opened = Rsw.verifySolution(puzzle, solution)
        return Result.isSuccess(opened) && Buffer.from(opened.success).equals(Buffer.from(plaintext))
      }),
      { numRuns: 25 }
    )
  })

  it("y really is x^(2^T) up to sign (squared step by step here, independently of the solver)", () => {
    const t = 1000
    const puzzle = Rsw.createPuzzle(key, t, utf8("order"), seeded("indep")(32))
    let v = Rsw.puzzleBase(key.n, t, puzzle.seed)
    for (let i = 0; i < t; i++) v = (v * v) % key.n
    const y = v > key.n / 2n ? key.n - v : v
    expect(Rsw.solvePuzzle(puzzle).y).toBe(y)
  })

  it("a wrong y, a wrong proof, −y with −π, or another puzzle's solution are refused", () => {
    const puzzle = Rsw.createPuzzle(key, 5000, utf8("limit order"), seeded("p1")(32))
    const other = Rsw.createPuzzle(key, 5000, utf8("limit order"), seeded("p2")(32))
    const s = Rsw.solvePuzzle(puzzle)
    const attempts: Array<Rsw.RswSolution> = [
      { y: s.y, proof: s.proof + 1n },
      { y: s.y + 1n, proof: s.proof },
      { y: key.n - s.y, proof: key.n - s.proof },
      Rsw.solvePuzzle(other),
      { y: 0n, proof: s.proof }
    ]
    for (const a of attempts) expect(Rsw.verifySolution(puzzle, a)._tag).toBe("Failure")
    expect(Rsw.verifySolution(puzzle, s)._tag).toBe("Success")
  })

  it("a ciphertext sealed under another key is caught after the solve, with a proof anyone can check", () => {
    const puzzle = Rsw.createPuzzle(key, 2000, utf8("real"), seeded("swap")(32))
    const forged = { ...puzzle, ciphertext: Rsw.createPuzzle(key, 2000, utf8("real"), seeded("swap2")(32)).ciphertext }
    const s = Rsw.solvePuzzle(forged)
    const r = Rsw.verifySolution(forged, s)
    expect(Result.isFailure(r) && r.failure.reason).toMatch(/does not open/)
  })

  it("verifyPuzzle enforces the limits", () => {
    const ok = Rsw.createPuzzle(key, 100, utf8("x"), seeded("lim")(32))
    const cases: Array<[Rsw.RswPuzzle, RegExp]> = [
      [{ ...ok, t: 0 }, /squarings/],
      [{ ...ok, t: (1 << 20) + 1 }, /squarings/],
      [{ ...ok, seed: new Uint8Array(31) }, /seed/],
      [{ ...ok, ciphertext: new Uint8Array(4096 + 17) }, /ciphertext size/],
      [{ ...ok, n: key.n >> 1n }, /modulus/]
    ]
    for (const [p, reason] of cases) {
      const r = Rsw.verifyPuzzle(p, limits)
      expect(Result.isFailure(r) && r.failure.reason).toMatch(reason)
    }
    expect(Result.isSuccess(Rsw.verifyPuzzle(ok, limits))).toBe(true)
  })

  it("puzzles and solutions survive their JSON form (decoded with Schema)", () => {
    const puzzle = Rsw.createPuzzle(key, 300, utf8("json"), new Uint8Array(nodeRandom(32)))
    const wire = JSON.parse(JSON.stringify(Rsw.puzzleToJson(puzzle)))
    const decoded = Schema.decodeUnknownSync(Rsw.RswPuzzleJson)(wire)
    const back = Rsw.puzzleFromJson(decoded)
    const s = Rsw.solvePuzzle(back)
    const sWire = Schema.decodeUnknownSync(Rsw.RswSolutionJson)(JSON.parse(JSON.stringify(Rsw.solutionToJson(s))))
    const opened = Rsw.verifySolution(puzzle, Rsw.solutionFromJson(sWire))
    expect(Result.isSuccess(opened) && new TextDecoder().decode(opened.success)).toBe("json")
    expect(() => Schema.decodeUnknownSync(Rsw.RswPuzzleJson)({ ...wire, seed: "xyz" })).toThrow()
  })

  it("the solver reports progress", () => {
    const puzzle = Rsw.createPuzzle(key, 1000, utf8("p"), seeded("prog")(32))
    const seen: Array<number> = []
    Rsw.solvePuzzle(puzzle, (done) => seen.push(done), 250)
    expect(seen).toEqual([250, 500, 750, 1000])
  })
})

describe("WorkerRswSolver", () => {
  it.live("solves on worker threads (same solution as in-thread), several at once, and stops a solve when interrupted", () =>
    Effect.gen(function*() {
      const solver = yield* RswSolver
      expect(solver.concurrency).toBe(2)
      const puzzles = [1, 2, 3].map((i) => Rsw.createPuzzle(key, 2000 + i, utf8(`puzzle ${i}`), seeded(`w${i}`)(32)))
      const solutions = yield* Effect.forEach(puzzles, solver.solve, { concurrency: "unbounded" })
      solutions.forEach((s, i) => {
        const p = puzzles[i] as Rsw.RswPuzzle
        expect(s).toEqual(Rsw.solvePuzzle(p))
        const opened = Rsw.verifySolution(p, s)
        expect(Result.isSuccess(opened) && new TextDecoder().decode(opened.success)).toBe(`puzzle ${i + 1}`)
      })
      const long = Rsw.createPuzzle(key, 2 ** 31, utf8("never"), seeded("long")(32))
      const fiber = yield* Effect.forkChild(solver.solve(long))
      yield* Effect.sleep("200 millis")
      yield* Fiber.interrupt(fiber)
      const exit = yield* Fiber.await(fiber)
      expect(exit._tag).toBe("Failure")
      // the permit came back: another solve still runs
      expect(yield* solver.solve(puzzles[0] as Rsw.RswPuzzle)).toEqual(solutions[0])
    }).pipe(Effect.provide(WorkerRswSolver.layerWith({ concurrency: 2 }))))
})
