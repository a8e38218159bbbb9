/**
 * The fixed vectors of docs/canonical-encoding.md, read out of the document itself and
 * checked against the code, so the specification and the implementation cannot drift.
 * Where an independent implementation exists (node:crypto's SHA-256 and Ed25519, the
 * RFC 8032 and RFC 8785 examples), the vectors are checked against it too.
 */
import { createHash, createPrivateKey, sign as cryptoSign } from "node:crypto"
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as NobleSignatureVerifier from "../../src/adapters/signatures/NobleSignatureVerifier.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { admit } from "../../src/domain/Admission.ts"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { type Envelope, type Scheme, fromHex, idBytesOf, idOf, signingBytes, toHex, unsignedOf } from "../../src/domain/Envelope.ts"
import { keyFromSecret, signEnvelope } from "../../src/domain/Keys.ts"
import { isMessageType } from "../../src/domain/MessageTypes.ts"

const doc = readFileSync(new URL("../../docs/canonical-encoding.md", import.meta.url), "utf8")

interface Vector {
  readonly n: number
  readonly input: { readonly scheme: Scheme; readonly secretKey: string; readonly publicKey: string; readonly envelope: Envelope }
  readonly preimage: string
  readonly preimageUtf8: string | undefined
  readonly outputs: { readonly id: string; readonly signingBytes: string; readonly sig: string }
  readonly body: string | undefined
}

/** Every fenced block tagged `causeway-vector:<n>:<part>`, grouped by vector. */
const parseVectors = (markdown: string): ReadonlyArray<Vector> => {
  const parts = new Map<number, Map<string, string>>()
  for (const m of markdown.matchAll(/^```[a-z]+ causeway-vector:(\d+):([a-z0-9-]+)\n([\s\S]*?)\n```$/gm)) {
    const n = Number(m[1])
    const byPart = parts.get(n) ?? new Map<string, string>()
    const part = m[2] as string
    if (byPart.has(part)) throw new Error(`vector ${n} has two "${part}" blocks`)
    byPart.set(part, m[3] as string)
    parts.set(n, byPart)
  }
  return [...parts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([n, byPart]) => {
      const required = (part: string): string => {
        const text = byPart.get(part)
        if (text === undefined) throw new Error(`vector ${n} has no "${part}" block`)
        return text
      }
      return {
        n,
        input: JSON.parse(required("input")) as Vector["input"],
        preimage: required("id-preimage"),
        preimageUtf8: byPart.get("id-preimage-utf8"),
        outputs: JSON.parse(required("outputs")) as Vector["outputs"],
        body: byPart.get("body")
      }
    })
}

const vectors = parseVectors(doc)
const verifiers = [
  ["node:crypto", NodeCryptoSignatureVerifier.make()],
  ["noble", NobleSignatureVerifier.make()]
] as const

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410), so OpenSSL can sign independently of noble.
const ED25519_PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex")

