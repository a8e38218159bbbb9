/**
 * Rendezvous suggestions (src/domain/sequences/Rendezvous.ts): stable, independent of the
 * operators' order, balanced over many nodes, and when an operator leaves only its nodes move.
 */
import { describe, expect, it } from "@effect/vitest"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { nodeWeight, suggestedClaimant } from "../../src/domain/sequences/Rendezvous.ts"

const ops = ["a", "b", "c", "d"].map((s) => bytesToHex(sha256(new TextEncoder().encode(`operator-${s}`))))
const nodes = Array.from({ length: 2000 }, (_, i) => `node-${i}`)

describe("rendezvous suggestion", () => {
  it("is the operator of highest SHA-256(key ‖ 0 ‖ sequence ‖ 0 ‖ node)", () => {
    expect(nodeWeight("k", "s", "n")).toBe(bytesToHex(sha256(new TextEncoder().encode("k\u0000s\u0000n"))))
    const best = [...ops].sort((x, y) => (nodeWeight(y, "seq", "n1") < nodeWeight(x, "seq", "n1") ? -1 : 1))[0]
    expect(suggestedClaimant(ops, "seq", "n1")).toBe(best)
  })

  it("does not depend on the order the operators are listed in; none without operators", () => {
    for (const n of nodes.slice(0, 50)) expect(suggestedClaimant([...ops].reverse(), "seq", n)).toBe(suggestedClaimant(ops, "seq", n))
    expect(suggestedClaimant([], "seq", "n")).toBeUndefined()
  })

  it("splits 2,000 nodes about evenly over 4 operators", () => {
    const counts = new Map<string, number>()
    for (const n of nodes) {
      const o = suggestedClaimant(ops, "seq", n) as string
      counts.set(o, (counts.get(o) ?? 0) + 1)
    }
    expect(counts.size).toBe(4)
    // 500 expected each; a binomial's standard deviation is ~19, so ±100 is over 5 sigma.
    for (const c of counts.values()) expect(Math.abs(c - 500)).toBeLessThan(100)
  })

  it("moves only the leaving operator's nodes", () => {
    const left = ops.slice(1)
    let moved = 0
    for (const n of nodes) {
      const before = suggestedClaimant(ops, "seq", n)
      const after = suggestedClaimant(left, "seq", n)
      if (before === ops[0]) moved++
      else expect(after).toBe(before)
    }
    expect(moved).toBeGreaterThan(0)
  })
})
