/** Hash commitments of the operators' sealed values (auction bids, computation intents). */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js"
import { canonicalBytes } from "../CanonicalJson.ts"

/**
 * sha256(domain || canonical JSON of `fields` || salt bytes), hex: the domain keeps a
 * commitment of one kind from opening as another, the salt keeps the fields from being guessed.
 */
export const saltedCommitment = (domain: Uint8Array, fields: unknown, salt: string): string =>
  bytesToHex(sha256(concatBytes(domain, canonicalBytes(fields), hexToBytes(salt))))
