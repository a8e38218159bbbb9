/**
 * The 18 cosmos/ics23 proof vectors through src/adapters/cosmos/Ics23Verifier.ts, with the pass
 * criteria of go/vectors_test.go (the calculated root is "root"; then membership for a value,
 * non-membership for ""), and mutations of each that must fail: another value, another key,
 * another root, another spec, a damaged proof.
 */
import { ics23 } from "@confio/ics23"
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { calculateIcs23Root, verifyIcs23Membership, verifyIcs23NonMembership } from "../../../src/adapters/cosmos/Ics23Verifier.ts"
import { proofVectors } from "./vectors.ts"

const SPECS = ["iavl", "tendermint", "smt"] as const

const flipLastByte = (hex: string): string => {
  const last = Number.parseInt(hex.slice(-2), 16) ^ 0x01
  return hex.slice(0, -2) + last.toString(16).padStart(2, "0")
}

// The keys of the neighbours a non-existence proof shows: keys that do exist.
const neighbourKeys = (proofHex: string): Array<string> => {
  const proof = ics23.CommitmentProof.decode(Buffer.from(proofHex, "hex"))
  return [proof.nonexist?.left?.key, proof.nonexist?.right?.key].flatMap((k) => (k == null || k.length === 0 ? [] : [Buffer.from(k).toString("hex")]))
}

describe("ICS23 proof vectors (cosmos/ics23 testdata)", () => {
  it("has 6 vectors per spec, 18 in all", () => {
    expect(SPECS.map((s) => proofVectors(s).length)).toEqual([6, 6, 6])
  })

  for (const spec of SPECS) {
    for (const { name, vector } of proofVectors(spec)) {
      const exists = vector.value !== ""
      describe(`${spec}/${name}`, () => {
        it("passes: calculated root, then (non-)membership", () => {
          expect(calculateIcs23Root(vector.proof)).toBe(vector.root)
          if (exists) expect(verifyIcs23Membership(spec, vector.root, vector.proof, vector.key, vector.value)).toBe(true)
          else expect(verifyIcs23NonMembership(spec, vector.root, vector.proof, vector.key)).toBe(true)
        })

        it("fails with another root, another spec, or a damaged proof", () => {
          const wrongRoot = flipLastByte(vector.root)
          const otherSpec = spec === "iavl" ? "tendermint" : "iavl"
          const truncated = vector.proof.slice(0, vector.proof.length - 8)
          if (exists) {
            expect(verifyIcs23Membership(spec, wrongRoot, vector.proof, vector.key, vector.value)).toBe(false)
            expect(verifyIcs23Membership(otherSpec, vector.root, vector.proof, vector.key, vector.value)).toBe(false)
            expect(verifyIcs23Membership(spec, vector.root, truncated, vector.key, vector.value)).toBe(false)
            expect(verifyIcs23Membership(spec, vector.root, "zz", vector.key, vector.value)).toBe(false)
          } else {
            expect(verifyIcs23NonMembership(spec, wrongRoot, vector.proof, vector.key)).toBe(false)
            expect(verifyIcs23NonMembership(otherSpec, vector.root, vector.proof, vector.key)).toBe(false)
            expect(verifyIcs23NonMembership(spec, vector.root, truncated, vector.key)).toBe(false)
          }
        })

        if (exists) {
          it("fails with another value or another key", () => {
            expect(verifyIcs23Membership(spec, vector.root, vector.proof, vector.key, flipLastByte(vector.value))).toBe(false)
            expect(verifyIcs23Membership(spec, vector.root, vector.proof, vector.key, `${vector.value}00`)).toBe(false)
            expect(verifyIcs23Membership(spec, vector.root, vector.proof, vector.key, "")).toBe(false)
            expect(verifyIcs23Membership(spec, vector.root, vector.proof, flipLastByte(vector.key), vector.value)).toBe(false)
            // A membership proof says nothing about absence.
            expect(verifyIcs23NonMembership(spec, vector.root, vector.proof, vector.key)).toBe(false)
          })

          it("accepts a proof with a bit flipped only if it still says the same thing (property)", () => {
            // protobufjs ignores a field's wire type, so flipping a tag's wire-type bits can decode to
            // the very same proof: harmless malleability of the encoding. Any other flip must fail.
            const bytes = Buffer.from(vector.proof, "hex")
            const canonical = Buffer.from(ics23.CommitmentProof.encode(ics23.CommitmentProof.decode(bytes)).finish())
            const sameContent = (mutated: Buffer): boolean => {
              try {
                return Buffer.from(ics23.CommitmentProof.encode(ics23.CommitmentProof.decode(mutated)).finish()).equals(canonical)
              } catch {
                return false
              }
            }
            let rejected = 0
            fc.assert(
              fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
                const mutated = Buffer.from(bytes)
                mutated[at] = (mutated[at] ?? 0) ^ (1 << bit)
                const accepted = verifyIcs23Membership(spec, vector.root, mutated.toString("hex"), vector.key, vector.value)
                if (!accepted) rejected++
                return !accepted || sameContent(mutated)
              }),
              { numRuns: 200 }
            )
            expect(rejected).toBeGreaterThan(150)
          })
        } else {
          it("fails for a key that exists (a neighbour's), and as a membership proof", () => {
            const keys = neighbourKeys(vector.proof)
            expect(keys.length).toBeGreaterThan(0)
            for (const k of keys) expect(verifyIcs23NonMembership(spec, vector.root, vector.proof, k)).toBe(false)
            expect(verifyIcs23Membership(spec, vector.root, vector.proof, vector.key, "00")).toBe(false)
          })
        }
      })
    }
  }

  it("accepts 0x-prefixed and uppercase hex", () => {
    const { vector } = proofVectors("iavl")[0] ?? { vector: undefined }
    if (vector === undefined) throw new Error("vector missing")
    expect(verifyIcs23Membership("iavl", `0x${vector.root.toUpperCase()}`, `0x${vector.proof}`, vector.key.toUpperCase(), vector.value)).toBe(true)
  })
})
