/**
 * The envelope of every known message type with its payload's schema, as one union
 * discriminated by `type`: what a client generated from the OpenAPI document sends and reads
 * back. Admission does not decode with it (src/domain/Admission.ts decodes the shell, then
 * the payload by its type, for sharper reasons and speed); both come from the same schemas,
 * EnvelopeShell's fields and PayloadSchemas, so they describe the same messages.
 */
import { Schema } from "effect"
import { EnvelopeShell, MAX_DEPS } from "./Envelope.ts"
import { type MessageType, PayloadSchemas, messageTypes } from "./MessageTypes.ts"

const f = EnvelopeShell.fields

// The fields' meaning, for the document (the shell's runtime schemas are unchanged).
const fields = {
  v: f.v.annotate({ description: "protocol version; this build speaks 1" }),
  flags: f.flags.annotate({ description: "feature flag bits; 0 unless a feature says otherwise (bit 0: encrypted payload)" }),
  scheme: f.scheme.annotate({ description: "the sender's signature scheme" }),
  sender: f.sender.annotate({ description: "the sender's public key, lowercase hex (ed25519: 32 bytes; secp256k1: the 33-byte compressed point)" }),
  nonce: f.nonce.annotate({ description: "above every nonce the sender used before" }),
  lamport: f.lamport.annotate({ description: "Lamport time: above every dependency's" }),
  deps: f.deps.annotate({ description: `ids of the messages this one depends on, sorted ascending without repeats, at most ${MAX_DEPS}` }),
  expiry: f.expiry.annotate({ description: "Unix ms after which the message is refused (null: never)" }),
  sig: f.sig.annotate({ description: "the signature, lowercase hex, over \"causeway/v1/msg\" ‖ 0x00 ‖ id, where id = SHA-256 of the RFC 8785 canonical JSON of the envelope without sig (docs/canonical-encoding.md)" })
}

/** The envelope of one message type: its `type` fixed, its payload of that type's schema. */
export const envelopeOf = (type: MessageType) =>
  Schema.Struct({
    ...fields,
    type: Schema.Literal(type),
    payload: PayloadSchemas[type].annotate({ identifier: `${type}Payload` })
  }).annotate({ identifier: `${type}Envelope`, description: `A signed ${type} message.` })

/** A signed envelope of any known message type, discriminated by `type`. */
export const TypedEnvelope = Schema.Union(messageTypes.map(envelopeOf), { mode: "oneOf" }).annotate({
  identifier: "Envelope",
  description: "A signed message: its type names its payload's schema (one member per message type)."
})
