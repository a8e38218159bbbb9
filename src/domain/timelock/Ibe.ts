/**
 * Boneh–Franklin identity-based encryption with the Fujisaki–Okamoto transform, exactly as
 * drand's kyber `ibe` package and tlock-js compute it, so ciphertexts interoperate.
 *
 * The identity is a beacon round: Q = H(sha256(u64be(round))) hashed onto the signature
 * group, and the round's beacon signature σ = s·Q is the identity's private key.
 *
 *   encrypt(msg):  σ' random, r = H3(σ', msg), U = r·G, V = σ' ⊕ H2(e(Q, P)^r), W = msg ⊕ H4(σ')
 *   decrypt:       σ' = V ⊕ H2(e(U, σ)), msg = W ⊕ H4(σ'), accept only if U = H3(σ', msg)·G
 *
 * U lives in the public key's group (G2 for quicknet, whose signatures are on G1). The last
 * check makes a wrong key or a mauled ciphertext fail instead of decrypting to garbage.
 *
 * The curve work (pairing, scalar multiplication) goes through `IbeOps`, so the same hashing
 * and checks run over noble (pure JS, here) or mcl-wasm (the batch decrypter's adapter).
 */
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { bytesToNumberBE, equalBytes, numberToBytesBE } from "@noble/curves/utils.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js"

/** Compressed sizes: 48 bytes for a G1 point, 96 for a G2 point. */
export type PointSize = 48 | 96

/** The curve operations the IBE needs, on compressed points and GT elements in kyber's byte order. */
export interface IbeOps {
  /** Name of the implementation (for benchmarks and logs). */
  readonly name: string
  /**
   * e(U, key) serialised as kyber does (576 bytes). One argument is 48 bytes (G1), the other
   * 96 (G2). Throws when either is not a point of the curve; may skip the subgroup check,
   * since `decrypt` accepts U only if it equals H3(σ, msg)·G byte for byte.
   */
  readonly pair: (u: Uint8Array, key: Uint8Array) => Uint8Array
  /** r·generator of the group with compressed size `size`, compressed. */
  readonly mulGenerator: (size: PointSize, r: bigint) => Uint8Array
  /** For one identity: r ↦ e(Q, master)^r serialised (the pairing is done once, up front). */
  readonly identityPower: (master: Uint8Array, q: Uint8Array) => (r: bigint) => Uint8Array
}

/** An IBE ciphertext: U (a point, compressed), V and W (as long as the message). */
export interface IbeCiphertext {
  readonly u: Uint8Array
  readonly v: Uint8Array
  readonly w: Uint8Array
}

const FR_ORDER = bls12_381.fields.Fr.ORDER
const H2 = utf8ToBytes("IBE-H2")
const H3 = utf8ToBytes("IBE-H3")
const H4 = utf8ToBytes("IBE-H4")

/** kyber's GT hash: sha256("IBE-H2" ‖ gt), cut to `len` bytes (masks σ). */
export const gtToHash = (gt: Uint8Array, len: number): Uint8Array => sha256(concatBytes(H2, gt)).slice(0, len)

/** kyber's H3: r from σ and msg by rejection sampling sha256(u16le(i) ‖ sha256("IBE-H3" ‖ σ ‖ msg)) >> 1 bit. */
export const h3 = (sigma: Uint8Array, msg: Uint8Array): bigint => {
  const seed = sha256(concatBytes(H3, sigma, msg))
  const counter = new Uint8Array(2)
  for (let i = 1; i < 65535; i++) {
    counter[0] = i & 0xff
    counter[1] = i >>> 8
    const data = sha256(concatBytes(counter, seed))
    data[0] = (data[0] as number) >>> 1
    const n = bytesToNumberBE(data)
    if (n < FR_ORDER && n > 0n) return n
  }
  // Unreachable in practice: each try succeeds with probability ~0.9.
  throw new Error("h3: no scalar found")
}

/** kyber's H4: sha256("IBE-H4" ‖ σ) cut to `len` bytes (masks the message). */
export const h4 = (sigma: Uint8Array, len: number): Uint8Array => sha256(concatBytes(H4, sigma)).slice(0, len)

