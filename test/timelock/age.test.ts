/**
 * The age v1 layer under tlock: strict base64 against Buffer's codec, armor as age and
 * tlock-js write it, header parsing refusals, and STREAM round trips at chunk edges.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { armor, dearmor, encodeAge, openAge, parseAge, type Stanza } from "../../src/domain/timelock/Age.ts"
import { decodeBase64, encodeBase64 } from "../../src/domain/timelock/Base64.ts"
import { decryptCases } from "./vectors.ts"

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
const fileKey = new Uint8Array(16).fill(7)
const nonce = new Uint8Array(16).fill(9)

describe("base64", () => {
  it("encodes like Buffer, padded and unpadded, and decodes its own output", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const padded = Buffer.from(bytes).toString("base64")
        const unpadded = padded.replace(/=+$/, "")
        const a = decodeBase64(padded, true)
        const b = decodeBase64(unpadded, false)
        return encodeBase64(bytes, true) === padded && encodeBase64(bytes, false) === unpadded &&
          a !== undefined && Buffer.from(a).equals(Buffer.from(bytes)) && b !== undefined && Buffer.from(b).equals(Buffer.from(bytes))
      }),
      { numRuns: 300 }
    )
  })

  it("refuses what Buffer would leniently accept", () => {
    for (const [text, pad] of [
      ["QQ", true], // missing padding
      ["QQ==", false], // padding where none is allowed
      ["QR==", true], // non-zero trailing bits (Buffer decodes it to "A" too)
      ["QQ=", true],
      ["Q", false], // impossible length
      ["QU JD", false], // whitespace
      ["QUJD\n", false],
      ["QU-D", false], // URL alphabet
      ["QUÉD", false]
    ] as const) {
      expect(decodeBase64(text, pad), JSON.stringify(text)).toBeUndefined()
    }
  })
})

describe("armor", () => {
  it("every vector ciphertext dearmors (with and without the trailing newline) and re-armors byte for byte", () => {
    for (const c of decryptCases) {
      const raw = dearmor(c.ciphertext_armored)
      expect(raw).toBeDefined()
      if (raw === undefined) continue
      expect(armor(raw)).toBe(c.ciphertext_armored.trim() + "\n")
      expect(dearmor(c.ciphertext_armored.trim())).toEqual(raw)
    }
  })

  it("accepts tlock-js's empty line after a full last line, refuses short or long inner lines", () => {
    const bytes = new Uint8Array(48) // 64 base64 columns exactly
    const a = armor(bytes)
    expect(dearmor(a.replace("\n-----END", "\n\n-----END"))).toEqual(bytes)
    const long = armor(new Uint8Array(100))
    const lines = long.split("\n")
    const joined = [lines[0], (lines[1] as string) + (lines[2] as string).slice(0, 4), (lines[2] as string).slice(4), ...lines.slice(3)].join("\n")
    expect(dearmor(joined)).toBeUndefined()
    expect(dearmor(long.replace("-----BEGIN", "----BEGIN"))).toBeUndefined()
    expect(dearmor(long + " ".repeat(2000))).toBeUndefined()
  })
})

describe("age header and payload", () => {
  const stanza: Stanza = { type: "tlock", args: ["5", "ab".repeat(32)], body: new Uint8Array(128).fill(1) }

  it("round-trips plaintexts across STREAM chunk edges and bodies of whole 64-column lines", () => {
    for (const size of [0, 1, 65535, 65536, 65537, 131072, 131073]) {
      for (const body of [new Uint8Array(48), new Uint8Array(47), new Uint8Array(0)]) {
        const plaintext = new Uint8Array(size).map((_, i) => i & 0xff)
        const file = parseAge(encodeAge(fileKey, [{ ...stanza, body }], plaintext, nonce))
        expect("stage" in file).toBe(false)
        if ("stage" in file) continue
        expect(file.stanzas[0]?.body).toEqual(body)
        const opened = openAge(file, fileKey)
        expect(opened instanceof Uint8Array && Buffer.from(opened).equals(Buffer.from(plaintext))).toBe(true)
      }
    }
  })

  it("a wrong file key fails the MAC; a dropped final chunk fails the payload", () => {
    const bytes = encodeAge(fileKey, [stanza], new Uint8Array(70_000), nonce)
    const file = parseAge(bytes)
    if ("stage" in file) throw new Error(file.reason)
    expect(openAge(file, new Uint8Array(16))).toMatchObject({ stage: "mac" })
    const cut = parseAge(bytes.subarray(0, bytes.length - (70_000 - 65_536 + 16)))
    if ("stage" in cut) throw new Error(cut.reason)
    expect(openAge(cut, fileKey)).toMatchObject({ stage: "payload" })
    const empty = parseAge(bytes.subarray(0, bytes.length - (70_000 + 32)))
    if ("stage" in empty) throw new Error(empty.reason)
    expect(openAge(empty, fileKey)).toMatchObject({ stage: "payload" })
  })

  it("refuses malformed headers with a reason", () => {
    const good = new TextDecoder("latin1").decode(encodeAge(fileKey, [stanza], new Uint8Array(3), nonce))
    const bad = [
      good.replace("age-encryption.org/v1", "age-encryption.org/v2"),
      good.replace("-> tlock", "->  tlock"),
      good.replace("-> tlock", "-> tl\u00e9ck"),
      good.replace("\n--- ", "\n---"),
      good.slice(0, good.indexOf("\n--- ")),
      "age-encryption.org/v1\n--- " + good.slice(good.indexOf("\n--- ") + 5)
    ]
    for (const b of bad) {
      const r = parseAge(latin1(b))
      expect("stage" in r && r.stage, b.slice(0, 40)).toBe("format")
    }
  })
})
