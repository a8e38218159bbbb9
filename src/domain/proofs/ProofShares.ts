/**
 * A shared proof travels as ProofShare messages ({announcementId, index, data}) after its
 * ProofAnnouncement ({shares, commitment, …}): each share at most MAX_SHARE_BYTES of the proof
 * bytes, as the `Blob` primitive writes them (lowercase hex). Once every index 0..shares-1 has
 * arrived, the bytes are joined in index order and their SHA-256 must equal the announced
 * commitment; only then is the proof verified. A second share for an index already held is
 * ignored (the first in log order stands), so a repeat cannot replace a share; a share that
 * was changed makes the hash differ and the whole proof is refused. Pure; failures are values.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { Data, Result } from "effect"

/** Most proof bytes one share carries. */
export const MAX_SHARE_BYTES = 32 * 1024
/** Most shares one proof is announced in (so a proof is at most 2 MiB). */
export const MAX_SHARES = 64

/** One share as its message carries it. */
export interface ProofShareData {
  readonly index: number
  /** Lowercase hex of the share's bytes. */
  readonly data: string
}

/** What the announcement says the shares make. */
export interface AnnouncedProof {
  /** How many shares, indexes 0..shares-1. */
  readonly shares: number
  /** Lowercase hex SHA-256 of the proof bytes. */
  readonly commitment: string
}

/** The announcement asks for no share, or more than MAX_SHARES, or its commitment is not 32-byte hex. */
export class InvalidAnnouncement extends Data.TaggedError("InvalidAnnouncement")<{
  readonly reason: string
}> {}

/** A share's index is not one the announcement has. */
export class ShareIndexOutOfRange extends Data.TaggedError("ShareIndexOutOfRange")<{
  readonly index: number
  readonly shares: number
}> {}

/** A share holds more than MAX_SHARE_BYTES, or its data is not lowercase hex of whole bytes. */
export class InvalidShare extends Data.TaggedError("InvalidShare")<{
  readonly index: number
  readonly reason: string
}> {}

/** Not every share has arrived (a gap). */
export class SharesMissing extends Data.TaggedError("SharesMissing")<{
  /** The missing indexes, the first 16 of them. */
  readonly missing: ReadonlyArray<number>
  readonly count: number
}> {}

/** The joined bytes do not hash to the announced commitment. */
export class CommitmentMismatch extends Data.TaggedError("CommitmentMismatch")<{
  readonly expected: string
  readonly actual: string
}> {}

/** Why shares do not make the announced proof. */
export type ProofSharesError = InvalidAnnouncement | ShareIndexOutOfRange | InvalidShare | SharesMissing | CommitmentMismatch

const COMMITMENT = /^[0-9a-f]{64}$/u

// Nibble of each lowercase hex digit's char code, -1 for anything else.
const NIBBLE = (() => {
  const table = new Int8Array(128).fill(-1)
  for (let i = 0; i < 10; i++) table[48 + i] = i
  for (let i = 0; i < 6; i++) table[97 + i] = 10 + i
  return table
})()

/** Decode lowercase hex into `out` at `offset`; false on any other character. */
const decodeHexInto = (hex: string, out: Uint8Array, offset: number): boolean => {
  for (let i = 0, o = offset; i < hex.length; i += 2, o++) {
    const hi = NIBBLE[hex.charCodeAt(i)] ?? -1
    const lo = NIBBLE[hex.charCodeAt(i + 1)] ?? -1
    if (hi < 0 || lo < 0) return false
    out[o] = (hi << 4) | lo
  }
  return true
}

/**
 * The proof bytes the shares make, checked: every index 0..shares-1 present once (repeats
 * ignored), each at most MAX_SHARE_BYTES of lowercase hex, joined in index order, hashing
 * (SHA-256) to the commitment. Any failure refuses the whole proof.
 */
export const reassembleProof = (announced: AnnouncedProof, shares: Iterable<ProofShareData>): Result.Result<Uint8Array, ProofSharesError> => {
  const count = announced.shares
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_SHARES) {
    return Result.fail(new InvalidAnnouncement({ reason: `shares must be 1..${MAX_SHARES}, not ${count}` }))
  }
  if (!COMMITMENT.test(announced.commitment)) return Result.fail(new InvalidAnnouncement({ reason: "commitment is not lowercase hex of 32 bytes" }))
  const byIndex: Array<string | undefined> = Array.from({ length: count }, () => undefined)
  for (const share of shares) {
    const { index, data } = share
    if (!Number.isSafeInteger(index) || index < 0 || index >= count) return Result.fail(new ShareIndexOutOfRange({ index, shares: count }))
    if (typeof data !== "string" || data.length % 2 !== 0) return Result.fail(new InvalidShare({ index, reason: "data is not hex of whole bytes" }))
    if (data.length / 2 > MAX_SHARE_BYTES) return Result.fail(new InvalidShare({ index, reason: `${data.length / 2} bytes, more than ${MAX_SHARE_BYTES}` }))
    byIndex[index] ??= data
  }
  const missing: Array<number> = []
  let total = 0
  for (const [index, data] of byIndex.entries()) {
    if (data === undefined) missing.push(index)
    else total += data.length / 2
  }
  if (missing.length > 0) return Result.fail(new SharesMissing({ missing: missing.slice(0, 16), count: missing.length }))
  const bytes = new Uint8Array(total)
  let offset = 0
  for (const [index, data = ""] of byIndex.entries()) {
    if (!decodeHexInto(data, bytes, offset)) return Result.fail(new InvalidShare({ index, reason: "data is not lowercase hex" }))
    offset += data.length / 2
  }
  const actual = bytesToHex(sha256(bytes))
  if (actual !== announced.commitment) return Result.fail(new CommitmentMismatch({ expected: announced.commitment, actual }))
  return Result.succeed(bytes)
}

/** The commitment a proof is announced with: lowercase hex SHA-256 of its bytes. */
export const proofCommitment = (bytes: Uint8Array): string => bytesToHex(sha256(bytes))

/** A proof's bytes cut into shares of at most `shareBytes` (MAX_SHARE_BYTES by default), in index order. */
export const proofShares = (bytes: Uint8Array, shareBytes: number = MAX_SHARE_BYTES): Array<ProofShareData> => {
  const size = Math.max(1, Math.min(MAX_SHARE_BYTES, Math.floor(shareBytes)))
  const shares: Array<ProofShareData> = []
  for (let at = 0, index = 0; at < bytes.length || index === 0; at += size, index++) {
    shares.push({ index, data: bytesToHex(bytes.subarray(at, at + size)) })
  }
  return shares
}
