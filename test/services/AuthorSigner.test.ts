/**
 * The instance signs through node:crypto (`envelopeSigner`): the same envelopes, byte for
 * byte, as the domain's noble `signEnvelope` (Ed25519 is deterministic), and they verify; a
 * secp256k1 key keeps noble's signer.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { keyFromSecret, signEnvelope } from "../../src/domain/Keys.ts"
import { envelopeSigner } from "../../src/services/Author.ts"

const unsigned = (payload: unknown, nonce: number) =>
  ({ v: 1, flags: 0, type: "EffectsObserved", nonce, lamport: nonce + 1, deps: [], expiry: null, payload }) as never

// Values canonical JSON admits: null, booleans, safe integers, strings, arrays, plain objects.
const { value: canonicalValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.string(),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 })
  )
}))

describe("envelopeSigner", () => {
  it("signs exactly as signEnvelope, for any payload and key", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), canonicalValue, fc.nat({ max: 1e9 }), (seed, payload, nonce) => {
        const key = keyFromSecret("ed25519", seed)
        const fast = envelopeSigner(key)(unsigned(payload, nonce))
        const slow = signEnvelope(key, unsigned(payload, nonce))
        expect(canonicalize(fast)).toBe(canonicalize(slow))
      }),
      { numRuns: 200 }
    )
  })

  it("keeps noble for secp256k1 keys", () => {
    const key = keyFromSecret("secp256k1", new Uint8Array(32).fill(7))
    const e = envelopeSigner(key)(unsigned({ a: 1 }, 1))
    expect(canonicalize(e)).toBe(canonicalize(signEnvelope(key, unsigned({ a: 1 }, 1))))
  })
})
