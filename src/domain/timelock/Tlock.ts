/**
 * drand tlock: encrypt to a future beacon round, decrypt with that round's signature. The
 * format is tlock's (and tlock-js's): an age v1 file with one `tlock <round> <chain hash>`
 * stanza whose body is the IBE encryption (U ‖ V ‖ W) of the 16-byte age file key, ASCII-armored.
 *
 * Pure: randomness comes in as a function (noble's CSPRNG by default), the curve work through
 * `IbeOps` (noble by default; the batch decrypter passes mcl-wasm's).
 */
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { hexToBytes, randomBytes } from "@noble/hashes/utils.js"
import { Result, Schema } from "effect"
import { type AgeFile, armor, dearmor, encodeAge, isArmored, openAge, parseAge } from "./Age.ts"
import { DST_G1, DST_G2, roundMessage, UnsupportedScheme } from "./BeaconVerification.ts"
import type { ChainInfo } from "./ChainInfo.ts"
import { decrypt, encryptWith, type IbeOps, nobleIbeOps, type PointSize } from "./Ibe.ts"

/** The ciphertext is not a tlock age file (bad armor, header, stanza or sizes). */
export class MalformedCiphertext extends Schema.TaggedError<MalformedCiphertext>()("MalformedCiphertext", {
  reason: Schema.String
}, { httpApiStatus: 400 }) {}

/** The ciphertext was made for another drand chain than the one expected. */
export class WrongChainHash extends Schema.TaggedError<WrongChainHash>()("WrongChainHash", {
  reason: Schema.String,
  expected: Schema.String,
  actual: Schema.String
}, { httpApiStatus: 400 }) {}

/** The ciphertext is locked to another round than the signature's. */
export class WrongRound extends Schema.TaggedError<WrongRound>()("WrongRound", {
  reason: Schema.String,
  expected: Schema.Number,
  actual: Schema.Number
}, { httpApiStatus: 400 }) {}

/** The ciphertext does not open with this signature (wrong key, or the ciphertext was altered). */
export class DecryptionFailed extends Schema.TaggedError<DecryptionFailed>()("DecryptionFailed", {
  reason: Schema.String
}, { httpApiStatus: 400 }) {}

/** Why tlock decryption failed. */
export type TlockError = MalformedCiphertext | WrongChainHash | WrongRound | DecryptionFailed

/** What a tlock ciphertext says about itself, readable before its round. */
export interface TlockHeader {
  readonly round: number
  readonly chainHash: string
  /** Size of U: 96 when the chain signs on G1 (quicknet), 48 when it signs on G2. */
  readonly uSize: PointSize
}

/** A parsed tlock ciphertext, ready to open. */
export interface ParsedTlock extends TlockHeader {
  readonly file: AgeFile
  readonly u: Uint8Array
  readonly v: Uint8Array
  readonly w: Uint8Array
}

const FILE_KEY_SIZE = 16
const roundRe = /^[1-9][0-9]{0,15}$/
const hashRe = /^[0-9a-f]{64}$/

/** The binary age file inside an armored or raw ciphertext. */
const ageBytes = (ciphertext: string | Uint8Array): Uint8Array | undefined => {
  if (typeof ciphertext !== "string") return ciphertext
  if (isArmored(ciphertext)) return dearmor(ciphertext)
  const raw = new Uint8Array(ciphertext.length)
  for (let i = 0; i < ciphertext.length; i++) {
    const c = ciphertext.charCodeAt(i)
    if (c > 0xff) return undefined
    raw[i] = c
  }
  return raw
}

/** Parse a tlock ciphertext (armored text, or the binary age file) without decrypting it. */
export const parseTlock = (ciphertext: string | Uint8Array): Result.Result<ParsedTlock, MalformedCiphertext> => {
  const bad = (reason: string) => Result.fail(new MalformedCiphertext({ reason }))
  const bytes = ageBytes(ciphertext)
  if (bytes === undefined) return bad("not valid age ASCII armor")
  const file = parseAge(bytes)
  if ("stage" in file) return bad(file.reason)
  if (file.stanzas.length !== 1) return bad(`expected exactly one recipient stanza, found ${file.stanzas.length}`)
  const stanza = file.stanzas[0] as (typeof file.stanzas)[number]
  if (stanza.type !== "tlock") return bad(`recipient stanza is "${stanza.type}", not "tlock"`)
  const [roundText, chainHash] = stanza.args
  if (stanza.args.length !== 2 || roundText === undefined || chainHash === undefined) return bad("tlock stanza needs two arguments: round and chain hash")
  if (!roundRe.test(roundText) || !Number.isSafeInteger(Number(roundText))) return bad(`round "${roundText}" is not a positive integer`)
  if (!hashRe.test(chainHash)) return bad("chain hash is not 32 bytes of lowercase hex")
  const body = stanza.body
  const uSize = body.length - 2 * FILE_KEY_SIZE
  if (uSize !== 48 && uSize !== 96) return bad(`tlock stanza body is ${body.length} bytes; expected 80 or 128`)
  return Result.succeed({
    round: Number(roundText),
    chainHash,
    uSize,
    file,
    u: body.subarray(0, uSize),
    v: body.subarray(uSize, uSize + FILE_KEY_SIZE),
    w: body.subarray(uSize + FILE_KEY_SIZE)
  })
}

