/**
 * drand beacon verification for every BLS12-381 scheme drand has run, and signing for a
 * beacon of our own (the local beacon adapter) in quicknet's scheme.
 *
 *   scheme                     key  signature  message                          hash-to-curve DST
 *   pedersen-bls-chained       G1   G2         sha256(prev_sig ‖ u64be(round))  ..._BLS12381G2_...
 *   pedersen-bls-unchained     G1   G2         sha256(u64be(round))             ..._BLS12381G2_...
 *   bls-unchained-on-g1        G2   G1         sha256(u64be(round))             ..._BLS12381G2_... (sic, pre-RFC)
 *   bls-unchained-g1-rfc9380   G2   G1         sha256(u64be(round))             ..._BLS12381G1_...
 *
 * A beacon is valid when its signature verifies for the round it names, its shape fits the
 * scheme (a previous signature exactly when chained), its randomness (when given) is
 * sha256(signature), and its round is the one the caller asked for.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { bytesToNumberBE } from "@noble/curves/utils.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js"
import { Result, Schema } from "effect"
import type { BeaconScheme } from "./ChainInfo.ts"

/** DST of hash-to-G2 (and, by an old drand mistake, of fastnet's hash-to-G1). */
export const DST_G2 = "BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_"
/** DST of RFC 9380 hash-to-G1 (quicknet). */
export const DST_G1 = "BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_"

/** A beacon as drand publishes it (hex fields). */
export interface Beacon {
  readonly round: number
  readonly signature: string
  readonly previousSignature?: string | undefined
  readonly randomness?: string | undefined
}

/** A beacon whose signature was checked; `randomness` is always sha256(signature). */
export interface VerifiedBeacon {
  readonly round: number
  readonly signature: string
  readonly randomness: string
}

/** The beacon does not verify for the chain (the reason says which check failed). */
export class InvalidBeacon extends Schema.TaggedError<InvalidBeacon>()("InvalidBeacon", {
  reason: Schema.String,
  round: Schema.Number
}) {}

/** The chain runs a scheme this build cannot verify (drand's BN254 network). */
export class UnsupportedScheme extends Schema.TaggedError<UnsupportedScheme>()("UnsupportedScheme", {
  reason: Schema.String,
  scheme: Schema.String
}) {}

/** Why a beacon was refused. */
export type BeaconError = InvalidBeacon | UnsupportedScheme

/** Whether a scheme's rounds are chained (each signs the previous signature). */
export const isChained = (scheme: BeaconScheme): boolean => scheme === "pedersen-bls-chained"

/** Big-endian uint64 of a round number. */
export const roundBytes = (round: number): Uint8Array => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(round))
  return out
}

/** The 32-byte message a round's signature is over (drand hashes it once more to the curve). */
export const roundMessage = (round: number, previousSignature?: Uint8Array): Uint8Array =>
  sha256(previousSignature === undefined ? roundBytes(round) : concatBytes(previousSignature, roundBytes(round)))

const hexRe = /^(?:[0-9a-f]{2})*$/

const signatureHolds = (scheme: BeaconScheme, publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean => {
  switch (scheme) {
    case "pedersen-bls-chained":
    case "pedersen-bls-unchained": {
      const sigs = bls12_381.longSignatures
      return sigs.verify(signature, sigs.hash(message, DST_G2), publicKey)
    }
    case "bls-unchained-on-g1":
    case "bls-unchained-g1-rfc9380": {
      const sigs = bls12_381.shortSignatures
      return sigs.verify(signature, sigs.hash(message, scheme === "bls-unchained-on-g1" ? DST_G2 : DST_G1), publicKey)
    }
    case "bls-bn254-unchained-on-g1":
      return false
  }
}

/**
 * Verify a beacon for a chain's scheme and key (hex). With `expectedRound`, a beacon for any
 * other round is refused even if its signature is good.
 */
export const verifyBeacon = (
  chain: { readonly scheme: BeaconScheme; readonly publicKey: string },
  beacon: Beacon,
  expectedRound?: number
): Result.Result<VerifiedBeacon, BeaconError> => {
  const invalid = (reason: string) => Result.fail(new InvalidBeacon({ reason, round: beacon.round }))
  if (chain.scheme === "bls-bn254-unchained-on-g1") {
    return Result.fail(new UnsupportedScheme({ reason: "BN254 beacons are not supported (BLS12-381 only)", scheme: chain.scheme }))
  }
  if (!Number.isSafeInteger(beacon.round) || beacon.round < 1) return invalid("round must be a positive integer")
  if (expectedRound !== undefined && beacon.round !== expectedRound) {
    return invalid(`beacon is for round ${beacon.round}, expected round ${expectedRound}`)
  }
  if (!hexRe.test(beacon.signature)) return invalid("signature is not lowercase hex")
  const chained = isChained(chain.scheme)
  if (chained && beacon.previousSignature === undefined) return invalid("chained scheme: previous_signature missing")
  if (!chained && beacon.previousSignature !== undefined) return invalid("unchained scheme: beacon must not carry previous_signature")
  if (beacon.previousSignature !== undefined && !hexRe.test(beacon.previousSignature)) return invalid("previous_signature is not hex")
  const signature = hexToBytes(beacon.signature)
  const randomness = bytesToHex(sha256(signature))
  if (beacon.randomness !== undefined && beacon.randomness !== randomness) return invalid("randomness is not sha256(signature)")
  const message = roundMessage(beacon.round, beacon.previousSignature === undefined ? undefined : hexToBytes(beacon.previousSignature))
  let ok: boolean
  try {
    ok = signatureHolds(chain.scheme, hexToBytes(chain.publicKey), signature, message)
  } catch (e) {
    // noble throws on bytes that are not a point of the right group
    return invalid(`malformed key or signature: ${e instanceof Error ? e.message : String(e)}`)
  }
  return ok ? Result.succeed({ round: beacon.round, signature: beacon.signature, randomness }) : invalid("signature does not verify")
}

/** Throw unless the secret key is 32 bytes encoding a scalar in [1, r) (noble would reduce a larger one). */
const assertSecretKey = (secretKey: Uint8Array): void => {
  const k = secretKey.length === 32 ? bytesToNumberBE(secretKey) : 0n
  if (k === 0n || k >= bls12_381.fields.Fr.ORDER) throw new RangeError("beacon secret key must be 32 bytes encoding a scalar in [1, r)")
}

/** The public key (hex, 96 bytes on G2) of a quicknet-scheme beacon secret key (32 bytes, in [1, r)). */
export const beaconPublicKey = (secretKey: Uint8Array): string => {
  assertSecretKey(secretKey)
  return bytesToHex(bls12_381.shortSignatures.getPublicKey(secretKey).toBytes(true))
}

/** Sign `round` in the quicknet scheme (bls-unchained-g1-rfc9380): the beacon's signature, hex. */
export const signRound = (secretKey: Uint8Array, round: number): string => {
  assertSecretKey(secretKey)
  const sigs = bls12_381.shortSignatures
  return bytesToHex(sigs.sign(sigs.hash(roundMessage(round), DST_G1), secretKey).toBytes(true))
}
