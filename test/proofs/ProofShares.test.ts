/**
 * Reassembling a shared proof: every share present, each at most 32 KiB, joined in index
 * order, SHA-256 equal to the announced commitment; repeats ignored; anything else refuses
 * the whole proof. SHA-256 itself is checked against the FIPS 180-2 "abc" digest.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Result } from "effect"
import {
  MAX_SHARE_BYTES,
  MAX_SHARES,
  type ProofShareData,
  proofCommitment,
  proofShares,
  reassembleProof
} from "../../src/domain/proofs/ProofShares.ts"

// Deterministic pseudo-random bytes (xorshift32).
const bytesOf = (length: number, seed: number): Uint8Array => {
  const out = new Uint8Array(length)
  let s = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    out[i] = s & 0xff
  }
  return out
}
// A fixed permutation (Fisher-Yates on the same generator).
const shuffled = <A>(xs: ReadonlyArray<A>, seed: number): Array<A> => {
  const out = [...xs]
  const r = bytesOf(out.length * 4, seed)
  for (let i = out.length - 1; i > 0; i--) {
    const j = (((r[i * 4] ?? 0) << 8) | (r[i * 4 + 1] ?? 0)) % (i + 1)
    const t = out[i] as A
    out[i] = out[j] as A
    out[j] = t
  }
  return out
}
const failureOf = <A, E>(r: Result.Result<A, E>): E | undefined => (Result.isFailure(r) ? r.failure : undefined)
const flipHexDigit = (hex: string, at: number) => `${hex.slice(0, at)}${hex[at] === "0" ? "1" : "0"}${hex.slice(at + 1)}`

const MiB = 1024 * 1024
const proof = bytesOf(MiB, 0x1234)
const commitment = proofCommitment(proof)
const shares = proofShares(proof)
const announced = { shares: shares.length, commitment }

describe("reassembleProof", () => {
  it("SHA-256 is FIPS 180-2's: sha256('abc')", () => {
    expect(proofCommitment(new TextEncoder().encode("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  })

  it("a 1 MiB proof in 32 shares of 32 KiB, out of order with repeats, is the proof again", () => {
    expect(shares.length).toBe(32)
    expect(shares.every((s) => s.data.length === 2 * MAX_SHARE_BYTES)).toBe(true)
    const arrived = shuffled([...shares, ...shares.slice(3, 9), ...shares.slice(20, 21)], 7)
    expect(arrived[0]?.index).not.toBe(0)
    const bytes = reassembleProof(announced, arrived)
    expect(Result.isSuccess(bytes) && bytes.success).toEqual(proof)
  })

  it("a repeat with other data for an index already held is ignored: the first stands", () => {
    const changedRepeat: ProofShareData = { index: 5, data: flipHexDigit(shares[5]?.data ?? "", 100) }
    expect(Result.isSuccess(reassembleProof(announced, [...shares, changedRepeat]))).toBe(true)
    // Arriving first, the changed share is the one held: the commitment refuses the proof.
    expect(failureOf(reassembleProof(announced, [changedRepeat, ...shares]))?._tag).toBe("CommitmentMismatch")
  })

  it("one changed share refuses the whole proof", () => {
    for (const at of [0, 1, 2 * MAX_SHARE_BYTES - 1]) {
      const changed = shares.map((s) => (s.index === 17 ? { ...s, data: flipHexDigit(s.data, at) } : s))
      expect(failureOf(reassembleProof(announced, shuffled(changed, at + 1)))).toMatchObject({ _tag: "CommitmentMismatch", expected: commitment })
    }
    // Two shares swapped: every byte arrives, in the wrong order.
    const swapped = shares.map((s) => (s.index === 3 ? { ...s, index: 4 } : s.index === 4 ? { ...s, index: 3 } : s))
    expect(failureOf(reassembleProof(announced, swapped))?._tag).toBe("CommitmentMismatch")
  })

  it("a gap is missing shares, named", () => {
    const gaps = shares.filter((s) => s.index !== 5 && s.index !== 31)
    expect(failureOf(reassembleProof(announced, gaps))).toMatchObject({ _tag: "SharesMissing", missing: [5, 31], count: 2 })
    expect(failureOf(reassembleProof(announced, []))).toMatchObject({ _tag: "SharesMissing", count: 32 })
  })

  it("a share over 32 KiB, out of range, or not lowercase hex of whole bytes is refused", () => {
    const small = bytesOf(100, 9)
    const one = { shares: 1, commitment: proofCommitment(small) }
    const hex = proofShares(small)[0]?.data ?? ""
    expect(failureOf(reassembleProof({ shares: 1, commitment }, [{ index: 0, data: "00".repeat(MAX_SHARE_BYTES + 1) }]))?._tag).toBe("InvalidShare")
    expect(failureOf(reassembleProof(one, [{ index: 1, data: hex }]))).toMatchObject({ _tag: "ShareIndexOutOfRange", index: 1, shares: 1 })
    expect(failureOf(reassembleProof(one, [{ index: -1, data: hex }]))?._tag).toBe("ShareIndexOutOfRange")
    expect(failureOf(reassembleProof(one, [{ index: 0, data: hex.toUpperCase() }]))?._tag).toBe("InvalidShare")
    expect(failureOf(reassembleProof(one, [{ index: 0, data: `${hex}0` }]))?._tag).toBe("InvalidShare")
    expect(Result.isSuccess(reassembleProof(one, [{ index: 0, data: hex }]))).toBe(true)
  })

  it("an announcement of no share, too many shares or a malformed commitment is refused", () => {
    expect(failureOf(reassembleProof({ shares: 0, commitment }, []))?._tag).toBe("InvalidAnnouncement")
    expect(failureOf(reassembleProof({ shares: MAX_SHARES + 1, commitment }, shares))?._tag).toBe("InvalidAnnouncement")
    expect(failureOf(reassembleProof({ shares: 32, commitment: commitment.toUpperCase() }, shares))?._tag).toBe("InvalidAnnouncement")
  })

  it("property: any proof cut at any share size and delivered in any order comes back whole", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5_000 }), fc.integer({ min: 79, max: 700 }), fc.integer(), (bytes, size, seed) => {
        // 5,000 bytes in shares of 79 or more: at most MAX_SHARES shares.
        const cut = proofShares(bytes, size)
        const back = reassembleProof({ shares: cut.length, commitment: proofCommitment(bytes) }, shuffled(cut, seed))
        expect(Result.isSuccess(back) && back.success).toEqual(bytes)
      }),
      { numRuns: 200 }
    )
  })
})
