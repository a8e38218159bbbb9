/**
 * SignatureVerifier on node:crypto (OpenSSL), with public keys parsed once and cached.
 *
 * `verifyMany` uses the callback form of `crypto.verify`, which runs each check on libuv's
 * thread pool: a batch's signatures are checked on spare cores while the event loop goes on
 * (decoding the next messages, appending the previous batch). The pool has
 * UV_THREADPOOL_SIZE threads (libuv's default 4), fixed when the process first uses it;
 * `causeway` sets it to the number of cores unless the environment says otherwise
 * (src/cli/threadPool.ts, docs/ingest.md).
 */
import { type KeyObject, createPublicKey, verify as cryptoVerify } from "node:crypto"
import { Effect, Layer } from "effect"
import { LRUCache } from "lru-cache"
import type { Scheme } from "../../domain/Envelope.ts"
import { SignatureVerifier, type SignatureVerifierService, type VerifyRequest } from "../../ports/SignatureVerifier.ts"

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
  // The checks both forms share; null when the request is refused before OpenSSL sees it.
  const prepare = (scheme: Scheme, publicKey: string, signature: Uint8Array): KeyObject | null => {
    const key = keyFor(scheme, publicKey)
    if (key === null || signature.length !== 64) return null
    if (scheme === "secp256k1") {
      const s = BigInt("0x" + Buffer.from(signature.subarray(32)).toString("hex"))
      if (s === 0n || s > SECP256K1_HALF_N) return null
    }
    return key
  }
  return {
    verify: (scheme, publicKey, message, signature) => {
      const key = prepare(scheme, publicKey, signature)
      if (key === null) return false
      if (scheme === "ed25519") return cryptoVerify(null, message, key, signature)
      return cryptoVerify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature)
    },
    verifyMany: (requests: ReadonlyArray<VerifyRequest>) =>
      Effect.callback<ReadonlyArray<boolean>>((resume) => {
        const out = new Array<boolean>(requests.length).fill(false)
        // One more than the requests, released after they are all dispatched: the answer
        // cannot resume the fiber while requests are still being handed out.
        let pending = requests.length + 1
        let failed = false
        const settle = () => {
          if (--pending === 0) resume(Effect.succeed(out))
        }
        requests.forEach((r, i) => {
          const key = prepare(r.scheme, r.publicKey, r.signature)
          if (key === null) return settle()
          const done = (error: Error | null, ok: boolean) => {
            // The sync form throws where this reports an error: the same defect either way.
            if (error !== null) {
              if (!failed) resume(Effect.die(error))
              failed = true
              return
            }
            out[i] = ok
            settle()
          }
          if (r.scheme === "ed25519") cryptoVerify(null, r.message, key, r.signature, done)
          else cryptoVerify("sha256", r.message, { key, dsaEncoding: "ieee-p1363" }, r.signature, done)
        })
        settle()
      })
  }
}

/** The node:crypto verifier as a layer. */
export const layer = Layer.succeed(SignatureVerifier, make())
