/** SignatureVerifier in pure JS (noble): the portable peer node:crypto is measured against. */
import { ed25519 } from "@noble/curves/ed25519.js"
import { secp256k1 } from "@noble/curves/secp256k1.js"
import { hexToBytes } from "@noble/hashes/utils.js"
import { Effect, Layer } from "effect"
import { SignatureVerifier, type SignatureVerifierService } from "../../ports/SignatureVerifier.ts"

const verify: SignatureVerifierService["verify"] = (scheme, publicKey, message, signature) => {
  try {
    const pk = hexToBytes(publicKey)
    return scheme === "ed25519"
      ? ed25519.verify(signature, message, pk, { zip215: false })
      : secp256k1.verify(signature, message, pk, { prehash: true, lowS: true })
  } catch {
    return false // malformed key or signature bytes
  }
}

/** The noble verifier; `verifyMany` checks on the calling thread, one after another. */
export const make = (): SignatureVerifierService => ({
  verify,
  verifyMany: (requests) => Effect.sync(() => requests.map((r) => verify(r.scheme, r.publicKey, r.message, r.signature)))
})

/** The noble verifier as a layer. */
export const layer = Layer.succeed(SignatureVerifier, make())
