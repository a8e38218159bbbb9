/**
 * A drand chain's public parameters and the arithmetic of its round schedule. The chain hash
 * is recomputed from the fields (drand's formula), so a chain info whose hash was tampered
 * with, or whose key was swapped under a known hash, is detected by `checkChainHash`.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { Result, Schema } from "effect"

/** The beacon signature schemes drand has run. All but the BN254 one are on BLS12-381. */
export const BeaconScheme = Schema.Literals([
  "pedersen-bls-chained",
  "pedersen-bls-unchained",
  "bls-unchained-on-g1",
  "bls-unchained-g1-rfc9380",
  "bls-bn254-unchained-on-g1"
])
/** A beacon scheme id (drand's `schemeID`). */
export type BeaconScheme = typeof BeaconScheme.Type

const HexBytes = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2})+$/u))
const Hex32 = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u))

/** A chain's parameters. Times are unix seconds, as drand publishes them. */
export const ChainInfo = Schema.Struct({
  /** The group public key, compressed (48 bytes on G1, 96 on G2), hex. */
  publicKey: HexBytes,
  /** Seconds between rounds. */
  period: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1)),
  /** Unix time (s) of round 1. */
  genesisTime: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
  /** The genesis seed (the "group hash"), hex. */
  genesisSeed: HexBytes,
  /** sha256 over the fields above and the beacon id, hex. */
  chainHash: Hex32,
  scheme: BeaconScheme,
  /** The beacon id ("default" for drand's first network). */
  beaconId: Schema.String
})
/** A chain's parameters. */
export type ChainInfo = typeof ChainInfo.Type

/** The chain hash as drand computes it: sha256(u32be period ‖ i64be genesis ‖ pk ‖ seed ‖ beacon id unless "default"). */
export const computeChainHash = (info: Omit<ChainInfo, "chainHash" | "scheme">): string => {
  const head = new Uint8Array(12)
  const view = new DataView(head.buffer)
  view.setUint32(0, info.period)
  view.setBigInt64(4, BigInt(info.genesisTime))
  const id = info.beaconId === "default" || info.beaconId === "" ? new Uint8Array(0) : utf8ToBytes(info.beaconId)
  return bytesToHex(sha256(concatBytes(head, hexToBytes(info.publicKey), hexToBytes(info.genesisSeed), id)))
}

/** The chain info's stated hash does not match its fields. */
export class ChainHashMismatch extends Schema.TaggedError<ChainHashMismatch>()("ChainHashMismatch", {
  reason: Schema.String,
  stated: Schema.String,
  computed: Schema.String
}) {}

/** Does the stated chain hash match the fields? */
export const checkChainHash = (info: ChainInfo): Result.Result<ChainInfo, ChainHashMismatch> => {
  const computed = computeChainHash(info)
  return computed === info.chainHash
    ? Result.succeed(info)
    : Result.fail(new ChainHashMismatch({ reason: "chain hash does not match the chain's parameters", stated: info.chainHash, computed }))
}

/** The latest round published at `unixMs` (0 before genesis): round 1 is emitted at genesis. */
export const roundAt = (info: Pick<ChainInfo, "genesisTime" | "period">, unixMs: number): number => {
  const elapsed = unixMs - info.genesisTime * 1000
  return elapsed < 0 ? 0 : Math.floor(elapsed / (info.period * 1000)) + 1
}

/** Unix time (ms) at which `round` is emitted. */
export const timeOfRound = (info: Pick<ChainInfo, "genesisTime" | "period">, round: number): number =>
  (info.genesisTime + (round - 1) * info.period) * 1000

/** drand's quicknet (mainnet, League of Entropy): 3 s rounds, RFC 9380 signatures on G1. */
export const quicknet: ChainInfo = {
  publicKey:
    "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a",
  period: 3,
  genesisTime: 1692803367,
  genesisSeed: "f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e",
  chainHash: "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971",
  scheme: "bls-unchained-g1-rfc9380",
  beaconId: "quicknet"
}

// ---------------------------------------------------------------------------------------
// drand's HTTP JSON (v1 API field names): what DrandHttpBeacon reads from a relay and what
// GET /v1/beacon/... serves to clients, so tlock-js and drand-client read either.
// ---------------------------------------------------------------------------------------

const JsonHex = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2})+$/u))
const JsonUInt = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

/** drand's /info response. `metadata` is absent from older relays (beacon id "default"). */
export const DrandInfoJson = Schema.Struct({
  public_key: JsonHex,
  period: JsonUInt,
  genesis_time: JsonUInt,
  hash: JsonHex,
  groupHash: JsonHex,
  schemeID: BeaconScheme,
  metadata: Schema.optionalKey(Schema.Struct({ beaconID: Schema.String }))
})

/** drand's /public/{round} response. */
export const DrandBeaconJson = Schema.Struct({
  round: JsonUInt,
  randomness: JsonHex,
  signature: JsonHex,
  previous_signature: Schema.optionalKey(JsonHex)
})

/** drand's info JSON → the chain info (its hash not yet checked: `checkChainHash`). */
export const chainInfoFromJson = (j: typeof DrandInfoJson.Type): ChainInfo => ({
  publicKey: j.public_key,
  period: j.period,
  genesisTime: j.genesis_time,
  genesisSeed: j.groupHash,
  chainHash: j.hash,
  scheme: j.schemeID,
  beaconId: j.metadata?.beaconID ?? "default"
})

/** The chain info as drand's /info JSON, metadata included. */
export const drandInfoJsonOf = (c: ChainInfo) => ({
  public_key: c.publicKey,
  period: c.period,
  genesis_time: c.genesisTime,
  hash: c.chainHash,
  groupHash: c.genesisSeed,
  schemeID: c.scheme,
  metadata: { beaconID: c.beaconId }
})