/** Options of `decryptWithSignature`. */
export interface DecryptOptions {
  /** Refuse ciphertexts for another chain (drand's "strict" mode). */
  readonly chainHash?: string
  /** Refuse ciphertexts locked to another round than this (the signature's). */
  readonly round?: number
  /** Curve backend; noble by default. */
  readonly ops?: IbeOps
}

/** Open a parsed ciphertext with the round's signature (hex or bytes). */
export const openTlock = (parsed: ParsedTlock, roundSignature: string | Uint8Array, options: DecryptOptions = {}): Result.Result<Uint8Array, TlockError> => {
  if (options.chainHash !== undefined && options.chainHash !== parsed.chainHash) {
    return Result.fail(new WrongChainHash({ reason: "ciphertext is for another drand chain", expected: options.chainHash, actual: parsed.chainHash }))
  }
  if (options.round !== undefined && options.round !== parsed.round) {
    return Result.fail(new WrongRound({ reason: `ciphertext is locked to round ${parsed.round}`, expected: options.round, actual: parsed.round }))
  }
  let key: Uint8Array
  try {
    key = typeof roundSignature === "string" ? hexToBytes(roundSignature) : roundSignature
  } catch {
    return Result.fail(new DecryptionFailed({ reason: "round signature is not hex" }))
  }
  if (key.length + parsed.uSize !== 144) {
    return Result.fail(new DecryptionFailed({ reason: `a ${key.length}-byte signature cannot open a ciphertext with a ${parsed.uSize}-byte U` }))
  }
  const ibe = decrypt(options.ops ?? nobleIbeOps, key, parsed)
  if ("failure" in ibe) return Result.fail(new DecryptionFailed({ reason: ibe.failure }))
  const plaintext = openAge(parsed.file, ibe.msg)
  if (!(plaintext instanceof Uint8Array)) return Result.fail(new DecryptionFailed({ reason: plaintext.reason }))
  return Result.succeed(plaintext)
}

/** Decrypt a tlock ciphertext (armored or binary) with its round's beacon signature. */
export const decryptWithSignature = (
  ciphertext: string | Uint8Array,
  roundSignature: string | Uint8Array,
  options: DecryptOptions = {}
): Result.Result<Uint8Array, TlockError> => {
  const parsed = parseTlock(ciphertext)
  return Result.isFailure(parsed) ? Result.fail(parsed.failure) : openTlock(parsed.success, roundSignature, options)
}

/** Encryption to one round of one chain, with that round's pairing done once. */
export type RoundEncrypter = (plaintext: Uint8Array, random?: (n: number) => Uint8Array) => string

/**
 * Prepare encryption to `round` of `chain`: one pairing now, then per message one GT power and
 * one scalar multiplication. Throws `UnsupportedScheme` for chained and BN254 chains (tlock
 * needs an unchained BLS12-381 chain) — a configuration defect, not an input error.
 */
export const roundEncrypter = (chain: ChainInfo, round: number, ops: IbeOps = nobleIbeOps): RoundEncrypter => {
  if (!Number.isSafeInteger(round) || round < 1) throw new RangeError(`round must be a positive integer, got ${round}`)
  const id = roundMessage(round)
  let q: Uint8Array
  switch (chain.scheme) {
    case "bls-unchained-g1-rfc9380":
      q = bls12_381.G1.hashToCurve(id, { DST: DST_G1 }).toBytes(true)
      break
    case "bls-unchained-on-g1":
      q = bls12_381.G1.hashToCurve(id, { DST: DST_G2 }).toBytes(true)
      break
    case "pedersen-bls-unchained":
      q = bls12_381.G2.hashToCurve(id, { DST: DST_G2 }).toBytes(true)
      break
    default:
      throw new UnsupportedScheme({ reason: "tlock needs an unchained BLS12-381 chain", scheme: chain.scheme })
  }
  const master = hexToBytes(chain.publicKey)
  const uSize: PointSize = master.length === 96 ? 96 : 48
  const power = ops.identityPower(master, q)
  return (plaintext, random = randomBytes) => {
    const fileKey = random(FILE_KEY_SIZE)
    const ct = encryptWith(power, ops, uSize, fileKey, random(FILE_KEY_SIZE))
    const stanza = { type: "tlock", args: [String(round), chain.chainHash], body: new Uint8Array([...ct.u, ...ct.v, ...ct.w]) }
    return armor(encodeAge(fileKey, [stanza], plaintext, random(16)))
  }
}

/** Encrypt `plaintext` so that it opens only with the signature of `round` of `chain`; armored text. */
export const encryptToRound = (chain: ChainInfo, round: number, plaintext: Uint8Array, random?: (n: number) => Uint8Array): string =>
  roundEncrypter(chain, round)(plaintext, random)