describe("docs/canonical-encoding.md fixed vectors", () => {
  it("the document holds at least three complete vectors covering both schemes and non-ASCII text", () => {
    expect(vectors.length).toBeGreaterThanOrEqual(3)
    expect(new Set(vectors.map((v) => v.input.scheme))).toEqual(new Set(["ed25519", "secp256k1"]))
    expect(vectors.some((v) => /[^\x00-\x7f]/.test(v.preimage) && /\\u00|\\[nrt"\\]/.test(v.preimage))).toBe(true)
  })

  describe.each(vectors)("vector $n", (v) => {
    const key = keyFromSecret(v.input.scheme, fromHex(v.input.secretKey))
    const e = v.input.envelope

    it("the public key is derived from the secret key, and the envelope names it", () => {
      expect(key.publicKey).toBe(v.input.publicKey)
      expect(e.scheme).toBe(v.input.scheme)
      expect(e.sender).toBe(v.input.publicKey)
    })

    it("the canonical text of the envelope without sig is exactly the id preimage", () => {
      expect(canonicalize(unsignedOf(e))).toBe(v.preimage)
      const { sig: _sig, ...withoutSig } = e
      expect(canonicalize(withoutSig)).toBe(v.preimage)
      if (v.preimageUtf8 !== undefined) {
        expect(Buffer.from(v.preimage, "utf8").toString("hex")).toBe(v.preimageUtf8.replace(/\s+/g, ""))
      }
    })

    it("the id is the SHA-256 of the preimage's UTF-8 bytes", () => {
      expect(idOf(e)).toBe(v.outputs.id)
      expect(createHash("sha256").update(v.preimage, "utf8").digest("hex")).toBe(v.outputs.id)
    })

    it("the signing bytes are \"causeway/v1/msg\" || 0x00 || id", () => {
      expect(toHex(signingBytes(idBytesOf(e)))).toBe(v.outputs.signingBytes)
      expect(Buffer.concat([Buffer.from("causeway/v1/msg", "ascii"), Buffer.of(0), Buffer.from(v.outputs.id, "hex")]).toString("hex"))
        .toBe(v.outputs.signingBytes)
    })

    it("signing reproduces the signature exactly, and both verifiers accept it", () => {
      expect(e.sig).toBe(v.outputs.sig)
      expect(signEnvelope(key, unsignedOf(e)).sig).toBe(v.outputs.sig)
      const message = Buffer.from(v.outputs.signingBytes, "hex")
      for (const [name, verifier] of verifiers) {
        expect(verifier.verify(e.scheme, e.sender, message, fromHex(v.outputs.sig)), name).toBe(true)
      }
      if (v.input.scheme === "ed25519") {
        const sk = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, fromHex(v.input.secretKey)]), format: "der", type: "pkcs8" })
        expect(cryptoSign(null, message, sk).toString("hex")).toBe(v.outputs.sig)
      }
    })

    it("the stored body is the canonical text of the whole envelope", () => {
      const body = canonicalize(e)
      if (v.body !== undefined) expect(body).toBe(v.body)
      expect(idOf(JSON.parse(body) as Envelope)).toBe(v.outputs.id)
    })

    it("admission agrees: a known type is admitted with this id and body, an unknown one refused", () => {
      const admitted = admit(e, 0, { maxMessageBytes: 65_536 })
      if (isMessageType(e.type)) {
        expect(Result.isSuccess(admitted)).toBe(true)
        if (Result.isSuccess(admitted)) {
          expect(admitted.success.id).toBe(v.outputs.id)
          expect(admitted.success.body).toBe(canonicalize(e))
        }
      } else {
        expect(Result.isFailure(admitted) && admitted.failure._tag).toBe("UnknownMessageType")
      }
    })
  })

  it("vectors built on public test keys match their published public keys", () => {
    // RFC 8032 §7.1 TEST 1 and TEST 2; secp256k1 scalar 1 is the generator point G (SEC 2).
    const published = new Map([
      ["9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"],
      ["4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"],
      ["0000000000000000000000000000000000000000000000000000000000000001", "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"]
    ])
    const matched = vectors.filter((v) => published.has(v.input.secretKey))
    expect(matched.length).toBeGreaterThanOrEqual(3)
    for (const v of matched) expect(v.input.publicKey).toBe(published.get(v.input.secretKey))
  })

  it("the keys of RFC 8785 §3.2.3's sorting example come out in the RFC's order", () => {
    const example = vectors.find((v) => v.preimage.includes("\"Hebrew Letter Dalet With Dagesh\""))
    expect(example).toBeDefined()
    const text = example?.preimage ?? ""
    // The RFC's expected output order of the members.
    const members = [
      "\"\\r\":\"Carriage Return\"",
      "\"1\":\"One\"",
      "\"\u0080\":\"Control\"",
      "\"\u00f6\":\"Latin Small Letter O With Diaeresis\"",
      "\"\u20ac\":\"Euro Sign\"",
      "\"\ud83d\ude00\":\"Emoji: Grinning Face\"",
      "\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\""
    ].map((m) => text.indexOf(m))
    expect(members.every((i) => i >= 0)).toBe(true)
    expect(members).toEqual([...members].sort((a, b) => a - b))
  })
})
