/**
 * Key handling and signing for senders (CLI, tests, the instance's own events). Signing is
 * not a hot path, so it uses noble; verification on the hot path goes through the
 * SignatureVerifier port (node:crypto in production).
 */
import { ed25519 } from "@noble/curves/ed25519.js"
import { secp256k1 } from "@noble/curves/secp256k1.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Schema } from "effect"
import { type Envelope, type Scheme, type UnsignedEnvelope, idBytesOf, signingBytes } from "./Envelope.ts"
import type { Hex } from "./Primitives.ts"

/** A key file: scheme, secret and public key as hex. */
export const KeyFile = Schema.Struct({
  scheme: Schema.Literals(["ed25519", "secp256k1"]),
  secretKey: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)),
  publicKey: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}(?:[0-9a-f]{2})?$/u))
})
export type KeyFile = typeof KeyFile.Type

/** The public key of a secret key (ed25519: 32 bytes; secp256k1: 33-byte compressed point). */
export const publicKeyOf = (scheme: Scheme, secretKey: Uint8Array): Uint8Array =>
  scheme === "ed25519" ? ed25519.getPublicKey(secretKey) : secp256k1.getPublicKey(secretKey, true)

/** A key pair from a 32-byte secret (callers bring the randomness: tests use seeds). */
export const keyFromSecret = (scheme: Scheme, secretKey: Uint8Array): KeyFile => ({
  scheme,
  secretKey: bytesToHex(secretKey),
  publicKey: bytesToHex(publicKeyOf(scheme, secretKey))
})

/** A fresh random key pair. */
export const generateKey = (scheme: Scheme): KeyFile =>
  keyFromSecret(scheme, scheme === "ed25519" ? ed25519.utils.randomSecretKey() : secp256k1.utils.randomSecretKey())

/** Sign bytes with a key: ed25519 (RFC 8032) or secp256k1 ECDSA over SHA-256, compact low-S r||s. */
export const signBytes = (key: KeyFile, message: Uint8Array): Uint8Array => {
  const sk = hexToBytes(key.secretKey)
  return key.scheme === "ed25519" ? ed25519.sign(message, sk) : secp256k1.sign(message, sk, { prehash: true, lowS: true })
}

/** Sign an unsigned envelope, filling in scheme and sender from the key. */
export const signEnvelope = <P>(key: KeyFile, unsigned: Omit<UnsignedEnvelope<P>, "scheme" | "sender">): Envelope<P> => {
  const body: UnsignedEnvelope<P> = { ...unsigned, scheme: key.scheme, sender: key.publicKey as Hex }
  const sig = signBytes(key, signingBytes(idBytesOf(body)))
  return { ...body, sig: bytesToHex(sig) as Hex }
}
