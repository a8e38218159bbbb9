/** Signature verification: node:crypto (OpenSSL) in production, noble as the pure-JS peer. */
import { Context, type Effect } from "effect"
import type { Scheme } from "../domain/Envelope.ts"

/** One signature to check. */
export interface VerifyRequest {
  readonly scheme: Scheme
  /** Public key, hex. */
  readonly publicKey: string
  readonly message: Uint8Array
  readonly signature: Uint8Array
}

/** The signature verifier port. */
export interface SignatureVerifierService {
  /**
   * Does `signature` verify over `message` for `publicKey` (hex)? ed25519: RFC 8032 over the
   * message; secp256k1: ECDSA over SHA-256(message), 64-byte r||s with s in the low half.
   * A malformed key or signature is simply `false`. Synchronous, on the caller's thread.
   */
  readonly verify: (scheme: Scheme, publicKey: string, message: Uint8Array, signature: Uint8Array) => boolean
  /**
   * `verify` for each request, answers in order. An adapter may check them off the calling
   * thread (node:crypto: libuv's thread pool), so a batch's signatures use spare cores while
   * the caller goes on; the answers are exactly `verify`'s.
   */
  readonly verifyMany: (requests: ReadonlyArray<VerifyRequest>) => Effect.Effect<ReadonlyArray<boolean>>
}

/** The signature verifier service tag. */
export class SignatureVerifier extends Context.Service<SignatureVerifier, SignatureVerifierService>()(
  "causeway/SignatureVerifier"
) {}
