/**
 * The stateless half of admission: decode an untrusted value into an envelope of a known
 * type, check protocol, size and expiry, and compute its id and canonical body. Signature
 * checking needs the verifier port and happens in the ingest service right after.
 */
import { Result, Schema } from "effect"
import { CanonicalEncodingError, canonicalize } from "./CanonicalJson.ts"
import {
  type Envelope,
  EnvelopeShell,
  KNOWN_FLAGS,
  PROTOCOL_VERSION,
  idBytesOf,
  toHex
} from "./Envelope.ts"
import { PayloadSchemas, isMessageType } from "./MessageTypes.ts"
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

const parseOptions = { onExcessProperty: "error", errors: "first" } as const
const decodeShell = Schema.decodeUnknownResult(EnvelopeShell)
const decodePayload = Object.fromEntries(
  Object.entries(PayloadSchemas).map(([type, schema]) => [type, Schema.decodeUnknownResult(schema as Schema.Codec<unknown, unknown>)])
) as Record<string, (u: unknown, options: typeof parseOptions) => Result.Result<unknown, Schema.SchemaError>>

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

/** Decode and check an untrusted value; `now` is Unix milliseconds. */
export const admit = (value: unknown, now: number, limits: AdmissionLimits): Result.Result<Candidate, Rejection> => {
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
  const payload = (decodePayload[e.type] as NonNullable<(typeof decodePayload)[string]>)(e.payload, parseOptions)
  if (Result.isFailure(payload)) {
    return Result.fail(new MalformedMessage({ reason: `${e.type} payload: ${oneLine(payload.failure)}` }))
  }
  if (!isStrictlyAscending(e.deps)) {
    return Result.fail(new MalformedMessage({ reason: "deps must be sorted ascending without repeats" }))
  }
  const envelope: Envelope = { ...e, payload: payload.success }
  let body: string
  let idBytes: Uint8Array
  try {
    body = canonicalize(envelope)
    idBytes = idBytesOf(envelope)
  } catch (cause) {
    if (cause instanceof CanonicalEncodingError) {
      return Result.fail(new MalformedMessage({ reason: `not canonically encodable at ${cause.path}: ${cause.reason}` }))
    }
    throw cause
  }
  const size = utf8Length(body)
  if (size > limits.maxMessageBytes) {
    return Result.fail(new MessageTooLarge({ reason: `message is ${size} bytes, the limit is ${limits.maxMessageBytes}`, size, limit: limits.maxMessageBytes }))
  }
  if (e.expiry !== null && e.expiry <= now) {
    return Result.fail(new MessageExpired({ reason: `message expired at ${e.expiry}, now is ${now}` }))
  }
  return Result.succeed({ envelope, id: toHex(idBytes) as MessageId, idBytes, body })
}
