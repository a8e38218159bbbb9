/**
 * Groth16/BN254 against third-party vectors (test/vectors/groth16/, see its README.txt):
 * every valid proof verifies, every tampered or mismatched one fails with the reason its
 * `why` names; and noble's BN254 pairing, through the EIP-197 precompile function, against
 * the EIP-197 pairing-check vectors (execution-specs and the ethereumjs dump).
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { ecPairing } from "../../src/domain/proofs/Bn254Pairing.ts"
import { MAX_PUBLIC_INPUTS, verifyGroth16 } from "../../src/domain/proofs/Groth16.ts"

const VECTORS = path.resolve(import.meta.dirname, "../vectors/groth16")

interface Groth16Case {
  readonly name: string
  readonly vk: unknown
  readonly proof: unknown
  readonly publicSignals: unknown
  readonly valid: boolean
  readonly why: string
}
interface PairingCase {
  readonly name: string
  readonly input: string
  readonly expected: string
}

const cases = JSON.parse(readFileSync(path.join(VECTORS, "cases.json"), "utf8")) as ReadonlyArray<Groth16Case>
const pairingCases = JSON.parse(readFileSync(path.join(VECTORS, "pairing.json"), "utf8")) as ReadonlyArray<PairingCase>

const shapeReasons: Record<string, ReadonlyArray<string>> = {
  "shape/public-signals-extra": ["PublicInputCountMismatch"],
  "shape/public-signals-empty": ["PublicInputCountMismatch"],
  "shape/public-signals-not-array": ["MalformedGroth16Input"],
  "shape/public-negative": ["MalformedGroth16Input"],
  "shape/public-empty-string": ["MalformedGroth16Input"],
  "shape/vk-protocol-plonk": ["UnsupportedProofSystem"],
  "shape/vk-ic-extra-point": ["MalformedGroth16Input"],
  "shape/vk-ic-missing-point": ["MalformedGroth16Input"],
  "shape/vk-alpha-off-curve": ["PointNotOnCurve"],
  "shape/vk-ic1-off-curve": ["PointNotOnCurve"],
  "shape/vk-delta-not-in-subgroup": ["PointNotInSubgroup"],
  "shape/pi_a-x-plus-p": ["CoordinateOutOfRange"],
  "shape/pi_a-one-coordinate": ["MalformedGroth16Input"],
  "shape/pi_b-missing": ["MalformedGroth16Input"],
  // The README allows a failed pairing check; this verifier refuses a proof point at infinity before it.
  "shape/pi_c-infinity": ["PointAtInfinity", "PairingCheckFailed"],
  "shape/proof-null": ["MalformedGroth16Input"]
}

/** The failure tags a case's `why` allows (its README and `why` name the reason category). */
const expectedReasons = (c: Groth16Case): ReadonlyArray<string> => {
  const shape = shapeReasons[c.name]
  if (shape !== undefined) return shape
  if (c.name.startsWith("co-snarks/bls12-381")) return ["UnsupportedCurve"]
  if (/eq-r$|plus-r$|unreduced-public$/u.test(c.name)) return ["ScalarOutOfRange"]
  if (c.name.endsWith("/pi_a-off-curve")) return ["PointNotOnCurve"]
  if (c.name.endsWith("/pi_b-not-in-subgroup")) return ["PointNotInSubgroup"]
  // "the point is then off the curve or the pairing fails"
  if (c.name.endsWith("/pi_b-fp2-swapped")) return ["PointNotOnCurve", "PairingCheckFailed"]
  // A changed public, swapped A and C, cross pairs, stale keys, -A: every input well formed, the equation false.
  return ["PairingCheckFailed"]
}

describe("verifyGroth16 against test/vectors/groth16/cases.json", () => {
  it("holds 97 cases, 9 of them valid, as the README says", () => {
    expect([cases.length, cases.filter((c) => c.valid).length]).toEqual([97, 9])
  })

  for (const c of cases) {
    it(`${c.valid ? "verifies" : "refuses"} ${c.name}`, () => {
      const verdict = verifyGroth16(c.vk, c.proof, c.publicSignals)
      if (c.valid) {
        expect(verdict).toMatchObject({ _tag: "Success", success: { proofSystem: "groth16", curve: "bn128" } })
        expect(Result.isSuccess(verdict) && verdict.success.publicSignals).toEqual(c.publicSignals)
      } else {
        expect(verdict._tag, c.why).toBe("Failure")
        if (Result.isFailure(verdict)) expect(expectedReasons(c), c.why).toContain(verdict.failure._tag)
      }
    })
  }
})

