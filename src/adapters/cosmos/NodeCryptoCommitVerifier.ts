/**
 * Ed25519 for the CometBFT light client on node:crypto (OpenSSL), public keys parsed once.
 *
 * `verifyMany` checks a commit's selected signatures on every core it is given, synchronously:
 * the batch is written to shared memory and posted to helper worker threads, and the calling
 * thread and the helpers take signatures from one atomic counter until none is left (work
 * stealing), so a helper that gets no CPU (a busy machine) costs at most the signatures it
 * took, and those the caller checks itself after a short wait. Each answer is exactly
 * `verify`'s, in order. Helpers start on first use, do not keep the process alive, and a
 * helper that dies only leaves more work to the caller.
 *
 * `layer` offers it as the SignatureVerifier port (secp256k1 on NodeCryptoSignatureVerifier),
 * which is how the Cosmos observer (CosmjsCosmosObserver.ts) gets it.
 */
import { type KeyObject, createPublicKey, verify as cryptoVerify } from "node:crypto"
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { Effect, Layer } from "effect"
import type { SignatureCheck, VerifySignature, VerifySignatures } from "../../domain/verify/cometbft/CometBftLightClient.ts"
import { SignatureVerifier, type SignatureVerifierService, type VerifyRequest } from "../../ports/SignatureVerifier.ts"
import * as NodeCryptoSignatureVerifier from "../signatures/NodeCryptoSignatureVerifier.ts"
import { verifyManyByScheme } from "../signatures/SchemeBatch.ts"

// SubjectPublicKeyInfo DER prefix of an Ed25519 key (RFC 8410), followed by the 32 raw bytes.
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex")

// Shared batch layout, in 32-bit words: [next, count], then per check its state (0 pending,
// 2 invalid, 3 valid), its byte offset and its message length; then the bytes, per check
// key (32) + signature (64) + message.
const HEADER = 2
const STATE = 0
const OFFSET = 1
const LENGTH = 2
const WORDS_PER_CHECK = 3
const PENDING = 0
const INVALID = 2
const VALID = 3

// The helper, as plain JavaScript so it runs the same from the sources and from dist/.
const HELPER_SOURCE = `
const { parentPort } = require("node:worker_threads")
const { createPublicKey, verify } = require("node:crypto")
const SPKI = Buffer.from("302a300506032b6570032100", "hex")
const keys = new Map()
const keyOf = (raw) => {
  const id = Buffer.from(raw).toString("hex")
  let key = keys.get(id)
  if (key === undefined) {
    try { key = createPublicKey({ key: Buffer.concat([SPKI, raw]), format: "der", type: "spki" }) } catch { key = null }
    if (keys.size >= ${4096}) keys.clear()
    keys.set(id, key)
  }
  return key
}
parentPort.on("message", (sab) => {
  const count = new Int32Array(sab, 0, ${HEADER})[1]
  const words = new Int32Array(sab, 0, ${HEADER} + count * ${WORDS_PER_CHECK})
  const bytes = new Uint8Array(sab)
  for (;;) {
    const i = Atomics.add(words, 0, 1)
    if (i >= count) return
    const at = ${HEADER} + i * ${WORDS_PER_CHECK}
    if (Atomics.load(words, at) !== ${PENDING}) continue
    const offset = words[at + ${OFFSET}]
    const key = keyOf(bytes.subarray(offset, offset + 32))
    const ok = key !== null && verify(null, bytes.subarray(offset + 96, offset + 96 + words[at + ${LENGTH}]), key, bytes.subarray(offset + 32, offset + 96))
    Atomics.store(words, at, ok ? ${VALID} : ${INVALID})
    Atomics.notify(words, at)
  }
})
`

/** Options of `make`. */
export interface NodeCryptoCommitVerifierOptions {
  /** Parsed keys kept (default 4,096; validator sets are small and stable, so the cache is dropped whole when full). */
  readonly cacheSize?: number
  /** Helper threads besides the caller (default: the cores available minus one, at most 3; 0 checks on the caller only). */
  readonly helpers?: number
  /** How long the caller waits for a signature a helper took before checking it itself, ms (default 1; one check takes about 0.1 ms). */
  readonly helperWaitMs?: number
}

/** The light client's single and batch Ed25519 verifiers. */
export interface NodeCryptoCommitVerifier {
  readonly verify: VerifySignature
  readonly verifyMany: VerifySignatures
  /** Signatures the helper threads have checked so far (the rest of `verifyMany`'s were checked by the caller). */
  readonly helperChecks: () => number
}

