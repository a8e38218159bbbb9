/**
 * tlock beyond the vectors: round trips of every size (age STREAM chunk edges included) for
 * each unchained scheme, determinism given the randomness, the strict checks (chain, round,
 * key size), and tampering: no altered byte of a ciphertext ever yields a plaintext.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { sha256, sha384 } from "@noble/hashes/sha2.js"
import { bytesToHex, concatBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import * as MclIbeOps from "../../src/adapters/timelock/MclIbeOps.ts"
import { dearmor } from "../../src/domain/timelock/Age.ts"
import { DST_G2, roundMessage, signRound, UnsupportedScheme } from "../../src/domain/timelock/BeaconVerification.ts"
import { type ChainInfo, computeChainHash } from "../../src/domain/timelock/ChainInfo.ts"
import { decryptWithSignature, encryptToRound, parseTlock, roundEncrypter } from "../../src/domain/timelock/Tlock.ts"

/** Deterministic "randomness" for reproducible ciphertexts. */
const seeded = (seed: string) => {
  let counter = 0
  return (n: number) => {
    const out = new Uint8Array(n)
    for (let o = 0; o < n; o += 32) out.set(sha256(utf8ToBytes(`${seed}/${counter++}`)).subarray(0, Math.min(32, n - o)), o)
    return out
  }
}

const sk = bls12_381.utils.randomSecretKey(sha384(utf8ToBytes("tlock test key")))
const quick = LocalBeacon.chainInfoOf({ secretKey: sk, genesisTime: 1_000_000 })

/** A chain of another scheme under the same secret, and how it signs a round. */
const chainOf = (scheme: "pedersen-bls-unchained" | "bls-unchained-on-g1"): { info: ChainInfo; sign: (round: number) => Uint8Array } => {
  const long = scheme === "pedersen-bls-unchained"
  const publicKey = bytesToHex((long ? bls12_381.longSignatures : bls12_381.shortSignatures).getPublicKey(sk).toBytes(true))
  const base = { publicKey, period: 3, genesisTime: 1_000_000, genesisSeed: "00".repeat(32), beaconId: scheme }
  return {
    info: { ...base, chainHash: computeChainHash(base), scheme },
    sign: (round) =>
      long
        ? bls12_381.longSignatures.sign(bls12_381.longSignatures.hash(roundMessage(round), DST_G2), sk).toBytes(true)
        : bls12_381.shortSignatures.sign(bls12_381.shortSignatures.hash(roundMessage(round), DST_G2), sk).toBytes(true)
  }
}

const schemes = [
  { name: "bls-unchained-g1-rfc9380 (quicknet)", info: quick, sign: (r: number) => signRound(sk, r) },
  { name: "bls-unchained-on-g1 (fastnet)", ...chainOf("bls-unchained-on-g1") },
  { name: "pedersen-bls-unchained (G2 signatures)", ...chainOf("pedersen-bls-unchained") }
]

describe("round trips", () => {
  for (const s of schemes) {
    it(`${s.name}: sizes 0, 1, 64 KiB − 1, 64 KiB, 64 KiB + 1, 200 KiB`, () => {
      const enc = roundEncrypter(s.info, 77)
      const key = s.sign(77)
      for (const size of [0, 1, 65535, 65536, 65537, 200 * 1024]) {
        const plaintext = seeded(`p${size}`)(size)
        const opened = decryptWithSignature(enc(plaintext), key, { chainHash: s.info.chainHash, round: 77 })
        expect(Result.isSuccess(opened) && bytesToHex(opened.success)).toBe(bytesToHex(plaintext))
      }
    })
  }

  it("random plaintexts open with their round's signature and not with the next round's", () => {
    const enc = roundEncrypter(quick, 5)
    const right = signRound(sk, 5)
    const wrong = signRound(sk, 6)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (plaintext) => {
        const ct = enc(plaintext)
        const opened = decryptWithSignature(ct, right)
        const refused = decryptWithSignature(ct, wrong)
        return Result.isSuccess(opened) && bytesToHex(opened.success) === bytesToHex(plaintext) &&
          Result.isFailure(refused) && refused.failure._tag === "DecryptionFailed"
      }),
      { numRuns: 15 }
    )
  })

  it("is deterministic in its randomness, and fresh randomness gives a different ciphertext", () => {
    const a = encryptToRound(quick, 9, utf8ToBytes("same"), seeded("r"))
    const b = encryptToRound(quick, 9, utf8ToBytes("same"), seeded("r"))
    const c = encryptToRound(quick, 9, utf8ToBytes("same"))
    expect(a).toBe(b)
    expect(c).not.toBe(a)
  })

  it("the header tells round and chain before the round, and the armor is age's", () => {
    const ct = encryptToRound(quick, 123456, utf8ToBytes("x"))
    expect(ct.startsWith("-----BEGIN AGE ENCRYPTED FILE-----\n")).toBe(true)
    expect(ct.endsWith("\n-----END AGE ENCRYPTED FILE-----\n")).toBe(true)
    const parsed = parseTlock(ct)
    expect(Result.isSuccess(parsed) && [parsed.success.round, parsed.success.chainHash, parsed.success.uSize]).toEqual([123456, quick.chainHash, 96])
    const raw = dearmor(ct)
    expect(raw).toBeDefined()
    if (raw === undefined) return
    const head = new TextDecoder().decode(raw.subarray(0, 120))
    expect(head.startsWith(`age-encryption.org/v1\n-> tlock 123456 ${quick.chainHash}\n`)).toBe(true)
    // the binary form decrypts too
    const opened = decryptWithSignature(raw, signRound(sk, 123456))
    expect(Result.isSuccess(opened) && new TextDecoder().decode(opened.success)).toBe("x")
  })

  it("chained and BN254 chains cannot be encrypted to", () => {
    for (const scheme of ["pedersen-bls-chained", "bls-bn254-unchained-on-g1"] as const) {
      let thrown: unknown
      try {
        encryptToRound({ ...quick, scheme }, 1, utf8ToBytes("x"))
      } catch (e) {
        thrown = e
      }
      expect(thrown).toBeInstanceOf(UnsupportedScheme)
    }
    expect(() => encryptToRound(quick, 0, utf8ToBytes("x"))).toThrow(RangeError)
  })
})

