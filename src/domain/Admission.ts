/**
 * The stateless half of admission: decode an untrusted value into an envelope of a known
 * type, check protocol, size and expiry, and compute its id and canonical body. Signature
 * checking needs the verifier port and happens in the ingest service right after.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Result, Schema } from "effect"
import { CanonicalEncodingError, canonicalizeAt } from "./CanonicalJson.ts"
import { type Envelope, EnvelopeShell, KNOWN_FLAGS, PROTOCOL_VERSION, toHex } from "./Envelope.ts"
import { decodePayload, isMessageType } from "./MessageTypes.ts"
import type { MessageId } from "./Primitives.ts"
import {
  MalformedMessage,
  MessageExpired,
  MessageTooLarge,
  type Rejection,
  UnknownMessageType,
  UnsupportedProtocol
} from "./Rejection.ts"

/** A message that passed the stateless checks, ready for its signature check. */
export interface Candidate {
  readonly envelope: Envelope
  readonly id: MessageId
  readonly idBytes: Uint8Array
  /** Canonical JSON of the whole envelope, signature included: what the log stores. */
  readonly body: string
}

/** Limits of the stateless checks. */
export interface AdmissionLimits {
  /** Largest canonical envelope, in UTF-8 bytes. */
  readonly maxMessageBytes: number
}

/** SHA-256 of a string's UTF-8 bytes. */
export type TextSha256 = (text: string) => Uint8Array

const utf8 = new TextEncoder()

/** The portable SHA-256 (noble); the ingest service passes node:crypto's, which is faster. */
export const nobleTextSha256: TextSha256 = (text) => sha256(utf8.encode(text))

const parseOptions = { onExcessProperty: "error", errors: "first" } as const
const decodeShell = Schema.decodeUnknownResult(EnvelopeShell)

const isStrictlyAscending = (ids: ReadonlyArray<string>): boolean => {
  for (let i = 1; i < ids.length; i++) if ((ids[i - 1] as string) >= (ids[i] as string)) return false
  return true
}

// UTF-8 length without allocating the bytes. Lone surrogates cannot occur here: the
// canonical encoder refuses them.
const utf8Length = (s: string): number => {
  let n = s.length
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0xd800 && c <= 0xdbff) {
      n += 2 // a surrogate pair: 2 UTF-16 units, 4 bytes
      i++
    } else if (c >= 0x800) n += 2
    else if (c >= 0x80) n += 1
  }
  return n
}

const oneLine = (e: Schema.SchemaError): string => e.message.replace(/\s*\n\s*/g, " ")

// The envelope's members in RFC 8785 order (keys sorted by UTF-16 code units), split where
// `sig` goes: the id covers head + tail, the stored body is head + sig + tail. Each member is
// encoded once, by the same encoder and at the same depth and path as `canonicalize` of the
// whole envelope would (test/domain/properties.test.ts checks the texts are identical).
const member = (key: string, value: unknown, first = false): string =>
  `${first ? "" : ","}"${key}":${canonicalizeAt(value, `$.${key}`, 1)}`

/** The id text (JCS without `sig`) and the stored body (JCS of the whole envelope), sharing their members. */
export const canonicalTexts = (e: Envelope): { readonly unsigned: string; readonly body: string } => {
  const head = member("deps", e.deps, true) + member("expiry", e.expiry) + member("flags", e.flags) +
    member("lamport", e.lamport) + member("nonce", e.nonce) + member("payload", e.payload) +
    member("scheme", e.scheme) + member("sender", e.sender)
  const tail = member("type", e.type) + member("v", e.v) + "}"
  return { unsigned: "{" + head + tail, body: "{" + head + member("sig", e.sig) + tail }
}

/**
 * Decode and check an untrusted value; `now` is Unix milliseconds (undefined: expiry is not
 * checked, as when a record already in a log is checked again). `sha256Text` computes the
 * id from the canonical text (any correct SHA-256: the domain stays free of node built-ins).
 */
export const admit = (
  value: unknown,
  now: number | undefined,
  limits: AdmissionLimits,
  sha256Text: TextSha256 = nobleTextSha256
): Result.Result<Candidate, Rejection> => {
  const shell = decodeShell(value, parseOptions)
  if (Result.isFailure(shell)) {
    return Result.fail(new MalformedMessage({ reason: `envelope: ${oneLine(shell.failure)}` }))
  }
  const e = shell.success
  if (e.v !== PROTOCOL_VERSION) {
    return Result.fail(new UnsupportedProtocol({ reason: `protocol version ${e.v} is not supported (this build speaks ${PROTOCOL_VERSION})` }))
  }
  if ((e.flags & ~KNOWN_FLAGS) !== 0) {
    return Result.fail(new UnsupportedProtocol({ reason: `feature flags 0x${e.flags.toString(16)} include bits this build does not know` }))
  }
  if (!isMessageType(e.type)) {
    return Result.fail(new UnknownMessageType({ reason: `message type ${JSON.stringify(e.type)} is not known`, type: e.type }))
  }
  const payload = decodePayload(e.type, e.payload)
  if (Result.isFailure(payload)) {
    return Result.fail(new MalformedMessage({ reason: `${e.type} payload: ${oneLine(payload.failure)}` }))
  }
  if (!isStrictlyAscending(e.deps)) {
    return Result.fail(new MalformedMessage({ reason: "deps must be sorted ascending without repeats" }))
  }
  const envelope: Envelope = { ...e, payload: payload.success }
  let texts: { readonly unsigned: string; readonly body: string }
  try {
    texts = canonicalTexts(envelope)
  } catch (cause) {
    if (cause instanceof CanonicalEncodingError) {
      return Result.fail(new MalformedMessage({ reason: `not canonically encodable at ${cause.path}: ${cause.reason}` }))
    }
    throw cause
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair, 2 units, is 4): a short enough
  // text is within the limit without counting.
  const size = texts.body.length * 3 <= limits.maxMessageBytes ? 0 : utf8Length(texts.body)
  if (size > limits.maxMessageBytes) {
    return Result.fail(new MessageTooLarge({ reason: `message is ${size} bytes, the limit is ${limits.maxMessageBytes}`, size, limit: limits.maxMessageBytes }))
  }
  if (now !== undefined && e.expiry !== null && e.expiry <= now) {
    return Result.fail(new MessageExpired({ reason: `message expired at ${e.expiry}, now is ${now}` }))
  }
  const idBytes = sha256Text(texts.unsigned)
  return Result.succeed({ envelope, id: toHex(idBytes) as MessageId, idBytes, body: texts.body })
}
