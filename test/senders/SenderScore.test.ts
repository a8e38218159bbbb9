import { describe, expect, it } from "vitest"
import { HashMap, Option, Schema } from "effect"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import {
  addCounts,
  charge,
  countsAt,
  emptyTally,
  encodeTally,
  marksOf,
  prune,
  rateFactor,
  scoreOf,
  standingOf,
  TallyJson,
  tallyOf
} from "../../src/domain/senders/SenderScore.ts"

const times = <T>(n: number, x: T): Array<T> => Array.from({ length: n }, () => x)

describe("sender scores", () => {
  it("scores 100 less each unit's weight, at least 0", () => {
    expect(scoreOf({})).toBe(100)
    expect(scoreOf({ unrevealedCommitment: 1 })).toBe(80)
    expect(scoreOf({ badProof: 1, refusedReveal: 1 })).toBe(60)
    expect(scoreOf({ unmatchedIntent: 3, refusedProposal: 1, refusedFillReport: 1 })).toBe(30)
    expect(scoreOf({ badProof: 5 })).toBe(0)
  })

  it("keeps the whole rate from 80, half from 50, a quarter from 25, and bans below 25", () => {
    expect([100, 80, 79, 50, 49, 25, 24, 0].map(rateFactor)).toEqual([1, 1, 0.5, 0.5, 0.25, 0.25, 0, 0])
  })

  it("a standing names its reasons by kind, in a fixed order, with their weights", () => {
    expect(standingOf("k", { unmatchedIntent: 1, badProof: 2 }, 7)).toEqual({
      sender: "k",
      score: 40,
      rateFactor: 0.25,
      banned: false,
      reasons: [{ kind: "badProof", count: 2, weight: 25 }, { kind: "unmatchedIntent", count: 1, weight: 10 }],
      asOfBatch: 7
    })
    expect(standingOf("clean", {}, 0)).toEqual({ sender: "clean", score: 100, rateFactor: 1, banned: false, reasons: [], asOfBatch: 0 })
  })

  it("four commitments left unrevealed ban a sender until one unit decays, 30 sealed batches later", () => {
    const t = charge(emptyTally, times(4, ["mallory", "unrevealedCommitment"] as const), 5)
    expect(Option.getOrUndefined(HashMap.get(t, "mallory"))).toEqual({ counts: { unrevealedCommitment: 4 }, since: 5 })
    const at = (batch: number) => standingOf("mallory", marksOf(t, "mallory", batch), batch)
    expect([at(5).score, at(5).banned]).toEqual([20, true])
    expect([at(34).score, at(34).banned]).toEqual([20, true])
    expect([at(35).score, at(35).banned, at(35).rateFactor]).toEqual([40, false, 0.25])
    expect([at(65).score, at(65).rateFactor]).toEqual([60, 0.5])
    expect([at(95).score, at(95).rateFactor]).toEqual([80, 1])
    expect(at(125)).toMatchObject({ score: 100, reasons: [] })
  })

  it("each kind decays by one unit per 30 batches, in parallel", () => {
    expect(countsAt({ counts: { badProof: 1, refusedReveal: 3 }, since: 0 }, 29)).toEqual({ badProof: 1, refusedReveal: 3 })
    expect(countsAt({ counts: { badProof: 1, refusedReveal: 3 }, since: 0 }, 30)).toEqual({ refusedReveal: 2 })
    expect(countsAt({ counts: { badProof: 1, refusedReveal: 3 }, since: 0 }, 89)).toEqual({ refusedReveal: 1 })
    expect(countsAt({ counts: { badProof: 1, refusedReveal: 3 }, since: 0 }, 90)).toEqual({})
  })

  it("a new mark decays the old ones to its batch first and restarts the decay", () => {
    const first = charge(emptyTally, [["s", "refusedReveal"], ["s", "refusedReveal"]], 0)
    const again = charge(first, [["s", "badProof"]], 45)
    // At batch 45 one unit of the two had been forgiven.
    expect(marksOf(again, "s", 45)).toEqual({ refusedReveal: 1, badProof: 1 })
    expect(marksOf(again, "s", 74)).toEqual({ refusedReveal: 1, badProof: 1 })
    expect(marksOf(again, "s", 75)).toEqual({})
  })

  it("prune drops exactly the senders whose marks all decayed", () => {
    const t = charge(charge(emptyTally, [["old", "unmatchedIntent"]], 0), [["new", "unmatchedIntent"]], 20)
    expect([...HashMap.keys(prune(t, 29))].sort()).toEqual(["new", "old"])
    expect([...HashMap.keys(prune(t, 30))]).toEqual(["new"])
    expect(HashMap.size(prune(t, 50))).toBe(0)
  })

  it("sums a sender's counts over several tallies", () => {
    expect(addCounts([{ badProof: 1 }, {}, { badProof: 2, unmatchedIntent: 1 }])).toEqual({ badProof: 3, unmatchedIntent: 1 })
  })

  it("encodes a tally as integers only and decodes it back to the same canonical text", () => {
    const t = charge(emptyTally, [["b", "badProof"], ["a", "unrevealedCommitment"], ["a", "refusedFillReport"]], 3)
    const json = encodeTally(t)
    expect(canonicalize(json)).toBe(`{"a":{"counts":{"refusedFillReport":1,"unrevealedCommitment":1},"since":3},"b":{"counts":{"badProof":1},"since":3}}`)
    const back = tallyOf(Schema.decodeUnknownSync(TallyJson)(JSON.parse(canonicalize(json))))
    expect(canonicalize(encodeTally(back))).toBe(canonicalize(json))
    expect(() => Schema.decodeUnknownSync(TallyJson)({ a: { counts: { badProof: 0.5 }, since: 0 } })).toThrow()
  })
})
