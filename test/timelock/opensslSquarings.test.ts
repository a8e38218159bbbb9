/**
 * OpenSSL's squarings (an RSA public operation with e = 2^k) against BigInt, one squaring at a
 * time: random bases and stretches, and the edges (k = 0, 1, either side of a chunk boundary;
 * v = 0, 1, N−1). Then whole solves: the same y and proof as the BigInt solver, and a solution
 * from a faulty engine is refused by the Wesolowski proof.
 */
import { generatePrimeSync } from "node:crypto"
import { sha256 } from "@noble/hashes/sha2.js"
import { utf8ToBytes } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import * as OpensslRswSquarings from "../../src/adapters/timelock/OpensslRswSquarings.ts"
import * as Rsw from "../../src/domain/timelock/Rsw.ts"

const seeded = (seed: string) => {
  let counter = 0
  return (n: number) => {
    const out = new Uint8Array(n)
    for (let o = 0; o < n; o += 32) out.set(sha256(utf8ToBytes(`${seed}/${counter++}`)).subarray(0, Math.min(32, n - o)), o)
    return out
  }
}

// Squarings do not care whether N is a Blum modulus: any odd composite of the size will do.
const n2048 = generatePrimeSync(1024, { bigint: true }) * generatePrimeSync(1024, { bigint: true })
const key1024 = Rsw.generateKey(1024, seeded("openssl squarings key"))
const moduli = [["1,024-bit", key1024.n], ["2,048-bit", n2048]] as const

const slow = (n: bigint, v: bigint, k: number): bigint => {
  let r = v
  for (let i = 0; i < k; i++) r = (r * r) % n
  return r
}

describe.each(moduli)("OpensslRswSquarings, %s modulus", (_, n) => {
  const fast = OpensslRswSquarings.makeUnchecked(n)
  const chunk = OpensslRswSquarings.chunkFor(n)

  it("make picks OpenSSL here (so the comparisons below are not BigInt against itself)", () => {
    expect(fast.engine).toBe("OpenSSL")
    expect(OpensslRswSquarings.make(n).engine).toBe("OpenSSL")
    expect(chunk).toBe(Math.min(OpensslRswSquarings.MAX_CHUNK, n.toString(2).length - 2))
  })

  it("agrees with BigInt on random bases and stretches up to three chunks", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: n - 1n }), fc.integer({ min: 0, max: 3 * chunk + 5 }), (v, k) => fast(v, k) === slow(n, v, k)),
      { numRuns: 40 }
    )
  })

  it("agrees with BigInt at the edges: k = 0, 1, 2 and either side of one and two chunks; v = 0, 1, 2, N−2, N−1", () => {
    const ks = [0, 1, 2, chunk - 1, chunk, chunk + 1, 2 * chunk - 1, 2 * chunk, 2 * chunk + 1]
    const vs = [0n, 1n, 2n, n - 2n, n - 1n, n >> 1n]
    for (const k of ks) for (const v of vs) expect([k, v, fast(v, k)]).toEqual([k, v, slow(n, v, k)])
  })

  it("refuses inputs outside its domain", () => {
    expect(() => fast(n, 1)).toThrow(RangeError)
    expect(() => fast(-1n, 1)).toThrow(RangeError)
    expect(() => fast(2n, -1)).toThrow(RangeError)
    expect(() => fast(2n, 1.5)).toThrow(RangeError)
    expect(() => OpensslRswSquarings.makeUnchecked(n + 1n)).toThrow(RangeError)
  })
})

describe("solving on OpenSSL", () => {
  const limits: Rsw.RswLimits = { modulusBits: 1024, minSquarings: 1, maxSquarings: 1 << 20, maxPlaintext: 4096 }
  const fast = OpensslRswSquarings.make(key1024.n)

  it("gives the BigInt solver's y and proof, which open the puzzle (t = 1, small, around a chunk, random)", () => {
    const chunk = OpensslRswSquarings.chunkFor(key1024.n)
    const ts = [1, 2, 13, 14, 15, chunk - 1, chunk, chunk + 1, 5000]
    const random = seeded("openssl solve")
    for (const t of [...ts, ...fc.sample(fc.integer({ min: 1, max: 20_000 }), 4)]) {
      const puzzle = Rsw.createPuzzle(key1024, t, utf8ToBytes(`t=${t}`), random(32))
      expect(Result.isSuccess(Rsw.verifyPuzzle(puzzle, limits))).toBe(true)
      const solution = Rsw.solvePuzzle(puzzle, undefined, undefined, fast)
      expect([t, solution]).toEqual([t, Rsw.solvePuzzle(puzzle)])
      const opened = Rsw.verifySolution(puzzle, solution)
      expect(Result.isSuccess(opened) && new TextDecoder().decode(opened.success)).toBe(`t=${t}`)
    }
  })

  it("whatever the call cost (so: checkpoint spacing, window, a narrower top window, a short last stretch), the proof is the BigInt solver's", () => {
    // t = 101 at call cost 50 plans 15-squaring stretches in 4-bit windows (a 3-bit top window)
    const cases = [37, 101, 999, 2047, 5003].flatMap((t) => [0.5, 1, 3, 8, 20, 50].map((callCost) => [t, callCost] as const))
    const random = seeded("call costs")
    for (const [t, callCost] of cases) {
      const puzzle = Rsw.createPuzzle(key1024, t, utf8ToBytes("c"), random(32))
      const engine: Rsw.Squarings = Object.assign((v: bigint, k: number) => fast(v, k), { engine: "OpenSSL", callCost })
      expect([t, callCost, Rsw.solvePuzzle(puzzle, undefined, undefined, engine)]).toEqual([t, callCost, Rsw.solvePuzzle(puzzle)])
    }
  })

  it("a solution from an engine that slips one squaring is refused by the proof, as are tampered ones", () => {
    const puzzle = Rsw.createPuzzle(key1024, 3000, utf8ToBytes("slip"), seeded("slip")(32))
    let calls = 0
    const slipping: Rsw.Squarings = Object.assign((v: bigint, k: number) => (++calls === 7 ? fast(v, k + 1) : fast(v, k)), {
      engine: "slipping",
      callCost: fast.callCost
    })
    const wrong = Rsw.solvePuzzle(puzzle, undefined, undefined, slipping)
    const right = Rsw.solvePuzzle(puzzle, undefined, undefined, fast)
    expect(calls).toBeGreaterThan(7)
    expect(wrong.y).not.toBe(right.y)
    expect(Rsw.verifyProof(puzzle, wrong)._tag).toBe("Failure")
    expect(Rsw.verifySolution(puzzle, wrong)._tag).toBe("Failure")
    for (const tampered of [{ y: right.y, proof: right.proof + 1n }, { y: right.y + 1n, proof: right.proof }, { y: right.y, proof: wrong.proof }]) {
      expect(Rsw.verifyProof(puzzle, tampered)._tag).toBe("Failure")
    }
    expect(Rsw.verifySolution(puzzle, right)._tag).toBe("Success")
  })
})
