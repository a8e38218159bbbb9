/**
 * Ed25519 for the CometBFT light client on node:crypto (OpenSSL), public keys parsed once.
 *
 * `verifyMany` checks a commit's selected signatures on both cores: it hands all but a
 * share of them to libuv's thread pool (the callback form of `crypto.verify`) and checks
 * that share on the calling thread meanwhile, then waits for the pool. The calling thread
 * gets the smaller share (default 1/3) because the pool's threads (libuv's default 4, or
 * the number of cores under `causeway`, src/cli/threadPool.ts) compete with it for the
 * cores: an even split leaves the caller last to finish while a core idles. The answers are
 * exactly `verify`'s, in order.
 */
import { type KeyObject, createPublicKey, verify as cryptoVerify } from "node:crypto"
import { Effect } from "effect"
import type { SignatureCheck, VerifySignature, VerifySignatures } from "../../domain/verify/cometbft/CometBftLightClient.ts"

// SubjectPublicKeyInfo DER prefix of an Ed25519 key (RFC 8410), followed by the 32 raw bytes.
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex")

/** Options of `make`. */
export interface NodeCryptoCommitVerifierOptions {
  /** Parsed keys kept (default 4,096; validator sets are small and stable, so the cache is dropped whole when full). */
  readonly cacheSize?: number
  /** Share of a batch checked on the calling thread while the pool checks the rest, in [0, 1] (default 1/3). */
  readonly callerShare?: number
}

/** The light client's single and batch Ed25519 verifiers. */
export interface NodeCryptoCommitVerifier {
  readonly verify: VerifySignature
  readonly verifyMany: VerifySignatures
}

/** Build the verifiers, with their own cache of parsed keys. */
export const make = (options: NodeCryptoCommitVerifierOptions = {}): NodeCryptoCommitVerifier => {
  const cacheSize = options.cacheSize ?? 4096
  const callerShare = Math.min(1, Math.max(0, options.callerShare ?? 1 / 3))
  const keys = new Map<string, KeyObject | null>()
  const keyOf = (publicKey: Uint8Array): KeyObject | null => {
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString("hex")
    const hit = keys.get(id)
    if (hit !== undefined) return hit
    let key: KeyObject | null
    try {
      key = publicKey.length === 32 ? createPublicKey({ key: Buffer.concat([ED25519_SPKI, publicKey]), format: "der", type: "spki" }) : null
    } catch {
      key = null // not a curve point: OpenSSL refuses it, and so do we
    }
    if (keys.size >= cacheSize) keys.clear()
    keys.set(id, key)
    return key
  }
  const verify: VerifySignature = (publicKey, message, signature) => {
    const key = keyOf(publicKey)
    return key !== null && signature.length === 64 && cryptoVerify(null, message, key, signature)
  }
  const verifyMany: VerifySignatures = (checks: ReadonlyArray<SignatureCheck>) =>
    Effect.callback<ReadonlyArray<boolean>>((resume) => {
      const out = new Array<boolean>(checks.length).fill(false)
      const onCaller = Math.round(checks.length * callerShare)
      // One more than the pool's checks, released once the caller's share is done.
      let pending = checks.length - onCaller + 1
      let failed = false
      const settle = () => {
        if (!failed && --pending === 0) resume(Effect.succeed(out))
      }
      for (let i = onCaller; i < checks.length; i++) {
        const c = checks[i]
        const key = c === undefined ? null : keyOf(c.publicKey)
        if (c === undefined || key === null || c.signature.length !== 64) {
          settle()
          continue
        }
        cryptoVerify(null, c.message, key, c.signature, (error, ok) => {
          // The sync form throws where this reports an error: a defect either way.
          if (error !== null) {
            if (!failed) resume(Effect.die(error))
            failed = true
            return
          }
          out[i] = ok
          settle()
        })
      }
      for (let i = 0; i < onCaller; i++) {
        const c = checks[i]
        out[i] = c !== undefined && verify(c.publicKey, c.message, c.signature)
      }
      settle()
    })
  return { verify, verifyMany }
}
