/**
 * The parsing primitives under the light client: RFC 3339 times at nanosecond precision
 * (checked against Date at millisecond precision, then the nanoseconds on top), base64 and
 * hex (checked against node's Buffer), and the CanonicalVote encoder against the test
 * builder's independent one.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { precommitSignBytes } from "../../../src/domain/verify/cometbft/CanonicalVote.ts"
import { formatRfc3339Nanos, parseDurationNanos, parseRfc3339Nanos } from "../../../src/domain/verify/cometbft/CometBftTime.ts"
import { base64ToBytesOrUndefined, bytesToBase64, bytesToUpperHex, hexToBytesOrUndefined } from "../../../src/domain/verify/cometbft/JsonBytes.ts"
import { parseCommit } from "../../../src/domain/verify/cometbft/LightBlock.ts"
import { independentSignBytes } from "./ChainBuilder.ts"

describe("RFC 3339 times as bigint nanoseconds", () => {
  it("agrees with Date to the millisecond and keeps the nanoseconds (property)", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("0001-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }),
        fc.integer({ min: 0, max: 999_999 }),
        (date, subMilli) => {
          const iso = date.toISOString() // YYYY-MM-DDTHH:MM:SS.mmmZ
          const text = `${iso.slice(0, 23)}${String(subMilli).padStart(6, "0")}Z`
          const nanos = parseRfc3339Nanos(text)
          const expected = BigInt(date.getTime()) * 1_000_000n + BigInt(subMilli)
          return nanos === expected && parseRfc3339Nanos(formatRfc3339Nanos(expected)) === expected
        }
      ),
      { numRuns: 500 }
    )
  })

  it("reads offsets, short fractions and the Go zero time", () => {
    expect(parseRfc3339Nanos("1970-01-01T00:00:01Z")).toBe(1_000_000_000n)
    expect(parseRfc3339Nanos("1970-01-01T01:00:01+01:00")).toBe(1_000_000_000n)
    expect(parseRfc3339Nanos("1969-12-31T23:00:01-01:00")).toBe(1_000_000_000n)
    expect(parseRfc3339Nanos("2020-09-14T16:33:54.21191421Z")).toBe(1_600_101_234_211_914_210n)
    expect(parseRfc3339Nanos("0001-01-01T00:00:00Z")).toBe(-62_135_596_800n * 1_000_000_000n)
    expect(formatRfc3339Nanos(1_600_101_234_211_914_210n)).toBe("2020-09-14T16:33:54.21191421Z")
    expect(formatRfc3339Nanos(-62_135_596_800n * 1_000_000_000n)).toBe("0001-01-01T00:00:00Z")
  })

  it("refuses what is not a time", () => {
    for (const bad of ["2021-02-29T00:00:00Z", "2020-13-01T00:00:00Z", "2020-01-01T24:00:00Z", "2020-01-01T00:00:60Z", "2020-01-01T00:00:00", "2020-01-01T00:00:00.1234567890Z", "0000-01-01T00:00:00Z", " 2020-01-01T00:00:00Z"]) {
      expect(parseRfc3339Nanos(bad), bad).toBeUndefined()
    }
    expect(parseRfc3339Nanos("2020-02-29T00:00:00Z")).toBeDefined()
  })

  it("reads durations as decimal nanoseconds only", () => {
    expect(parseDurationNanos("1400000000000")).toBe(1_400_000_000_000n)
    expect(parseDurationNanos("0")).toBe(0n)
    for (const bad of ["-1", "1e9", "01", "", "1.5", "10s"]) expect(parseDurationNanos(bad), bad).toBeUndefined()
  })
})

describe("hex and base64", () => {
  it("agree with Buffer (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const b64 = Buffer.from(bytes).toString("base64")
        const hex = Buffer.from(bytes).toString("hex")
        return (
          bytesToBase64(bytes) === b64 &&
          Buffer.from(base64ToBytesOrUndefined(b64) ?? [1, 2, 3]).equals(Buffer.from(bytes)) &&
          bytesToUpperHex(bytes) === hex.toUpperCase() &&
          Buffer.from(hexToBytesOrUndefined(hex.toUpperCase()) ?? [1, 2, 3]).equals(Buffer.from(bytes))
        )
      })
    )
  })

  it("refuses non-canonical text", () => {
    for (const bad of ["A", "AB=", "AB=A", "ABC*", "QQ=", "QR==", "Zm9v\n"]) expect(base64ToBytesOrUndefined(bad), bad).toBeUndefined()
    for (const bad of ["0", "0g", "0x00", "é0"]) expect(hexToBytesOrUndefined(bad), bad).toBeUndefined()
  })
})

describe("CanonicalVote sign bytes", () => {
  it("match an independent encoding for any height, round, block ID and time (property)", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        fc.bigInt({ min: 0n, max: 253_402_300_799_999_999_999n }),
        fc.string({ minLength: 1, maxLength: 50 }),
        (height, round, hash, total, time, chainId) => {
          const blockId = { hash: bytesToUpperHex(hash), part_set_header: { total, hash: bytesToUpperHex(hash.slice().reverse()) } }
          const commit = parseCommit({ height: height.toString(), round, block_id: blockId, signatures: [] })
          const ours = precommitSignBytes(chainId, commit)(time)
          return Buffer.from(ours).equals(Buffer.from(independentSignBytes(chainId, height, BigInt(round), blockId, time)))
        }
      ),
      { numRuns: 300 }
    )
  })
})
