/**
 * Which Ed25519 signatures count is consensus-relevant (every instance must admit the same
 * records), so the rule is pinned on third-party edge cases (test/vectors/ed25519: Wycheproof
 * and speccheck) and every engine causeway can run must give exactly the pinned verdicts:
 * node:crypto (OpenSSL) and libsodium (sodium-native), through `verify` and through
 * `verifyMany` (libsodium's worker pool included). noble (zip215: false), the pure-JS peer no
 * instance runs for ingest, is pinned too, with the three cases where its rule is looser.
 * The Cosmos light client's verifier (NodeCryptoCommitVerifier as the port, its helper
 * threads included) is pinned to the same verdicts.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { secp256k1 } from "@noble/curves/secp256k1.js"
import { Effect } from "effect"
import * as NodeCryptoCommitVerifier from "../../src/adapters/cosmos/NodeCryptoCommitVerifier.ts"
import * as NobleSignatureVerifier from "../../src/adapters/signatures/NobleSignatureVerifier.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SodiumSignatureVerifier from "../../src/adapters/signatures/SodiumSignatureVerifier.ts"
import type { SignatureVerifierService, VerifyRequest } from "../../src/ports/SignatureVerifier.ts"

const dir = new URL("../vectors/ed25519/", import.meta.url)
const read = (name: string): unknown => JSON.parse(readFileSync(new URL(name, dir), "utf8"))

interface Case {
  readonly name: string
  readonly request: VerifyRequest
  /** The pinned verdict. */
  readonly valid: boolean
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"))

const wycheproof = read("wycheproof_ed25519_test.json") as {
  testGroups: Array<{ publicKey: { pk: string }; tests: Array<{ tcId: number; comment: string; msg: string; sig: string; result: string }> }>
}
const wycheproofCases: Array<Case> = wycheproof.testGroups.flatMap((g) =>
  g.tests.map((t) => ({
    name: `wycheproof ${t.tcId} ${t.comment}`,
    request: { scheme: "ed25519" as const, publicKey: g.publicKey.pk, message: hex(t.msg), signature: hex(t.sig) },
    valid: t.result === "valid"
  }))
)

// speccheck ("Taming the many EdDSAs"): causeway's rule accepts case 3 only (small-order and
// mixed-order keys and R, non-canonical A and R, S >= L and the cofactored-only cases are refused).
const SPECCHECK_ACCEPTED = new Set([3])
const speccheck = read("speccheck_cases.json") as Array<{ message: string; pub_key: string; signature: string }>
const speccheckCases: Array<Case> = speccheck.map((c, i) => ({
  name: `speccheck ${i}`,
  request: { scheme: "ed25519" as const, publicKey: c.pub_key, message: hex(c.message), signature: hex(c.signature) },
  valid: SPECCHECK_ACCEPTED.has(i)
}))

const cases = [...wycheproofCases, ...speccheckCases]

const verdicts = (v: SignatureVerifierService) =>
  cases.map((c) => v.verify(c.request.scheme, c.request.publicKey, c.request.message, c.request.signature))
const expected = cases.map((c) => c.valid)

