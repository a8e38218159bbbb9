/**
 * RSW squarings on OpenSSL (through node:crypto): v^(2^k) mod N is an RSA public-key operation
 * with exponent e = 2^k and no padding. OpenSSL's Montgomery exponentiation runs the squarings
 * several times faster than JS BigInt; each call has a fixed cost on top (a new EVP context,
 * the conversions), measured at ~40–60 µs on Node 24.21 / OpenSSL 3.5.8 on the loaded shared
 * machine, about 8 BigInt multiplications mod a 2,048-bit N: `callCost`, from which the solver
 * picks long stretches between checkpoints (see `solvePuzzle`).
 *
 * Why RSA and not Diffie–Hellman (`createDiffieHellman(N, 2)`, `setPrivateKey(2^k)`,
 * `computeSecret(v)`): both compute the same power, but a DH call measured ~180 µs of
 * overhead and ~3 µs per squaring (constant-time exponentiation) against RSA's ~0.9 µs here.
 *
 * OpenSSL accepts any e < N for a modulus of at most 3,072 bits (larger moduli cap e at 64
 * bits), even or odd; longer stretches are cut into chunks of at most `maxChunk` squarings.
 * The engine checks itself against BigInt when it is made and falls back to BigInt if OpenSSL
 * refuses or disagrees. Either way a solution is accepted only through its Wesolowski proof.
 */
import { constants, createPublicKey, type KeyObject, publicEncrypt } from "node:crypto"
import { bigintSquarings, type Squarings } from "../../domain/timelock/Rsw.ts"

/** Longest stretch one OpenSSL call does (e = 2^k needs e < N; 1,024 keeps the call ~1 ms). */
export const MAX_CHUNK = 1024

const bitLength = (n: bigint): number => n.toString(2).length

/** Longest stretch per call for modulus `n`: `MAX_CHUNK`, or less when 2^k must stay below a small N. */
export const chunkFor = (n: bigint): number => Math.min(MAX_CHUNK, bitLength(n) - 2)

/** Big-endian bytes of `v`, exactly `len` long (v < 256^len). */
const toBytes = (v: bigint, len: number): Buffer => Buffer.from(v.toString(16).padStart(len * 2, "0"), "hex")

/** An OpenSSL engine for modulus `n` (odd, 512..3,072 bits), without the self-check. */
export const makeUnchecked = (n: bigint): Squarings => {
  const bits = bitLength(n)
  if ((n & 1n) !== 1n || bits < 512 || bits > 3072) throw new RangeError("modulus must be odd with 512 to 3,072 bits")
  const len = Math.ceil(bits / 8)
  const maxChunk = chunkFor(n)
  const nB64 = toBytes(n, len).toString("base64url")
  const keys = new Map<number, KeyObject>()
  const keyFor = (k: number): KeyObject => {
    let key = keys.get(k)
    if (key === undefined) {
      const e = toBytes(1n << BigInt(k), Math.ceil((k + 1) / 8)).toString("base64url")
      key = createPublicKey({ key: { kty: "RSA", n: nB64, e }, format: "jwk" })
      keys.set(k, key)
    }
    return key
  }
  const square = (v: bigint, k: number): bigint => {
    if (!Number.isSafeInteger(k) || k < 0) throw new RangeError("k must be a non-negative integer")
    if (v < 0n || v >= n) throw new RangeError("v must be in [0, N)")
    let r = v
    for (let left = k; left > 0; left -= maxChunk) {
      const chunk = Math.min(left, maxChunk)
      const out = publicEncrypt({ key: keyFor(chunk), padding: constants.RSA_NO_PADDING }, toBytes(r, len))
      r = BigInt("0x" + out.toString("hex"))
    }
    return r
  }
  return Object.assign(square, { engine: "OpenSSL", callCost: 8 })
}

/**
 * The OpenSSL engine for `n` once it has agreed with BigInt on a few stretches (up to a chunk
 * boundary); BigInt's engine if OpenSSL refuses the key or gives another answer.
 */
export const make = (n: bigint): Squarings => {
  const reference = bigintSquarings(n)
  try {
    const fast = makeUnchecked(n)
    const v = (n >> 1n) + 3n
    const agrees = [0, 1, 2, 17, chunkFor(n) + 1].every((k) => fast(v, k) === reference(v, k))
    return agrees ? fast : reference
  } catch {
    return reference
  }
}
