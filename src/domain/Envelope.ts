/**
 * The signed message envelope: the unit of the causal log.
 *
 * id = SHA-256(JCS(envelope without `sig`)); the sender signs
 * `"causeway/v1/msg" || 0x00 || id` (docs/canonical-encoding.md). Signing the id rather
 * than the full body keeps signatures fixed-size work and makes the id the one thing that
 * binds content, sender and signature.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { Schema } from "effect"
import { canonicalBytes } from "./CanonicalJson.ts"
import { Hex, MessageId, NonNegativeInt, PositiveInt, UnixMillis } from "./Primitives.ts"

/** The protocol version this build speaks. */
export const PROTOCOL_VERSION = 1

/** Feature flag bits this build understands; any other bit set is refused. */
export const FeatureFlags = {
  /** Reserved for the mempool's encrypted payloads (commit-reveal, time-lock). */
  encryptedPayload: 1 << 0
} as const
export const KNOWN_FLAGS = FeatureFlags.encryptedPayload

/** At most this many dependencies per message. */
export const MAX_DEPS = 64

/** Signature schemes a sender may use. */
export const Scheme = Schema.Literals(["ed25519", "secp256k1"])
export type Scheme = typeof Scheme.Type

/** The envelope as it travels: every field but the payload decoded; the payload by its type later. */
export const EnvelopeShell = Schema.Struct({
  v: PositiveInt,
  flags: NonNegativeInt,
  type: Schema.String.check(Schema.isMaxLength(64)),
  scheme: Scheme,
  sender: Hex,
  nonce: NonNegativeInt,
  lamport: PositiveInt,
  deps: Schema.Array(MessageId).check(Schema.isMaxLength(MAX_DEPS)),
  expiry: Schema.NullOr(UnixMillis),
  payload: Schema.Unknown,
  sig: Hex
})
export type EnvelopeShell = typeof EnvelopeShell.Type

/** A decoded envelope whose payload has the shape of its type. */
export interface Envelope<P = unknown> extends Omit<EnvelopeShell, "payload"> {
  readonly payload: P
}

/** Everything the id covers: the envelope without its signature. */
export type UnsignedEnvelope<P = unknown> = Omit<Envelope<P>, "sig">

const DOMAIN = new TextEncoder().encode("causeway/v1/msg\0")

/** The unsigned part of an envelope, in a fresh object. */
export const unsignedOf = <P>(e: UnsignedEnvelope<P> | Envelope<P>): UnsignedEnvelope<P> => ({
  v: e.v,
  flags: e.flags,
  type: e.type,
  scheme: e.scheme,
  sender: e.sender,
  nonce: e.nonce,
  lamport: e.lamport,
  deps: e.deps,
  expiry: e.expiry,
  payload: e.payload
})

/** The id bytes of an envelope (throws CanonicalEncodingError on a value JCS refuses). */
export const idBytesOf = (e: UnsignedEnvelope | Envelope): Uint8Array => sha256(canonicalBytes(unsignedOf(e)))

/** The id of an envelope as lowercase hex. */
export const idOf = (e: UnsignedEnvelope | Envelope): MessageId => bytesToHex(idBytesOf(e)) as MessageId

/** The bytes a sender signs for a message with these id bytes. */
export const signingBytes = (idBytes: Uint8Array): Uint8Array => {
  const out = new Uint8Array(DOMAIN.length + idBytes.length)
  out.set(DOMAIN, 0)
  out.set(idBytes, DOMAIN.length)
  return out
}

/** Total causal order: by Lamport time, then by id. */
export const compareCausal = (
  a: { readonly lamport: number; readonly id: string },
  b: { readonly lamport: number; readonly id: string }
): number => (a.lamport - b.lamport) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** Hex to bytes (re-exported so callers need not import noble for it). */
export const fromHex = (hex: string): Uint8Array => hexToBytes(hex)

/** Bytes to lowercase hex. */
export const toHex = (bytes: Uint8Array): string => bytesToHex(bytes)