describe("Ed25519 conformance", () => {
  it("the vector files are the ones README.txt describes", () => {
    expect(wycheproofCases).toHaveLength(151)
    expect(wycheproofCases.filter((c) => c.valid)).toHaveLength(88)
    expect(speccheckCases).toHaveLength(12)
  })

  it("node:crypto gives the pinned verdict on every case", () => {
    expect(verdicts(NodeCryptoSignatureVerifier.make())).toEqual(expected)
  })

  it("noble (zip215: false) gives the pinned verdict except on speccheck 2, 4 and 5, which it accepts", () => {
    // noble checks the cofactored equation ([8][S]B = [8]R + [8][k]A) and lets R be of small
    // order: it accepts case 2 (small-order R) and cases 4 and 5 (only the cofactored equation
    // holds), which OpenSSL and libsodium refuse.
    const looser = new Set(["speccheck 2", "speccheck 4", "speccheck 5"])
    expect(verdicts(NobleSignatureVerifier.make())).toEqual(cases.map((c) => c.valid || looser.has(c.name)))
  })

  it.effect("libsodium gives the pinned verdict on every case, on the calling thread and in the pool", () =>
    Effect.gen(function*() {
      const sodium = yield* SodiumSignatureVerifier.make({ workers: 2 })
      expect(verdicts(sodium)).toEqual(expected)
      expect(yield* sodium.verifyMany(cases.map((c) => c.request))).toEqual(expected)
      const inline = yield* SodiumSignatureVerifier.make({ workers: 0 })
      expect(yield* inline.verifyMany(cases.map((c) => c.request))).toEqual(expected)
    }).pipe(Effect.scoped))

  it.effect("node:crypto's verifyMany agrees with its verify", () =>
    Effect.gen(function*() {
      expect(yield* NodeCryptoSignatureVerifier.make().verifyMany(cases.map((c) => c.request))).toEqual(expected)
    }))

  it.effect("libsodium refuses malformed keys and signatures before the library sees them, and leaves secp256k1 to node:crypto", () =>
    Effect.gen(function*() {
      const sodium = yield* SodiumSignatureVerifier.make({ workers: 1 })
      const good = wycheproofCases.find((c) => c.valid) as Case
      const { publicKey, message, signature } = good.request
      const bad: Array<VerifyRequest> = [
        { ...good.request, publicKey: publicKey.toUpperCase() },
        { ...good.request, publicKey: publicKey.slice(0, 62) },
        { ...good.request, publicKey: publicKey + "zz" },
        { ...good.request, signature: signature.subarray(0, 63) },
        { ...good.request, message: Uint8Array.of(...message, 0) }
      ]
      expect(bad.map((r) => sodium.verify(r.scheme, r.publicKey, r.message, r.signature))).toEqual([false, false, false, false, false])
      expect(yield* sodium.verifyMany([good.request, ...bad, good.request])).toEqual([true, false, false, false, false, false, true])
    }).pipe(Effect.scoped))

  it.effect("the light client's verifier as the port gives the pinned verdict on every case, on the caller alone and with a helper thread", () =>
    Effect.gen(function*() {
      const alone = NodeCryptoCommitVerifier.signatureVerifier({ helpers: 0 })
      expect(verdicts(alone)).toEqual(expected)
      expect(yield* alone.verifyMany(cases.map((c) => c.request))).toEqual(expected)
      const helped = NodeCryptoCommitVerifier.signatureVerifier({ helpers: 1, helperWaitMs: 2000 })
      for (let i = 0; i < 5; i++) expect(yield* helped.verifyMany(cases.map((c) => c.request))).toEqual(expected)
    }))

  it.effect("the light client's verifier as the port refuses malformed keys and signatures, and leaves secp256k1 to node:crypto", () =>
    Effect.gen(function*() {
      const commit = NodeCryptoCommitVerifier.signatureVerifier({ helpers: 1 })
      const good = wycheproofCases.find((c) => c.valid) as Case
      const { publicKey, message, signature } = good.request
      const bad: Array<VerifyRequest> = [
        { ...good.request, publicKey: publicKey.toUpperCase() },
        { ...good.request, publicKey: publicKey.slice(0, 62) },
        { ...good.request, publicKey: publicKey + "zz" },
        { ...good.request, signature: signature.subarray(0, 63) },
        { ...good.request, message: Uint8Array.of(...message, 0) }
      ]
      expect(bad.map((r) => commit.verify(r.scheme, r.publicKey, r.message, r.signature))).toEqual([false, false, false, false, false])
      expect(yield* commit.verifyMany([good.request, ...bad, good.request])).toEqual([true, false, false, false, false, false, true])
      // secp256k1 requests go to node:crypto: a valid signature verifies, a corrupted one does not.
      const sk = secp256k1.utils.randomSecretKey()
      const secp = { scheme: "secp256k1" as const, publicKey: Buffer.from(secp256k1.getPublicKey(sk)).toString("hex"), message, signature: secp256k1.sign(message, sk) }
      const corrupted = { ...secp, message: Uint8Array.of(...message, 0) }
      expect(commit.verify(secp.scheme, secp.publicKey, secp.message, secp.signature)).toBe(true)
      expect(yield* commit.verifyMany([secp, good.request, corrupted])).toEqual([true, true, false])
    }))
})
