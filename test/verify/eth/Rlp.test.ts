import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import { MalformedRlp, type RlpItem, decodeRlp, encodeRlp, scalarToBytes } from "../../../src/domain/verify/Rlp.ts"
import { entriesOf, hexBytes, readVector, toHex } from "./vectors.ts"

// ethereum/tests RLPTests inputs: strings are byte strings (all ASCII/latin-1 here), numbers
// and "#<decimal>" are scalars, arrays are lists.
const toItem = (input: unknown): RlpItem => {
  if (Array.isArray(input)) return input.map(toItem)
  if (typeof input === "number") return scalarToBytes(BigInt(input))
  if (typeof input === "string") {
    if (input.startsWith("#")) return scalarToBytes(BigInt(input.slice(1)))
    return Uint8Array.from(input, (c) => {
      const code = c.charCodeAt(0)
      if (code > 0xff) throw new Error("non latin-1 test string")
      return code
    })
  }
  throw new Error(`unexpected RLP test input ${JSON.stringify(input)}`)
}

const caseOf = (value: unknown): { in: unknown; out: string } => {
  if (typeof value !== "object" || value === null || !("in" in value) || !("out" in value) || typeof value.out !== "string") {
    throw new Error("malformed RLP test case")
  }
  return { in: value.in, out: value.out }
}

const rlptest = entriesOf(readVector("ethereum-tests/RLPTests/rlptest.json")).map(([name, c]) => [name, caseOf(c)] as const)
const invalid = entriesOf(readVector("ethereum-tests/RLPTests/invalidRLPTest.json")).map(([name, c]) => [name, caseOf(c)] as const)
const random = entriesOf(readVector("ethereum-tests/RLPTests/RandomRLPTests/example.json")).map(([name, c]) => [name, caseOf(c)] as const)

describe("RLP: ethereum/tests RLPTests", () => {
  it("has every upstream case", () => {
    expect([rlptest.length, invalid.length, random.length]).toEqual([28, 26, 1])
  })

  describe("rlptest.json: encode and decode", () => {
    for (const [name, c] of rlptest) {
      it(name, () => {
        const item = toItem(c.in)
        expect(toHex(encodeRlp(item))).toBe(c.out.toLowerCase())
        const decoded = decodeRlp(hexBytes(c.out))
        expect(Result.isSuccess(decoded)).toBe(true)
        if (Result.isSuccess(decoded)) expect(decoded.success).toEqual(item)
      })
    }
  })

  describe("invalidRLPTest.json: rejected", () => {
    for (const [name, c] of invalid) {
      it(name, () => {
        const decoded = decodeRlp(hexBytes(c.out))
        expect(Result.isFailure(decoded)).toBe(true)
        if (Result.isFailure(decoded)) expect(decoded.failure).toBeInstanceOf(MalformedRlp)
      })
    }
  })

  describe("RandomRLPTests/example.json: valid", () => {
    for (const [name, c] of random) {
      it(name, () => {
        expect(c.in).toBe("VALID")
        const decoded = decodeRlp(hexBytes(c.out))
        expect(Result.isSuccess(decoded)).toBe(true)
        if (Result.isSuccess(decoded)) expect(toHex(encodeRlp(decoded.success))).toBe(c.out.toLowerCase())
      })
    }
  })
})

const { item: arbitraryItem } = fc.letrec<{ item: RlpItem }>((tie) => ({
  item: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.uint8Array({ maxLength: 80 }),
    fc.array(tie("item"), { maxLength: 6 })
  )
}))

describe("RLP: properties", () => {
  it("decode inverts encode", () => {
    fc.assert(
      fc.property(arbitraryItem, (item) => {
        const decoded = decodeRlp(encodeRlp(item))
        expect(Result.isSuccess(decoded) && decoded.success).toEqual(item)
      }),
      { numRuns: 500 }
    )
  })

  it("the decoder is strict: whatever it accepts re-encodes to the same bytes", () => {
    // Random bytes and one-byte mutations of valid encodings: acceptance implies canonical form.
    const mutated = fc
      .tuple(arbitraryItem, fc.nat(), fc.integer({ min: 0, max: 255 }))
      .map(([item, at, byte]) => {
        const bytes = encodeRlp(item).slice()
        bytes[at % bytes.length] = byte
        return bytes
      })
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (bytes) => {
        const decoded = decodeRlp(bytes)
        if (Result.isSuccess(decoded)) expect(toHex(encodeRlp(decoded.success))).toBe(toHex(bytes))
      }),
      { numRuns: 2000 }
    )
  })

  it("scalars are minimal big-endian", () => {
    expect(toHex(scalarToBytes(0n))).toBe("0x")
    expect(toHex(scalarToBytes(0x0100n))).toBe("0x0100")
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }), (n) => {
        const bytes = scalarToBytes(n)
        expect(bytes[0]).not.toBe(0)
        expect(BigInt(toHex(bytes))).toBe(n)
      })
    )
  })
})
