/**
 * Conformance with drand and tlock: every case of test/vectors/drand-tlock. Beacon
 * verification of all BLS12-381 schemes (chained, unchained, G1 pre-RFC, RFC 9380), chain
 * hashes, the IBE's GT serialisation and hash, and the offline tlock decryptions and must-fail
 * cases. BN254 beacons and the decryptions that need a beacon fetched from drand's HTTP API
 * are skipped, each with its reason in the test name.
 */
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import { verifyBeacon } from "../../src/domain/timelock/BeaconVerification.ts"
import { checkChainHash, computeChainHash, quicknet } from "../../src/domain/timelock/ChainInfo.ts"
import { gtToBytes, gtToHash } from "../../src/domain/timelock/Ibe.ts"
import { decryptWithSignature, parseTlock } from "../../src/domain/timelock/Tlock.ts"
import { beaconCases, decryptCases, ibeInternals, network, networks, readText } from "./vectors.ts"

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe("chain-info.json", () => {
  it("the built-in quicknet constant is the vector's quicknet", () => {
    const { name: _, ...vector } = network("quicknet")
    expect(quicknet).toEqual(vector)
  })

  for (const n of networks) {
    it(`${n.name}: chain hash recomputed from the fields`, () => {
      expect(computeChainHash(n)).toBe(n.chainHash)
      expect(Result.isSuccess(checkChainHash(n))).toBe(true)
      // one changed field changes the hash
      expect(Result.isFailure(checkChainHash({ ...n, period: n.period + 1 }))).toBe(true)
    })
  }
})

describe("beacon-verification.json", () => {
  for (const c of beaconCases) {
    if (c.scheme === "bls-bn254-unchained-on-g1") {
      it.skip(`${c.name} [skipped: BN254 (drand evmnet) is not BLS12-381; causeway verifies BLS12-381 beacons only]`, () => {})
      continue
    }
    it(`${c.name} → ${c.expected_valid ? "valid" : "invalid"}`, () => {
      const result = verifyBeacon(
        { scheme: c.scheme, publicKey: c.public_key },
        { round: c.round, signature: c.signature, previousSignature: c.previous_signature, randomness: c.randomness },
        c.expected_round
      )
      if (Result.isFailure(result)) expect(result.failure._tag).toBe("InvalidBeacon")
      expect(Result.isSuccess(result)).toBe(c.expected_valid)
      if (Result.isSuccess(result) && c.randomness !== undefined) expect(result.success.randomness).toBe(c.randomness)
    })
  }

  it("a BN254 beacon is refused as unsupported, not as valid or invalid", () => {
    const c = beaconCases.find((b) => b.scheme === "bls-bn254-unchained-on-g1")
    expect(c).toBeDefined()
    if (c === undefined) return
    const result = verifyBeacon({ scheme: c.scheme, publicKey: c.public_key }, { round: c.round, signature: c.signature })
    expect(Result.isFailure(result) && result.failure._tag).toBe("UnsupportedScheme")
  })
})

describe("ibe-internals.json", () => {
  const gt = bls12_381.pairing(bls12_381.G1.Point.BASE, bls12_381.G2.Point.BASE)

  it("generators match the vector encodings", () => {
    expect(bytesToHex(bls12_381.G1.Point.BASE.toBytes(true))).toBe(ibeInternals.g1_generator_compressed)
    expect(bytesToHex(bls12_381.G2.Point.BASE.toBytes(false)).slice(0, 384)).toBe(ibeInternals.g2_generator_uncompressed)
  })

  it("e(g1, g2) serialises to kyber's 576 bytes", () => {
    expect(bytesToHex(gtToBytes(gt))).toBe(ibeInternals.gt_bytes_kyber_order)
  })

  it("e(g1, g2)² serialises to the vector", () => {
    expect(bytesToHex(gtToBytes(bls12_381.fields.Fp12.mul(gt, gt)))).toBe(ibeInternals.gt_squared_bytes)
  })

  it("gtToHash(e(g1, g2), 16)", () => {
    expect(bytesToHex(gtToHash(hexToBytes(ibeInternals.gt_bytes_kyber_order), 16))).toBe(ibeInternals.gt_to_hash_16)
  })
})

describe("tlock-decrypt.json", () => {
  for (const c of decryptCases) {
    it(`${c.name}: header names round ${c.round} of its chain`, () => {
      const parsed = parseTlock(c.ciphertext_armored)
      expect(Result.isSuccess(parsed)).toBe(true)
      if (Result.isFailure(parsed)) return
      expect(parsed.success.round).toBe(c.round)
      const declaredChain = c.expected_error?.includes("ErrWrongChainhash") === true ? network("quicknet").chainHash : c.chain_hash
      expect(parsed.success.chainHash).toBe(declaredChain)
    })

    if (!c.offline || c.beacon_signature === null) {
      if (c.expected_error === undefined) {
        it.skip(`${c.name}: decrypt [skipped: needs round ${c.round}'s beacon from the drand HTTP API, unreachable offline]`, () => {})
        continue
      }
    }

    it(`${c.name} → ${c.expected_plaintext !== undefined ? JSON.stringify(c.expected_plaintext) : `fails (${c.expected_error})`}`, () => {
      // strict mode: the decrypter is configured for the case's network
      const signature = c.beacon_signature ?? "00"
      const result = decryptWithSignature(c.ciphertext_armored, signature, { chainHash: network(c.network).chainHash })
      if (c.expected_plaintext !== undefined) {
        expect(Result.isSuccess(result)).toBe(true)
        if (Result.isSuccess(result)) expect(text(result.success)).toBe(c.expected_plaintext)
      } else {
        expect(Result.isFailure(result)).toBe(true)
        if (Result.isFailure(result)) {
          const expected = c.expected_error?.includes("ErrWrongChainhash") === true ? "WrongChainHash" : "DecryptionFailed"
          expect(result.failure._tag).toBe(expected)
          if (expected === "DecryptionFailed") expect(result.failure.reason).toBe("invalid proof: rP check failed")
        }
      }
    })
  }

  it("the lorem .tle file is the same ciphertext as its JSON case", () => {
    const lorem = decryptCases.find((c) => c.round === 5423142)
    expect(lorem).toBeDefined()
    const file = parseTlock(readText("lorem-tle-testnet-quicknet-t-2024-01-17-15-28.tle"))
    expect(Result.isSuccess(file) && file.success.round).toBe(5423142)
    expect(readText("lorem-tle-testnet-quicknet-t-2024-01-17-15-28.tle").trim()).toBe(lorem?.ciphertext_armored.trim())
    expect(readText("lorem.txt")).toBe(lorem?.expected_plaintext)
  })

  it("a decryptable case fails with another round's signature, and with its own signature flipped", () => {
    const hello = decryptCases[0]
    const other = beaconCases.find((b) => b.name === "walkthrough rfc9380 round 38")
    expect(hello?.beacon_signature).toBeTruthy()
    if (hello?.beacon_signature == null || other === undefined) return
    const wrong = decryptWithSignature(hello.ciphertext_armored, other.signature)
    expect(Result.isFailure(wrong) && wrong.failure._tag).toBe("DecryptionFailed")
    const sig = hexToBytes(hello.beacon_signature)
    sig[47] = (sig[47] as number) ^ 1
    const flipped = decryptWithSignature(hello.ciphertext_armored, sig)
    expect(Result.isFailure(flipped) && flipped.failure._tag).toBe("DecryptionFailed")
  })
})
