/**
 * Builds CometBFT light blocks signed by real Ed25519 keys, for the bisection, witness and
 * mutation tests and for bench/lightclient.ts. Header and validator-set hashes come from the
 * verifier's own functions (both are pinned by the third-party vectors); the precommit sign
 * bytes are encoded here independently of the verifier, so a fixture and the verifier only
 * agree if both encode CanonicalVote as CometBFT does.
 */
import { ed25519 } from "@noble/curves/ed25519.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { Result } from "effect"
import { headerHash, validatorSetHash } from "../../../src/domain/verify/cometbft/CometBftLightClient.ts"
import { formatRfc3339Nanos } from "../../../src/domain/verify/cometbft/CometBftTime.ts"
import { bytesToBase64, bytesToUpperHex } from "../../../src/domain/verify/cometbft/JsonBytes.ts"
import type {
  BlockIdJson,
  CommitSigJson,
  HeaderJson,
  LightBlock,
  TrustedLightBlock,
  ValidatorSetJson
} from "../../../src/domain/verify/cometbft/LightBlock.ts"

/** A validator with its secret key. */
export interface TestValidator {
  readonly secretKey: Uint8Array
  readonly pubKey: Uint8Array
  readonly address: string
  readonly power: bigint
}

/** A deterministic validator: its secret key is SHA-256 of the seed text. */
export const makeValidator = (seed: string, power = 50n): TestValidator => {
  const secretKey = sha256(new TextEncoder().encode(`causeway-test-validator/${seed}`))
  const pubKey = ed25519.getPublicKey(secretKey)
  return { secretKey, pubKey, address: bytesToUpperHex(sha256(pubKey).subarray(0, 20)), power }
}

/** `n` validators named `${prefix}${i}`, each with `power`. */
export const makeValidators = (n: number, prefix = "v", power = 50n): Array<TestValidator> =>
  Array.from({ length: n }, (_, i) => makeValidator(`${prefix}${i}`, power))

/** The same validator with another voting power. */
export const withPower = (v: TestValidator, power: bigint): TestValidator => ({ ...v, power })

/** CometBFT's canonical order: power descending, then address ascending. */
export const canonicalOrder = (vals: ReadonlyArray<TestValidator>): Array<TestValidator> =>
  [...vals].sort((a, b) => (a.power !== b.power ? (a.power > b.power ? -1 : 1) : a.address < b.address ? -1 : 1))

/** A validator set in RPC JSON, listed in the given order. */
export const validatorSetJson = (vals: ReadonlyArray<TestValidator>): ValidatorSetJson => ({
  validators: vals.map((v) => ({
    address: v.address,
    pub_key: { type: "tendermint/PubKeyEd25519", value: bytesToBase64(v.pubKey) },
    voting_power: v.power.toString(),
    proposer_priority: "0"
  }))
})

const hashOf = (r: Result.Result<string, unknown>): string => {
  if (Result.isFailure(r)) throw new Error(`fixture does not hash: ${JSON.stringify(r.failure)}`)
  return r.success
}

// --- an encoder of CanonicalVote written from the proto definitions, independent of src/ ---
const varint = (value: bigint): Array<number> => {
  const out: Array<number> = []
  let v = BigInt.asUintN(64, value)
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
  return out
}
const le64 = (v: bigint): Array<number> => {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigInt64(0, v, true)
  return [...b]
}
const lengthDelimited = (field: number, bytes: ReadonlyArray<number>): Array<number> => [(field << 3) | 2, ...varint(BigInt(bytes.length)), ...bytes]
const hexBytes = (hex: string): Array<number> => Array.from({ length: hex.length / 2 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16))

