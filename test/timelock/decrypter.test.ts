/**
 * The fast path: mcl-wasm's curve operations agree with noble's (pairings in kyber's GT byte
 * order, scalar multiples, GT powers) and pass the same vectors; the TlockDecrypter adapters
 * (noble and mcl in-process, mcl on worker threads) return the same results, in input order,
 * with bad ciphertexts failing only their own entry.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { sha256, sha384 } from "@noble/hashes/sha2.js"
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import fc from "fast-check"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import * as InlineTlockDecrypter from "../../src/adapters/timelock/InlineTlockDecrypter.ts"
import * as MclIbeOps from "../../src/adapters/timelock/MclIbeOps.ts"
import * as WorkerTlockDecrypter from "../../src/adapters/timelock/WorkerTlockDecrypter.ts"
import { signRound } from "../../src/domain/timelock/BeaconVerification.ts"
import { type IbeOps, nobleIbeOps } from "../../src/domain/timelock/Ibe.ts"
import { decryptWithSignature, encryptToRound, roundEncrypter } from "../../src/domain/timelock/Tlock.ts"
import { TlockDecrypter } from "../../src/ports/TlockDecrypter.ts"
import { decryptCases, ibeInternals, network } from "./vectors.ts"

let mcl: IbeOps
beforeAll(async () => {
  mcl = await MclIbeOps.make()
})

const scalar = fc.bigInt({ min: 1n, max: bls12_381.fields.Fr.ORDER - 1n })

describe("mcl-wasm IbeOps agrees with noble", () => {
  it("e(g1, g2) in kyber order is the vector", () => {
    const g1 = bls12_381.G1.Point.BASE.toBytes(true)
    const g2 = bls12_381.G2.Point.BASE.toBytes(true)
    expect(bytesToHex(mcl.pair(g2, g1))).toBe(ibeInternals.gt_bytes_kyber_order)
    expect(bytesToHex(mcl.pair(g1, g2))).toBe(ibeInternals.gt_bytes_kyber_order)
  })

  it("pairings of random multiples, both orientations", () => {
    fc.assert(
      fc.property(scalar, scalar, (a, b) => {
        const p = bls12_381.G1.Point.BASE.multiply(a).toBytes(true)
        const q = bls12_381.G2.Point.BASE.multiply(b).toBytes(true)
        return bytesToHex(mcl.pair(q, p)) === bytesToHex(nobleIbeOps.pair(q, p)) && bytesToHex(mcl.pair(p, q)) === bytesToHex(nobleIbeOps.pair(p, q))
      }),
      { numRuns: 4 }
    )
  })

  it("scalar multiples of both generators", () => {
    fc.assert(
      fc.property(scalar, (r) =>
        bytesToHex(mcl.mulGenerator(48, r)) === bytesToHex(nobleIbeOps.mulGenerator(48, r)) &&
        bytesToHex(mcl.mulGenerator(96, r)) === bytesToHex(nobleIbeOps.mulGenerator(96, r))),
      { numRuns: 10 }
    )
  })

  it("GT powers for an identity", () => {
    const master = bls12_381.G2.Point.BASE.multiply(12345n).toBytes(true)
    const q = bls12_381.G1.hashToCurve(utf8ToBytes("id")).toBytes(true)
    const [a, b] = [mcl.identityPower(master, q), nobleIbeOps.identityPower(master, q)]
    fc.assert(fc.property(scalar, (r) => bytesToHex(a(r)) === bytesToHex(b(r))), { numRuns: 3 })
  })

  it("a compressed encoding that is not a curve point is refused", () => {
    expect(() => mcl.pair(new Uint8Array(96).fill(0xff), bls12_381.G1.Point.BASE.toBytes(true))).toThrow()
    // the point at infinity
    const inf = new Uint8Array(96)
    inf[0] = 0xc0
    expect(() => mcl.pair(inf, bls12_381.G1.Point.BASE.toBytes(true))).toThrow()
  })

  it("the offline vector decryptions give the same results on mcl", () => {
    for (const c of decryptCases.filter((d) => d.offline && d.beacon_signature !== null)) {
      const r = decryptWithSignature(c.ciphertext_armored, c.beacon_signature as string, { chainHash: network(c.network).chainHash, ops: mcl })
      if (c.expected_plaintext !== undefined) expect(Result.isSuccess(r) && new TextDecoder().decode(r.success)).toBe(c.expected_plaintext)
      else expect(Result.isFailure(r) && r.failure.reason).toBe("invalid proof: rP check failed")
    }
  })

  it("ciphertexts encrypted with mcl open with noble, and the reverse", () => {
    const sk = bls12_381.utils.randomSecretKey(sha384(utf8ToBytes("mcl interop")))
    const info = LocalBeacon.chainInfoOf({ secretKey: sk, genesisTime: 0 })
    const sig = signRound(sk, 3)
    const byMcl = roundEncrypter(info, 3, mcl)(utf8ToBytes("from mcl"))
    const byNoble = roundEncrypter(info, 3, nobleIbeOps)(utf8ToBytes("from noble"))
    const a = decryptWithSignature(byMcl, sig, { ops: nobleIbeOps })
    const b = decryptWithSignature(byNoble, sig, { ops: mcl })
    expect(Result.isSuccess(a) && new TextDecoder().decode(a.success)).toBe("from mcl")
    expect(Result.isSuccess(b) && new TextDecoder().decode(b.success)).toBe("from noble")
  })
})

describe("TlockDecrypter adapters", () => {
  const sk = bls12_381.utils.randomSecretKey(sha384(utf8ToBytes("decrypter test key")))
  const info = LocalBeacon.chainInfoOf({ secretKey: sk, genesisTime: 0 })
  const other = LocalBeacon.chainInfoOf({ secretKey: sk, genesisTime: 0, beaconId: "other" })
  const round = 11
  const sig = signRound(sk, round)

  /** 40 items: mostly good, with each kind of failure sprinkled in at known places. */
  const batch = (encryptOps: IbeOps) => {
    const enc = roundEncrypter(info, round, encryptOps)
    const items: Array<{ ciphertext: string; signature: string }> = []
    const expected: Array<string> = []
    for (let i = 0; i < 40; i++) {
      const plaintext = `order #${i}`
      if (i === 7) {
        items.push({ ciphertext: "not a ciphertext", signature: sig })
        expected.push("MalformedCiphertext")
      } else if (i === 13) {
        items.push({ ciphertext: encryptToRound(other, round, utf8ToBytes(plaintext)), signature: sig })
        expected.push("WrongChainHash")
      } else if (i === 21) {
        items.push({ ciphertext: enc(utf8ToBytes(plaintext)), signature: signRound(sk, round + 1) })
        expected.push("DecryptionFailed")
      } else {
        items.push({ ciphertext: enc(utf8ToBytes(plaintext)), signature: sig })
        expected.push(plaintext)
      }
    }
    return { items, expected }
  }

  const outcome = (r: Result.Result<Uint8Array, { readonly _tag: string }>) =>
    Result.isSuccess(r) ? new TextDecoder().decode(r.success) : r.failure._tag

  const adapters: ReadonlyArray<[string, () => Layer.Layer<TlockDecrypter, unknown>]> = [
    ["noble in-process", () => InlineTlockDecrypter.layerNoble],
    ["mcl in-process", () => InlineTlockDecrypter.layerMcl],
    ["mcl on 2 worker threads", () => WorkerTlockDecrypter.layerWith({ workers: 2, maxSlice: 5 })]
  ]
  for (const [name, layer] of adapters) {
    it.effect(`${name}: one result per item, in order, failures confined to their item`, () =>
      Effect.gen(function*() {
        const { items, expected } = batch(mcl)
        const decrypter = yield* TlockDecrypter
        const results = yield* decrypter.decryptBatch(items, { chainHash: info.chainHash })
        expect(results.map(outcome)).toEqual(expected)
        expect(yield* decrypter.decryptBatch([], { chainHash: info.chainHash })).toEqual([])
      }).pipe(Effect.provide(layer())))
  }

  it.effect("worker threads run the .ts worker under Node's type stripping and survive consecutive batches", () =>
    Effect.gen(function*() {
      const decrypter = yield* TlockDecrypter
      expect(decrypter.describe).toBe("mcl-wasm × 2 worker threads")
      const enc = roundEncrypter(info, round, mcl)
      for (let k = 0; k < 3; k++) {
        const items = Array.from({ length: 9 }, (_, i) => ({ ciphertext: enc(utf8ToBytes(`${k}/${i}`)), signature: sig }))
        const results = yield* decrypter.decryptBatch(items, { chainHash: info.chainHash })
        expect(results.map(outcome)).toEqual(items.map((_, i) => `${k}/${i}`))
      }
    }).pipe(Effect.provide(WorkerTlockDecrypter.layerWith({ workers: 2, maxSlice: 2 }))))

  it.effect("a worker that dies fails its batch with TlockDecrypterError and is replaced", () =>
    Effect.gen(function*() {
      const decrypter = yield* TlockDecrypter
      const enc = roundEncrypter(info, round, mcl)
      const good = Array.from({ length: 6 }, (_, i) => ({ ciphertext: enc(utf8ToBytes(`g${i}`)), signature: sig }))
      const error = yield* Effect.flip(decrypter.decryptBatch([...good, { ciphertext: "crash", signature: sig }], { chainHash: info.chainHash }))
      expect(error._tag).toBe("TlockDecrypterError")
      // both workers may have been hit; the replacements serve the next batches
      for (let k = 0; k < 2; k++) {
        const results = yield* decrypter.decryptBatch(good, { chainHash: info.chainHash })
        expect(results.map(outcome)).toEqual(good.map((_, i) => `g${i}`))
      }
    }).pipe(Effect.provide(WorkerTlockDecrypter.layerWith({ workers: 2, maxSlice: 1, script: new URL("./crashingTlockWorker.ts", import.meta.url) }))))

  it("a batch key given as bytes or hex is the same key", () => {
    const ct = encryptToRound(info, round, utf8ToBytes("k"))
    const a = decryptWithSignature(ct, hexToBytes(sig), { ops: mcl })
    const b = decryptWithSignature(ct, sig, { ops: mcl })
    expect(Result.isSuccess(a) && Result.isSuccess(b)).toBe(true)
  })
})
