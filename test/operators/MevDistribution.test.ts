/**
 * calculateMevDistribution: exact sum, proportionality within one unit, the largest-remainder
 * rule with ties by id, determinism and independence of the list's order (fast-check), and
 * worked examples computed by hand.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { type MevParticipant, type MevShare, calculateMevDistribution } from "../../src/domain/operators/MevDistribution.ts"

const ok = (extracted: bigint, ps: ReadonlyArray<MevParticipant>): ReadonlyArray<MevShare> => {
  const r = calculateMevDistribution(extracted, ps)
  if (Result.isFailure(r)) throw new Error(`unexpected failure: ${r.failure.reason}`)
  return r.success
}
const failure = (extracted: bigint, ps: ReadonlyArray<MevParticipant>): string => {
  const r = calculateMevDistribution(extracted, ps)
  if (Result.isSuccess(r)) throw new Error("expected a failure")
  expect(r.failure._tag).toBe("InvalidMevDistribution")
  return r.failure.reason
}
const asMap = (shares: ReadonlyArray<MevShare>) => new Map(shares.map((s) => [s.id, s.share]))

/** Participants with unique ids, at least one positive weight; weights up to 2^80 or tiny. */
const participants = fc
  .uniqueArray(
    fc.record({
      id: fc.string({ minLength: 1, maxLength: 6 }),
      weight: fc.oneof(fc.bigInt({ min: 0n, max: 5n }), fc.bigInt({ min: 0n, max: 1n << 80n }))
    }),
    { minLength: 1, maxLength: 25, selector: (p) => p.id }
  )
  .filter((ps) => ps.some((p) => p.weight > 0n))
const extracted = fc.oneof(fc.bigInt({ min: 0n, max: 100n }), fc.bigInt({ min: 0n, max: 1n << 256n }))

describe("calculateMevDistribution", () => {
  it("shares sum exactly to the extracted value", () => {
    fc.assert(fc.property(extracted, participants, (x, ps) => {
      expect(ok(x, ps).reduce((a, s) => a + s.share, 0n)).toBe(x)
    }), { numRuns: 500 })
  })

  it("each share is within one unit of its exact proportional value; zero weight gets nothing", () => {
    fc.assert(fc.property(extracted, participants, (x, ps) => {
      const total = ps.reduce((a, p) => a + p.weight, 0n)
      for (const s of ok(x, ps)) {
        // |share - x·w/W| < 1  <=>  |share·W - x·w| < W
        const diff = s.share * total - x * s.weight
        expect(diff < total && -diff < total).toBe(true)
        if (s.weight === 0n) expect(s.share).toBe(0n)
      }
    }), { numRuns: 500 })
  })

  it("leftover units go to the largest remainders, equal remainders by id ascending", () => {
    fc.assert(fc.property(extracted, participants, (x, ps) => {
      const total = ps.reduce((a, p) => a + p.weight, 0n)
      const rows = ok(x, ps).map((s) => ({ id: s.id, remainder: (x * s.weight) % total, bonus: s.share - (x * s.weight) / total }))
      for (const r of rows) expect(r.bonus === 0n || r.bonus === 1n).toBe(true)
      for (const won of rows.filter((r) => r.bonus === 1n)) {
        for (const lost of rows.filter((r) => r.bonus === 0n)) {
          expect(won.remainder > lost.remainder || (won.remainder === lost.remainder && won.id < lost.id)).toBe(true)
        }
      }
    }), { numRuns: 500 })
  })

  it("a larger weight never gets a smaller share", () => {
    fc.assert(fc.property(extracted, participants, (x, ps) => {
      const shares = ok(x, ps)
      for (const a of shares) for (const b of shares) if (a.weight > b.weight) expect(a.share >= b.share).toBe(true)
    }), { numRuns: 300 })
  })

  it("is deterministic and independent of the order of the list; answers in the list's order", () => {
    fc.assert(fc.property(extracted, participants.chain((ps) => fc.tuple(fc.constant(ps), fc.shuffledSubarray(ps, { minLength: ps.length, maxLength: ps.length }))), (x, [ps, shuffled]) => {
      const a = ok(x, ps)
      expect(ok(x, ps)).toEqual(a)
      const b = ok(x, shuffled)
      expect(b.map((s) => s.id)).toEqual(shuffled.map((p) => p.id))
      expect(asMap(b)).toEqual(asMap(a))
    }), { numRuns: 300 })
  })

  it("worked examples", () => {
    // 100 over 1:1:1 -> 33 each, remainders equal (1 each), one leftover unit to the smallest id.
    expect(asMap(ok(100n, [{ id: "c", weight: 1n }, { id: "a", weight: 1n }, { id: "b", weight: 1n }]))).toEqual(
      new Map([["c", 33n], ["a", 34n], ["b", 33n]])
    )
    // 10 over 5:3:2 divides exactly.
    expect(ok(10n, [{ id: "x", weight: 5n }, { id: "y", weight: 3n }, { id: "z", weight: 2n }]).map((s) => s.share)).toEqual([5n, 3n, 2n])
    // 7 over 1:2:4 (W=7) exact; 8 over 1:2:4: quotas 8/7, 16/7, 32/7 -> floors 1,2,4, remainders 1,2,4 -> leftover 1 to the weight-4 participant.
    expect(ok(8n, [{ id: "p", weight: 1n }, { id: "q", weight: 2n }, { id: "r", weight: 4n }]).map((s) => s.share)).toEqual([1n, 2n, 5n])
    // 5 over 3 equal weights: 1 each, 2 leftover to the two smallest ids.
    expect(ok(5n, [{ id: "bb", weight: 7n }, { id: "ab", weight: 7n }, { id: "b", weight: 7n }]).map((s) => s.share)).toEqual([1n, 2n, 2n])
    // Nothing extracted: everyone gets 0. A zero weight next to a positive one gets 0.
    expect(ok(0n, [{ id: "a", weight: 3n }, { id: "b", weight: 0n }]).map((s) => s.share)).toEqual([0n, 0n])
    expect(ok(9n, [{ id: "a", weight: 0n }, { id: "b", weight: 2n }]).map((s) => s.share)).toEqual([0n, 9n])
    // Values beyond 2^53 stay exact: 2^256 - 1 over 1:1 -> halves, the odd unit to "a".
    const big = (1n << 256n) - 1n
    expect(ok(big, [{ id: "b", weight: 1n }, { id: "a", weight: 1n }]).map((s) => s.share)).toEqual([big / 2n, big / 2n + 1n])
  })

  it("refuses inputs it cannot share, with a reason", () => {
    expect(failure(-1n, [{ id: "a", weight: 1n }])).toMatch(/negative/)
    expect(failure(1n, [])).toMatch(/no participants/)
    expect(failure(1n, [{ id: "a", weight: 1n }, { id: "a", weight: 2n }])).toMatch(/more than once/)
    expect(failure(1n, [{ id: "a", weight: -1n }])).toMatch(/negative weight/)
    expect(failure(1n, [{ id: "a", weight: 0n }, { id: "b", weight: 0n }])).toMatch(/sum to zero/)
    expect(failure(1n, [{ id: "", weight: 1n }])).toMatch(/empty/)
  })
})