describe("strict decryption", () => {
  const ct = encryptToRound(quick, 40, utf8ToBytes("order"), seeded("strict"))
  const sig = signRound(sk, 40)

  it("refuses another chain, another round, a key of the wrong group, a key that is not hex", () => {
    const other = decryptWithSignature(ct, sig, { chainHash: "ab".repeat(32) })
    expect(Result.isFailure(other) && other.failure._tag).toBe("WrongChainHash")
    const round = decryptWithSignature(ct, sig, { round: 41 })
    expect(Result.isFailure(round) && round.failure._tag).toBe("WrongRound")
    const g2key = decryptWithSignature(ct, bls12_381.G2.Point.BASE.toBytes(true))
    expect(Result.isFailure(g2key) && g2key.failure.reason).toMatch(/cannot open/)
    const nothex = decryptWithSignature(ct, "zz")
    expect(Result.isFailure(nothex) && nothex.failure._tag).toBe("DecryptionFailed")
    const notpoint = decryptWithSignature(ct, "ff".repeat(48))
    expect(Result.isFailure(notpoint) && notpoint.failure.reason).toBe("malformed point")
  })

  it("refuses malformed texts with MalformedCiphertext", () => {
    const bad = [
      "",
      "hello",
      "-----BEGIN AGE ENCRYPTED FILE-----\n!!!!\n-----END AGE ENCRYPTED FILE-----",
      ct.replace("-----END AGE ENCRYPTED FILE-----", ""),
      // a second stanza
      (() => {
        const raw = dearmor(ct) as Uint8Array
        const text = new TextDecoder("latin1").decode(raw)
        return text.replace("\n---", "\n-> X25519 abc\nAAAA\n---")
      })()
    ]
    for (const b of bad) {
      const r = decryptWithSignature(b, sig)
      expect(Result.isFailure(r) && r.failure._tag).toBe("MalformedCiphertext")
    }
  })

  it("no single-byte change anywhere in the file yields a plaintext", async () => {
    // mcl-wasm for speed (one pairing per try); the decryption logic is the domain's either way
    const ops = await MclIbeOps.make()
    const raw = dearmor(ct) as Uint8Array
    const positions = Array.from({ length: raw.length }, (_, i) => i)
    let opened = 0
    for (const i of positions) {
      const copy = raw.slice()
      copy[i] = (copy[i] as number) ^ 0x01
      if (Result.isSuccess(decryptWithSignature(copy, sig, { ops }))) opened++
    }
    expect(opened).toBe(0)
    expect(Result.isSuccess(decryptWithSignature(raw, sig, { ops }))).toBe(true)
  })

  it("a truncated payload or an appended byte fails", () => {
    const raw = dearmor(encryptToRound(quick, 40, seeded("big")(70_000), seeded("t"))) as Uint8Array
    for (const cut of [raw.subarray(0, raw.length - 1), raw.subarray(0, raw.length - 16), concatBytes(raw, new Uint8Array([0]))]) {
      expect(Result.isSuccess(decryptWithSignature(cut, sig))).toBe(false)
    }
  })
})
