/** The drand/tlock conformance vectors (test/vectors/drand-tlock), typed. */
import { readFileSync } from "node:fs"
import type { BeaconScheme, ChainInfo } from "../../src/domain/timelock/ChainInfo.ts"

const dir = new URL("../vectors/drand-tlock/", import.meta.url)
const read = (name: string): unknown => JSON.parse(readFileSync(new URL(name, dir), "utf8"))

/** One network of chain-info.json, in the domain's shape. */
export interface NetworkVector extends ChainInfo {
  readonly name: string
}

interface RawNetwork {
  readonly public_key: string
  readonly period: number
  readonly genesis_time: number
  readonly genesis_seed: string
  readonly chain_hash: string
  readonly scheme: BeaconScheme
  readonly beacon_id: string
}

/** All networks of chain-info.json. */
export const networks: ReadonlyArray<NetworkVector> = Object.entries((read("chain-info.json") as { networks: Record<string, RawNetwork> }).networks).map(
  ([name, n]) => ({
    name,
    publicKey: n.public_key,
    period: n.period,
    genesisTime: n.genesis_time,
    genesisSeed: n.genesis_seed,
    chainHash: n.chain_hash,
    scheme: n.scheme,
    beaconId: n.beacon_id
  })
)

/** A network by name. */
export const network = (name: string): NetworkVector => {
  const found = networks.find((n) => n.name === name)
  if (found === undefined) throw new Error(`no network ${name} in chain-info.json`)
  return found
}

/** One case of beacon-verification.json. */
export interface BeaconCase {
  readonly name: string
  readonly network: string | null
  readonly scheme: BeaconScheme
  readonly public_key: string
  readonly round: number
  readonly signature: string
  readonly previous_signature?: string
  readonly randomness?: string
  readonly expected_round?: number
  readonly expected_valid: boolean
}

/** All beacon verification cases. */
export const beaconCases: ReadonlyArray<BeaconCase> = (read("beacon-verification.json") as { cases: Array<BeaconCase> }).cases

/** One case of tlock-decrypt.json. */
export interface DecryptCase {
  readonly name: string
  readonly network: string
  readonly chain_hash: string
  readonly round: number
  readonly beacon_signature: string | null
  readonly ciphertext_armored: string
  readonly expected_plaintext?: string
  readonly expected_error?: string
  readonly offline: boolean
}

/** All tlock decryption cases. */
export const decryptCases: ReadonlyArray<DecryptCase> = (read("tlock-decrypt.json") as { cases: Array<DecryptCase> }).cases

/** ibe-internals.json. */
export const ibeInternals = read("ibe-internals.json") as {
  readonly gt_pairing_g1gen_g2gen_fp12_coeffs_noble_order: ReadonlyArray<string>
  readonly gt_bytes_kyber_order: string
  readonly gt_squared_bytes: string
  readonly gt_to_hash_16: string
  readonly g1_generator_compressed: string
  readonly g2_generator_uncompressed: string
}

/** A file of the vector folder as text. */
export const readText = (name: string): string => readFileSync(new URL(name, dir), "utf8")
