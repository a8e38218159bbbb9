/** Signature verification: node:crypto (OpenSSL) in production, noble as the pure-JS peer. */
import { Context } from "effect"
import type { Scheme } from "../domain/Envelope.ts"

/** The signature verifier port. Synchronous: it is CPU work on the ingest hot path. */
export interface SignatureVerifierService {
  /**
   * Does `signature` verify over `message` for `publicKey` (hex)? ed25519: RFC 8032 over the
   * message; secp256k1: ECDSA over SHA-256(message), 64-byte r||s with s in the low half.
   * A malformed key or signature is simply `false`.
   */
  readonly verify: (scheme: Scheme, publicKey: string, message: Uint8Array, signature: Uint8Array) => boolean
}

/** The signature verifier service tag. */
export class SignatureVerifier extends Context.Service<SignatureVerifier, SignatureVerifierService>()(
  "causeway/SignatureVerifier"
) {}