/** Build the verifiers, with their own cache of parsed keys (and, on first batch, their helper threads). */
export const make = (options: NodeCryptoCommitVerifierOptions = {}): NodeCryptoCommitVerifier => {
  const cacheSize = options.cacheSize ?? 4096
  const helperCount = Math.max(0, Math.floor(options.helpers ?? Math.min(3, availableParallelism() - 1)))
  const helperWaitMs = options.helperWaitMs ?? 1
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

  let helpers: Array<Worker> | undefined
  let helped = 0
  const liveHelpers = (): Array<Worker> => {
    if (helpers === undefined) {
      helpers = []
      for (let i = 0; i < helperCount; i++) {
        const worker = new Worker(HELPER_SOURCE, { eval: true })
        worker.unref()
        // A dead helper takes no more work; what it took, the caller checks after its wait.
        const drop = () => {
          helpers = helpers?.filter((w) => w !== worker)
        }
        worker.on("error", drop)
        worker.on("exit", drop)
        helpers.push(worker)
      }
    }
    return helpers
  }

  const verifyAll = (checks: ReadonlyArray<SignatureCheck>): ReadonlyArray<boolean> => {
    const count = checks.length
    const team = count > 1 ? liveHelpers() : []
    if (team.length === 0) return checks.map((c) => verify(c.publicKey, c.message, c.signature))
    const wordBytes = 4 * (HEADER + count * WORDS_PER_CHECK)
    const size = checks.reduce((n, c) => n + 96 + c.message.length, wordBytes)
    const sab = new SharedArrayBuffer(size)
    const words = new Int32Array(sab, 0, HEADER + count * WORDS_PER_CHECK)
    const bytes = new Uint8Array(sab)
    words[1] = count
    let offset = wordBytes
    let refused = 0
    checks.forEach((c, i) => {
      const at = HEADER + i * WORDS_PER_CHECK
      // Refused before OpenSSL sees it, as `verify` does.
      if (c.publicKey.length !== 32 || c.signature.length !== 64) {
        words[at + STATE] = INVALID
        refused++
      }
      words[at + OFFSET] = offset
      words[at + LENGTH] = c.message.length
      bytes.set(c.publicKey.subarray(0, 32), offset)
      bytes.set(c.signature.subarray(0, 64), offset + 32)
      bytes.set(c.message, offset + 96)
      offset += 96 + c.message.length
    })
    for (const worker of team) worker.postMessage(sab)
    let byCaller = 0
    const settle = (i: number) => {
      byCaller++
      const c = checks[i]
      if (c !== undefined) Atomics.store(words, HEADER + i * WORDS_PER_CHECK + STATE, verify(c.publicKey, c.message, c.signature) ? VALID : INVALID)
    }
    for (;;) {
      const i = Atomics.add(words, 0, 1)
      if (i >= count) break
      if (Atomics.load(words, HEADER + i * WORDS_PER_CHECK + STATE) === PENDING) settle(i)
    }
    const out = new Array<boolean>(count)
    for (let i = 0; i < count; i++) {
      const at = HEADER + i * WORDS_PER_CHECK + STATE
      if (Atomics.load(words, at) === PENDING && Atomics.wait(words, at, PENDING, helperWaitMs) === "timed-out") {
        // The helper that took it is slow or gone: the answer is the same from here. A late
        // helper writes the same answer.
        if (Atomics.load(words, at) === PENDING) settle(i)
      }
      out[i] = Atomics.load(words, at) === VALID
    }
    helped += count - byCaller - refused
    return out
  }

  return { verify, verifyMany: (checks) => Effect.sync(() => verifyAll(checks)), helperChecks: () => helped }
}

const HEX_KEY = /^[0-9a-f]{64}$/

/**
 * The verifiers as the SignatureVerifier port: Ed25519 as above (a batch's checks shared with
 * the helper threads), keys given as the port's lowercase hex; secp256k1 on node:crypto
 * (NodeCryptoSignatureVerifier). A key that is not 64 lowercase hex digits does not verify,
 * as with the other adapters.
 */
export const signatureVerifier = (options: NodeCryptoCommitVerifierOptions = {}): SignatureVerifierService => {
  const ed = make(options)
  const secp = NodeCryptoSignatureVerifier.make()
  const keyBytes = (hex: string): Uint8Array | null => (HEX_KEY.test(hex) ? Buffer.from(hex, "hex") : null)
  return {
    verify: (scheme, publicKey, message, signature) => {
      if (scheme !== "ed25519") return secp.verify(scheme, publicKey, message, signature)
      const key = keyBytes(publicKey)
      return key !== null && ed.verify(key, message, signature)
    },
    verifyMany: (requests) =>
      verifyManyByScheme(
        requests,
        (r) => keyBytes(r.publicKey),
        (edRequests, keys) => ed.verifyMany(edRequests.map((r, k) => ({ publicKey: keys[k] as Uint8Array, message: r.message, signature: r.signature }))),
        secp.verifyMany
      )
  }
}

/** The verifiers as the SignatureVerifier port, with default options. */
export const layer = Layer.sync(SignatureVerifier, () => signatureVerifier())

/** The verifiers as the SignatureVerifier port, with the given options. */
export const layerWith = (options: NodeCryptoCommitVerifierOptions) => Layer.sync(SignatureVerifier, () => signatureVerifier(options))