describe("verifyGroth16 bounds and strictness beyond the vectors", () => {
  const base = cases.find((c) => c.name === "co-snarks/bn254-multiplier2")
  if (base === undefined) throw new Error("no co-snarks/bn254-multiplier2 case")
  const vk = base.vk as Record<string, unknown> & { readonly IC: ReadonlyArray<unknown> }
  const [signal] = base.publicSignals as ReadonlyArray<string>

  it("a key declaring more than MAX_PUBLIC_INPUTS publics is refused before any curve work", () => {
    const n = MAX_PUBLIC_INPUTS + 1
    const big = { ...vk, nPublic: n, IC: Array.from({ length: n + 1 }, () => vk.IC[0]) }
    const verdict = verifyGroth16(big, base.proof, Array.from({ length: n }, () => "1"))
    expect(Result.isFailure(verdict) && verdict.failure).toMatchObject({ _tag: "MalformedGroth16Input", field: "vk.IC" })
    // nPublic over the bound with IC within it: the key's shape refuses it.
    const declared = verifyGroth16({ ...vk, nPublic: n }, base.proof, base.publicSignals)
    expect(Result.isFailure(declared) && declared.failure).toMatchObject({ _tag: "MalformedGroth16Input", field: "vk" })
    const many = verifyGroth16(vk, base.proof, Array.from({ length: 1_000_000 }, () => "1"))
    expect(Result.isFailure(many) && many.failure).toMatchObject({ _tag: "MalformedGroth16Input", field: "publicSignals" })
  })

  it("a public with a leading zero, a sign or a space is not read as the same number", () => {
    for (const s of [`0${signal}`, `+${signal}`, ` ${signal}`, `${signal}\n`, "0x1"]) {
      const verdict = verifyGroth16(vk, base.proof, [s])
      expect(Result.isFailure(verdict) && verdict.failure._tag, JSON.stringify(s)).toBe("MalformedGroth16Input")
    }
  })

  it("a proof naming another curve or protocol is refused, one naming BN254 as bn254 verifies", () => {
    const proof = base.proof as Record<string, unknown>
    const onBls = verifyGroth16(vk, { ...proof, curve: "bls12381" }, base.publicSignals)
    expect(Result.isFailure(onBls) && onBls.failure).toMatchObject({ _tag: "UnsupportedCurve", curve: "bls12381" })
    const plonk = verifyGroth16(vk, { ...proof, protocol: "plonk" }, base.publicSignals)
    expect(Result.isFailure(plonk) && plonk.failure).toMatchObject({ _tag: "UnsupportedProofSystem", proofSystem: "plonk" })
    expect(verifyGroth16({ ...vk, curve: "bn254" }, { ...proof, curve: "bn254" }, base.publicSignals)._tag).toBe("Success")
  })

  it("nothing throws on inputs of the wrong type anywhere", () => {
    for (const [k, p, s] of [[undefined, undefined, undefined], [1, "x", null], [[], {}, {}], [{ ...vk, nPublic: "1" }, base.proof, ["1"]], [{ ...vk, IC: [[1, 2, 1]] }, base.proof, ["1"]]] as const) {
      expect(verifyGroth16(k, p, s)._tag).toBe("Failure")
    }
  })
})

describe("EIP-197 ecPairing on noble against test/vectors/groth16/pairing.json", () => {
  it("holds 80 cases: 24 expect 1, 11 expect 0, 45 an error", () => {
    const one = `0x${"0".repeat(63)}1`
    const zero = `0x${"0".repeat(64)}`
    expect([pairingCases.length, pairingCases.filter((c) => c.expected === one).length, pairingCases.filter((c) => c.expected === zero).length]).toEqual([80, 24, 11])
  })

  for (const c of pairingCases) {
    it(`${c.name} -> ${c.expected === "error" ? "error" : BigInt(c.expected)}`, () => {
      const out = ecPairing(Uint8Array.from(Buffer.from(c.input.slice(2), "hex")))
      const got = Result.isSuccess(out) ? `0x${Buffer.from(out.success).toString("hex")}` : "error"
      expect(got).toBe(c.expected)
    })
  }

  it("the subgroup vectors are refused for the subgroup, not the curve", () => {
    for (const c of pairingCases.filter((x) => x.name.startsWith("collector/"))) {
      const out = ecPairing(Uint8Array.from(Buffer.from(c.input.slice(2), "hex")))
      expect(Result.isFailure(out) && out.failure.point?._tag, c.name).toBe("PointNotInSubgroup")
    }
  })
})
