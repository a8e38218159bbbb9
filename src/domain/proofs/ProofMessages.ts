/**
 * The proof-sharing layer's messages (issue #15, docs/proofs.md): verification keys registered
 * in the log by content, proofs announced and sent in shares, and the authority's verdict on
 * each assembled proof, so that a replay never re-runs a pairing and every instance agrees.
 *
 * - `VerificationKeyRegistered {proofSystem, vk}`: by a registered operator or the authority.
 *   The key's id is the SHA-256 of the canonical JSON of `vk` (`vkIdOf`); registering the same
 *   key twice gives the same id and it is stored once.
 * - `ProofAnnouncement {computationId, proofSystem, vkId, commitment, publicInputs, shares, bytes}`:
 *   `commitment` is the SHA-256 of the proof's bytes (for Groth16, the UTF-8 of its snarkjs
 *   proof.json), sent as `shares` ProofShare messages of at most MAX_SHARE_BYTES each.
 * - `ProofShare {announcementId, index, data}`: `data` is the share's bytes in base64 (RFC 4648,
 *   padded), so a 32 KiB share fits one message (43,692 characters; hex would not).
 * - `ProofVerified {announcementId, commitment, ok, reason?}`: a decision of the authority
 *   (the leader of a cluster) once every share has arrived and the proof was checked.
 */
import { Schema } from "effect"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { canonicalBytes } from "../CanonicalJson.ts"
import { MessageId, Name, NonNegativeInt, PositiveInt } from "../Primitives.ts"
import { MAX_PUBLIC_INPUTS } from "./Groth16.ts"
import { MAX_SHARE_BYTES, MAX_SHARES } from "./ProofShares.ts"

/** A SHA-256 digest: 64 lowercase hex digits. */
export const Sha256Hex = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)).annotate({ description: "a SHA-256 digest, 64 lowercase hex digits" })

/** A field element as snarkjs writes public signals: a canonical decimal (no sign, no leading zero). */
export const DecimalSignal = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,77})$/u)).annotate({ description: "a canonical decimal integer" })

/** Base64 (RFC 4648, standard alphabet, padded) of at most MAX_SHARE_BYTES bytes. */
export const ShareData = Schema.String.check(
  Schema.isPattern(/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/u),
  Schema.isMaxLength(Math.ceil(MAX_SHARE_BYTES / 3) * 4)
).annotate({ description: `a share's bytes in base64, at most ${MAX_SHARE_BYTES} bytes` })

/** A verification key as JSON (for Groth16: snarkjs verification_key.json). Checked by its proof system when registered. */
export const VerificationKey = Schema.Record(Schema.String, Schema.Unknown).annotate({ description: "a verification key, as its proof system writes it (Groth16: snarkjs verification_key.json)" })

/** A verification key registered in the log. */
export const VerificationKeyRegistered = Schema.Struct({
  proofSystem: Name,
  vk: VerificationKey
})

/** A proof announced: what it proves, under which key, and how it will arrive. */
export const ProofAnnouncement = Schema.Struct({
  computationId: Name,
  proofSystem: Name,
  vkId: Sha256Hex,
  commitment: Sha256Hex,
  publicInputs: Schema.Array(DecimalSignal).check(Schema.isMaxLength(MAX_PUBLIC_INPUTS)),
  shares: PositiveInt.check(Schema.isLessThanOrEqualTo(MAX_SHARES)),
  bytes: PositiveInt.check(Schema.isLessThanOrEqualTo(MAX_SHARES * MAX_SHARE_BYTES))
})

/** One share of an announced proof. */
export const ProofShare = Schema.Struct({
  announcementId: MessageId,
  index: NonNegativeInt.check(Schema.isLessThan(MAX_SHARES)),
  data: ShareData
})

/** The authority's verdict on an assembled proof. */
export const ProofVerified = Schema.Struct({
  announcementId: MessageId,
  commitment: Sha256Hex,
  ok: Schema.Boolean,
  reason: Schema.optionalKey(Schema.String.check(Schema.isMaxLength(500)))
})

/** The layer's payload schemas, by message type. */
export const ProofPayloads = { VerificationKeyRegistered, ProofAnnouncement, ProofShare, ProofVerified } as const

/** A verification key's id: SHA-256 of its canonical JSON, lowercase hex. */
export const vkIdOf = (vk: unknown): string => bytesToHex(sha256(canonicalBytes(vk)))
