/**
 * The light client's batch Ed25519 verifier: its answers, whoever checks each signature (the
 * calling thread or a helper thread), are exactly node:crypto's one-at-a-time answers, for
 * valid, corrupted and malformed signatures and keys.
 */
import { describe, expect, it } from "@effect/vitest"
import { ed25519 } from "@noble/curves/ed25519.js"
import { Effect } from "effect"
import * as NodeCryptoCommitVerifier from "../../src/adapters/cosmos/NodeCryptoCommitVerifier.ts"
import type { SignatureCheck } from "../../src/domain/verify/cometbft/CometBftLightClient.ts"
import { makeValidators } from "../verify/cometbft/ChainBuilder.ts"

const vals = makeValidators(67, "batch-")
const checks: Array<SignatureCheck> = vals.map((v, i) => {
  const message = new TextEncoder().encode(`precommit ${i} for some block`)
  const signature = ed25519.sign(message, v.secretKey)
  // Every fifth signature is corrupted; one is checked against another validator's key.
  if (i % 5 === 2) signature[i % 64] = (signature[i % 64] ?? 0) ^ 1
  const publicKey = i === 11 ? (vals[12]?.pubKey ?? v.pubKey) : v.pubKey
  return { publicKey, message, signature }
})
// Malformed: a 31-byte key, a 63-byte signature, a key that is not a curve point.
checks.push({ publicKey: new Uint8Array(31), message: new Uint8Array(3), signature: new Uint8Array(64) })
checks.push({ publicKey: vals[0]?.pubKey ?? new Uint8Array(32), message: new Uint8Array(3), signature: new Uint8Array(63) })
checks.push({ publicKey: new Uint8Array(32).fill(0xff), message: new Uint8Array(3), signature: new Uint8Array(64).fill(1) })

const truth = checks.map((c) => c.publicKey.length === 32 && c.signature.length === 64 && ed25519.verify(c.signature, c.message, c.publicKey, { zip215: true }))

describe("NodeCryptoCommitVerifier", () => {
  it("the fixture holds valid, corrupted and malformed checks", () => {
    expect(truth.filter((ok) => ok).length).toBe(53)
    expect(truth.filter((ok) => !ok).length).toBe(17)
  })

  it.effect("answers as one-at-a-time verification, on the caller alone", () =>
    Effect.gen(function* () {
      const verifier = NodeCryptoCommitVerifier.make({ helpers: 0 })
      expect(yield* verifier.verifyMany(checks)).toEqual(truth)
      expect(checks.map((c) => verifier.verify(c.publicKey, c.message, c.signature))).toEqual(truth)
      expect(verifier.helperChecks()).toBe(0)
    })
  )

  it.effect("answers the same when a helper thread checks some of the signatures", () =>
    Effect.gen(function* () {
      const verifier = NodeCryptoCommitVerifier.make({ helpers: 1, helperWaitMs: 2000 })
      // The helper starts on the first batch and joins once it is up; until then the caller checks everything.
      let batches = 0
      while (verifier.helperChecks() === 0 && batches < 500) {
        expect(yield* verifier.verifyMany(checks)).toEqual(truth)
        batches++
        yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
      }
      expect(verifier.helperChecks()).toBeGreaterThan(0)
      for (let i = 0; i < 20; i++) expect(yield* verifier.verifyMany(checks)).toEqual(truth)
      expect(yield* verifier.verifyMany([])).toEqual([])
    })
  )
})