const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => {
  const out = new Uint8Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i] as number)
  return out
}

type Fp12 = ReturnType<typeof bls12_381.fields.Fp12.create>

/** A GT element in kyber's byte order: the 12 Fp coefficients, highest first, 48 bytes big-endian each. */
export const gtToBytes = (gt: Fp12): Uint8Array => {
  const parts: Array<Uint8Array> = []
  for (const c6 of [gt.c1, gt.c0]) {
    for (const c2 of [c6.c2, c6.c1, c6.c0]) {
      parts.push(numberToBytesBE(c2.c1, 48), numberToBytesBE(c2.c0, 48))
    }
  }
  return concatBytes(...parts)
}

const G1 = bls12_381.G1.Point
const G2 = bls12_381.G2.Point

/** The pair (G1 point, G2 point) from two compressed points of different sizes. */
const orient = (a: Uint8Array, b: Uint8Array) => {
  if (a.length === 48 && b.length === 96) return { p: G1.fromBytes(a), q: G2.fromBytes(b) }
  if (a.length === 96 && b.length === 48) return { p: G1.fromBytes(b), q: G2.fromBytes(a) }
  throw new Error(`points must be one G1 (48 bytes) and one G2 (96 bytes), got ${a.length} and ${b.length}`)
}

/** IbeOps on noble: pure JS, the reference the faster backends are checked against. */
export const nobleIbeOps: IbeOps = {
  name: "noble",
  pair: (u, key) => {
    const { p, q } = orient(u, key)
    return gtToBytes(bls12_381.pairing(p, q))
  },
  mulGenerator: (size, r) => (size === 48 ? G1.BASE.multiply(r) : G2.BASE.multiply(r)).toBytes(true),
  identityPower: (master, q) => {
    const { p, q: q2 } = orient(q, master)
    const gid = bls12_381.pairing(p, q2)
    return (r) => gtToBytes(bls12_381.fields.Fp12.pow(gid, r))
  }
}

/** Encrypt `msg` (≤ 32 bytes) to the identity point `q` under `master`, with the random `sigma` (|msg| bytes). */
export const encrypt = (ops: IbeOps, master: Uint8Array, q: Uint8Array, msg: Uint8Array, sigma: Uint8Array): IbeCiphertext =>
  encryptWith(ops.identityPower(master, q), ops, master.length === 96 ? 96 : 48, msg, sigma)

/** Encrypt with a prepared identity (see `IbeOps.identityPower`): U lives in the group of size `uSize`. */
export const encryptWith = (
  power: (r: bigint) => Uint8Array,
  ops: IbeOps,
  uSize: PointSize,
  msg: Uint8Array,
  sigma: Uint8Array
): IbeCiphertext => {
  if (msg.length > 32 || sigma.length !== msg.length) throw new Error("IBE message must be ≤ 32 bytes and sigma as long")
  const r = h3(sigma, msg)
  return { u: ops.mulGenerator(uSize, r), v: xor(sigma, gtToHash(power(r), msg.length)), w: xor(msg, h4(sigma, msg.length)) }
}

/** Why an IBE ciphertext did not open. */
export type IbeFailure = "malformed point" | "invalid proof: rP check failed"

/** Decrypt with the identity's private key (the beacon signature, compressed). */
export const decrypt = (ops: IbeOps, key: Uint8Array, ct: IbeCiphertext): { readonly msg: Uint8Array } | { readonly failure: IbeFailure } => {
  if (ct.v.length !== ct.w.length || ct.w.length > 32 || (ct.u.length !== 48 && ct.u.length !== 96)) return { failure: "malformed point" }
  let gt: Uint8Array
  try {
    gt = ops.pair(ct.u, key)
  } catch {
    return { failure: "malformed point" }
  }
  const sigma = xor(gtToHash(gt, ct.w.length), ct.v)
  const msg = xor(h4(sigma, ct.w.length), ct.w)
  // U is compared as canonical compressed bytes: equal points have equal encodings.
  const rP = ops.mulGenerator(ct.u.length as PointSize, h3(sigma, msg))
  return equalBytes(rP, ct.u) ? { msg } : { failure: "invalid proof: rP check failed" }
}
