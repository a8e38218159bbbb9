/**
 * The IBE's curve work on mcl-wasm (herumi's mcl compiled to WebAssembly, from npm, no native
 * build or download): a BLS12-381 pairing about 4.5× faster than noble's pure JS here. Points
 * use the same compressed (ZCash/ETH) encoding as noble; GT elements are re-ordered into
 * kyber's serialisation, so the hashes over them match tlock's byte for byte.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { numberToBytesBE } from "@noble/curves/utils.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import * as mcl from "mcl-wasm"
import type { IbeOps, PointSize } from "../../domain/timelock/Ibe.ts"

let ready: Promise<void> | undefined

/** Initialise mcl for BLS12-381 once per thread (WebAssembly instantiation, ~100 ms). */
const init = (): Promise<void> => {
  ready ??= mcl.init(mcl.BLS12_381).then(() => {
    mcl.setETHserialization(true)
    // No subgroup check on deserialisation (it costs ~5% of a decryption): the points are the
    // chain key (configuration), a beacon signature (verified by the Beacon adapter) or a
    // ciphertext's U, which must equal H3(σ, msg)·G byte for byte to be accepted, and r·G is
    // in the subgroup. Points must still be on the curve: mcl checks that when decompressing.
    mcl.verifyOrderG1(false)
    mcl.verifyOrderG2(false)
  })
  return ready
}

const g1 = (bytes: Uint8Array): mcl.G1 => {
  const p = new mcl.G1()
  p.deserialize(bytes)
  if (p.isZero()) throw new Error("point at infinity")
  return p
}

const g2 = (bytes: Uint8Array): mcl.G2 => {
  const p = new mcl.G2()
  p.deserialize(bytes)
  if (p.isZero()) throw new Error("point at infinity")
  return p
}

/** mcl writes GT as six Fp2 (c1 ‖ c0 each) lowest first; kyber writes the same six highest first. */
const kyberBytes = (gt: mcl.GT): Uint8Array => {
  const s = gt.serialize()
  const out = new Uint8Array(576)
  for (let i = 0; i < 6; i++) out.set(s.subarray((5 - i) * 96, (6 - i) * 96), i * 96)
  return out
}

const fr = (r: bigint): mcl.Fr => {
  const f = new mcl.Fr()
  f.setBigEndianMod(numberToBytesBE(r, 32))
  return f
}

/** IbeOps on mcl-wasm. Await it once per thread; the ops themselves are synchronous. */
export const make = async (): Promise<IbeOps> => {
  await init()
  const baseG1 = g1(bls12_381.G1.Point.BASE.toBytes(true))
  const baseG2 = g2(bls12_381.G2.Point.BASE.toBytes(true))
  // When the decryption key is on G2 (chains signing on G2), its Miller-loop lines are reused
  // across a batch: every ciphertext of a round pairs with the same signature.
  // Decompressing the key once per batch saves a square root per ciphertext.
  let cachedKey: string | undefined
  let cachedPre: mcl.PrecomputedG2 | undefined
  let cachedG1: mcl.G1 | undefined
  const keyOnG2 = (key: Uint8Array): mcl.PrecomputedG2 => {
    const hex = bytesToHex(key)
    if (cachedKey !== hex || cachedPre === undefined) {
      cachedPre?.destroy()
      cachedPre = new mcl.PrecomputedG2(g2(key))
      cachedG1 = undefined
      cachedKey = hex
    }
    return cachedPre
  }
  const keyOnG1 = (key: Uint8Array): mcl.G1 => {
    const hex = bytesToHex(key)
    if (cachedKey !== hex || cachedG1 === undefined) {
      cachedPre?.destroy()
      cachedPre = undefined
      cachedG1 = g1(key)
      cachedKey = hex
    }
    return cachedG1
  }
  return {
    name: "mcl-wasm",
    pair: (u, key) => {
      if (u.length === 96 && key.length === 48) return kyberBytes(mcl.pairing(keyOnG1(key), g2(u)))
      if (u.length === 48 && key.length === 96) return kyberBytes(mcl.finalExp(mcl.precomputedMillerLoop(g1(u), keyOnG2(key))))
      throw new Error(`points must be one G1 (48 bytes) and one G2 (96 bytes), got ${u.length} and ${key.length}`)
    },
    mulGenerator: (size: PointSize, r) => (size === 48 ? mcl.mul(baseG1, fr(r)) : mcl.mul(baseG2, fr(r))).serialize(),
    identityPower: (master, q) => {
      const gid = master.length === 96 ? mcl.pairing(g1(q), g2(master)) : mcl.pairing(g1(master), g2(q))
      return (r) => kyberBytes(mcl.pow(gid, fr(r)))
    }
  }
}