/** The precommit sign bytes for a block ID at height/round on a chain, with a vote time. */
export const independentSignBytes = (chainId: string, height: bigint, round: bigint, blockId: BlockIdJson, timeNanos: bigint): Uint8Array => {
  const parts = blockId.part_set_header ?? { total: 0, hash: "" }
  const partsBody = [...(Number(parts.total) === 0 ? [] : [0x08, ...varint(BigInt(parts.total))]), ...(parts.hash === "" ? [] : lengthDelimited(2, hexBytes(parts.hash)))]
  const canonicalBlockId = [...lengthDelimited(1, hexBytes(blockId.hash)), ...lengthDelimited(2, partsBody)]
  const seconds = timeNanos / 1_000_000_000n
  const nanos = timeNanos % 1_000_000_000n
  const timestamp = [...(seconds === 0n ? [] : [0x08, ...varint(seconds)]), ...(nanos === 0n ? [] : [0x10, ...varint(nanos)])]
  const body = [
    0x08,
    0x02,
    ...(height === 0n ? [] : [0x11, ...le64(height)]),
    ...(round === 0n ? [] : [0x19, ...le64(round)]),
    ...lengthDelimited(4, canonicalBlockId),
    ...lengthDelimited(5, timestamp),
    ...lengthDelimited(6, [...new TextEncoder().encode(chainId)])
  ]
  return Uint8Array.from([...varint(BigInt(body.length)), ...body])
}

/** What a light block is built from. */
export interface BlockSpec {
  readonly chainId: string
  readonly height: number
  readonly timeNanos: bigint
  readonly validators: ReadonlyArray<TestValidator>
  readonly nextValidators: ReadonlyArray<TestValidator>
  /** Who signs (default: every validator); the others are absent. */
  readonly signers?: ReadonlyArray<TestValidator>
  readonly appHash?: string
  /** The previous block's ID (default: none, as at height 1). */
  readonly lastBlockId?: BlockIdJson
  readonly round?: number
  /** Signing function (default noble Ed25519). */
  readonly sign?: (secretKey: Uint8Array, message: Uint8Array) => Uint8Array
}

const defaultSign = (secretKey: Uint8Array, message: Uint8Array): Uint8Array => ed25519.sign(message, secretKey)

/** A light block signed per `spec`, with signatures in canonical validator order. */
export const buildLightBlock = (spec: BlockSpec): LightBlock => {
  const validatorSet = validatorSetJson(spec.validators)
  const nextValidatorSet = validatorSetJson(spec.nextValidators)
  const time = formatRfc3339Nanos(spec.timeNanos)
  const header: HeaderJson = {
    version: { block: "11", app: "1" },
    chain_id: spec.chainId,
    height: String(spec.height),
    time,
    last_block_id: spec.lastBlockId ?? null,
    last_commit_hash: "",
    data_hash: "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
    validators_hash: hashOf(validatorSetHash(validatorSet)),
    next_validators_hash: hashOf(validatorSetHash(nextValidatorSet)),
    consensus_hash: "048091BC7DDC283F77BFBF91D73C44DA58C3DF8A9CBC867405D8B7F3DAADA22F",
    app_hash: spec.appHash ?? "00",
    last_results_hash: "",
    evidence_hash: "",
    proposer_address: canonicalOrder(spec.validators)[0]?.address ?? ""
  }
  const hash = hashOf(headerHash(header))
  const blockId: BlockIdJson = { hash, part_set_header: { total: 1, hash: bytesToUpperHex(sha256(new TextEncoder().encode(hash))) } }
  const round = spec.round ?? 0
  const signing = new Set((spec.signers ?? spec.validators).map((v) => v.address))
  const sign = spec.sign ?? defaultSign
  const signatures: Array<CommitSigJson> = canonicalOrder(spec.validators).map((v) =>
    signing.has(v.address)
      ? {
          block_id_flag: 2,
          validator_address: v.address,
          timestamp: time,
          signature: bytesToBase64(sign(v.secretKey, independentSignBytes(spec.chainId, BigInt(spec.height), BigInt(round), blockId, spec.timeNanos)))
        }
      : { block_id_flag: 1, validator_address: "", timestamp: "0001-01-01T00:00:00Z", signature: null }
  )
  return {
    signed_header: { header, commit: { height: String(spec.height), round, block_id: blockId, signatures } },
    validator_set: validatorSet,
    next_validator_set: nextValidatorSet
  }
}

/** The trusted state a verified light block becomes. */
export const trustedOf = (block: LightBlock): TrustedLightBlock => ({
  signed_header: block.signed_header,
  next_validator_set: block.next_validator_set
})

/** Seconds as bigint nanoseconds. */
export const seconds = (s: number): bigint => BigInt(s) * 1_000_000_000n
