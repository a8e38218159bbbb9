/**
 * The proof bindings (src/domain/proofs/ProofBinding.ts): a SHA-256 digest as two 128-bit
 * limbs (checked against the FIPS 180-2 "abc" digest, split by Python's int()), injective and
 * inside BN254's scalar field; a register update binds only its own two hashes, in order.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { binds, hashLimbs, registerBinding, resultBinding, resultDigest } from "../../src/domain/proofs/ProofBinding.ts"

const BN254_R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n
const ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

describe("hash limbs", () => {
  it("splits SHA-256('abc') (FIPS 180-2) high half first, as Python's int(h[:32], 16) does", () => {
    expect(bytesToHex(sha256(new TextEncoder().encode("abc")))).toBe(ABC)
    expect(hashLimbs(ABC)).toEqual(["247859944228867399418143717509236138531", "233961684503093977937504818427099878829"])
  })

  it("the extremes: all zeros and all ones, each limb below the field's modulus", () => {
    expect(hashLimbs("0".repeat(64))).toEqual(["0", "0"])
    const max = ((1n << 128n) - 1n).toString()
    expect(hashLimbs("f".repeat(64))).toEqual([max, max])
    expect(BigInt(max) < BN254_R).toBe(true)
  })

  it("is injective: the limbs give the digest back", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
      const hex = bytesToHex(bytes)
      const [hi, lo] = hashLimbs(hex)
      expect(((BigInt(hi) << 128n) | BigInt(lo)).toString(16).padStart(64, "0")).toBe(hex)
    }))
  })

  it("refuses what is not a digest", () => {
    expect(() => hashLimbs("ABC")).toThrow()
    expect(() => hashLimbs("g".repeat(64))).toThrow()
  })
})

describe("bindings", () => {
  const prev = bytesToHex(sha256(new TextEncoder().encode("prev")))
  const next = bytesToHex(sha256(new TextEncoder().encode("next")))

  it("a register update's proof opens with prev then new; swapped or shifted does not bind", () => {
    const expected = registerBinding(prev, next)
    expect(binds([...expected, "7"], expected)).toBe(true)
    expect(binds(registerBinding(next, prev), expected)).toBe(false)
    expect(binds(["0", ...expected], expected)).toBe(false)
    expect(binds(expected.slice(0, 3), expected)).toBe(false)
  })

  it("a first update binds 0, 0 for its missing previous state", () => {
    expect(registerBinding(null, next).slice(0, 2)).toEqual(["0", "0"])
  })

  it("a result's binding covers its sequence, node and value", () => {
    const r = resultBinding("s", "n", { x: 1 })
    expect(r).toEqual(hashLimbs(resultDigest("s", "n", { x: 1 })))
    expect(resultBinding("s", "m", { x: 1 })).not.toEqual(r)
    expect(resultBinding("s", "n", { x: 2 })).not.toEqual(r)
  })
})
