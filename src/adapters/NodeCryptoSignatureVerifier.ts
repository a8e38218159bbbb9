/** SignatureVerifier on node:crypto (OpenSSL), with public keys parsed once and cached. */
import { type KeyObject, createPublicKey, verify as cryptoVerify } from "node:crypto"
import { Layer } from "effect"
import { LRUCache } from "lru-cache"
import type { Scheme } from "../domain/Envelope.ts"
import { SignatureVerifier, type SignatureVerifierService } from "../ports/SignatureVerifier.ts"

// SubjectPublicKeyInfo DER prefixes: an Ed25519 key (RFC 8410) and a compressed
// secp256k1 point (RFC 5480 with the secp256k1 OID), each followed by the raw key bytes.
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex")
const SECP256K1_SPKI = Buffer.from("3036301006072a8648ce3d020106052b8104000a032200", "hex")

// Half the secp256k1 group order: a signature with s above it is the malleated twin of
// a valid one, and is refused so each message has exactly one valid signature.
const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n

const parseKey = (scheme: Scheme, hex: string): KeyObject | null => {
  const raw = Buffer.from(hex, "hex")
  // Buffer.from stops at the first non-hex character instead of failing: "<key>zz" would
  // otherwise parse as <key>.
  if (raw.length * 2 !== hex.length) return null
  if (scheme === "ed25519") {
    if (raw.length !== 32) return null
    return createPublicKey({ key: Buffer.concat([ED25519_SPKI, raw]), format: "der", type: "spki" })
  }
  if (raw.length !== 33 || (raw[0] !== 2 && raw[0] !== 3)) return null
  return createPublicKey({ key: Buffer.concat([SECP256K1_SPKI, raw]), format: "der", type: "spki" })
}

/** Build the verifier, with a cache of parsed keys of the given size. */
export const make = (cacheSize = 100_000): SignatureVerifierService => {
  const keys = new LRUCache<string, KeyObject | false>({ max: cacheSize })
  const keyFor = (scheme: Scheme, hex: string): KeyObject | null => {
    const cacheKey = scheme === "ed25519" ? hex : `k1:${hex}`
    const hit = keys.get(cacheKey)
    if (hit !== undefined) return hit === false ? null : hit
    let key: KeyObject | null
    try {
      key = parseKey(scheme, hex)
    } catch {
      key = null // not a point on the curve: OpenSSL refuses it, and so do we
    }
    keys.set(cacheKey, key ?? false)
    return key
  }
  return {
    verify: (scheme, publicKey, message, signature) => {
      const key = keyFor(scheme, publicKey)
      if (key === null || signature.length !== 64) return false
      if (scheme === "ed25519") return cryptoVerify(null, message, key, signature)
      const s = BigInt("0x" + Buffer.from(signature.subarray(32)).toString("hex"))
      if (s === 0n || s > SECP256K1_HALF_N) return false
      return cryptoVerify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature)
    }
  }
}

/** The node:crypto verifier as a layer. */
export const layer = Layer.succeed(SignatureVerifier, make())
