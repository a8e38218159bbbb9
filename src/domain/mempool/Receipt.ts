/**
 * Ordering receipts: the instance's signed statement of where an order, commitment or
 * time-locked order landed (batch, position, Lamport time, log offset). The signature covers
 * `"causeway/v1/receipt" ‖ 0x00 ‖ JCS(receipt without signature)`. Receipts are made from
 * the mempool projection's state when asked for; ed25519 is deterministic, so the same
 * entry always gets the same receipt bytes (docs/mempool.md).
 */
import { ed25519 } from "@noble/curves/ed25519.js"
import { secp256k1 } from "@noble/curves/secp256k1.js"
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js"
import { Result, Schema } from "effect"
import { canonicalBytes } from "../CanonicalJson.ts"
import { Scheme } from "../Envelope.ts"
import { type KeyFile, signBytes } from "../Keys.ts"
import { Hex, MessageId, NonNegativeInt, PositiveInt } from "../Primitives.ts"

/** What a receipt states. */
export const ReceiptBody = Schema.Struct({
  v: Schema.Literal(1),
  /** The signing instance's public key (hex) and its scheme. */
  instance: Hex,
  scheme: Scheme,
  orderId: MessageId,
  batch: NonNegativeInt,
  position: NonNegativeInt,
  lamport: PositiveInt,
  offset: NonNegativeInt
})
export type ReceiptBody = typeof ReceiptBody.Type

/** A receipt with the instance's signature (hex). */
export const SignedReceipt = Schema.Struct({ ...ReceiptBody.fields, signature: Hex }).annotate({ identifier: "OrderReceipt" })
export type SignedReceipt = typeof SignedReceipt.Type

const DOMAIN = new TextEncoder().encode("causeway/v1/receipt\0")

/** The bytes a receipt's signature covers. */
export const receiptSigningBytes = (body: ReceiptBody): Uint8Array =>
  concatBytes(DOMAIN, canonicalBytes({
    v: body.v,
    instance: body.instance,
    scheme: body.scheme,
    orderId: body.orderId,
    batch: body.batch,
    position: body.position,
    lamport: body.lamport,
    offset: body.offset
  }))

/** Sign a receipt body with the instance key (whose public half must be `body.instance`). */
export const signReceipt = (key: KeyFile, body: Omit<ReceiptBody, "v" | "instance" | "scheme">): SignedReceipt => {
  const full: ReceiptBody = { v: 1, instance: key.publicKey as Hex, scheme: key.scheme, ...body }
  return { ...full, signature: bytesToHex(signBytes(key, receiptSigningBytes(full))) as Hex }
}

/** Does the receipt's signature verify under the public key it names? */
export const verifyReceiptSignature = (r: SignedReceipt): boolean => {
  try {
    const message = receiptSigningBytes(r)
    const sig = hexToBytes(r.signature)
    const pk = hexToBytes(r.instance)
    return r.scheme === "ed25519"
      ? ed25519.verify(sig, message, pk, { zip215: false })
      : secp256k1.verify(sig, message, pk, { prehash: true, lowS: true })
  } catch {
    return false // malformed key or signature bytes
  }
}

/** A receipt that is not one, is signed by a key the caller does not trust, or whose signature does not verify. */
export class InvalidReceipt extends Schema.TaggedError<InvalidReceipt>()("InvalidReceipt", {
  reason: Schema.String
}) {}

const decodeReceipt = Schema.decodeUnknownResult(SignedReceipt)

/**
 * Check a receipt offline: its shape, that it names one of `trusted` (the instance's key from
 * GET /v1/instance, or a cluster's members), and its signature. The receipt back, typed, or
 * why not.
 */
export const checkReceipt = (value: unknown, trusted: string | ReadonlyArray<string>): Result.Result<SignedReceipt, InvalidReceipt> => {
  const decoded = decodeReceipt(value, { onExcessProperty: "error" })
  if (Result.isFailure(decoded)) return Result.fail(new InvalidReceipt({ reason: `not a receipt: ${decoded.failure.message.replace(/\s*\n\s*/g, " ")}` }))
  const r = decoded.success
  const keys = (typeof trusted === "string" ? [trusted] : trusted).map((k) => k.toLowerCase())
  if (!keys.includes(r.instance)) return Result.fail(new InvalidReceipt({ reason: `signed by ${r.instance}, not by ${keys.length === 1 ? keys[0] : `any of ${keys.join(", ")}`}` }))
  return verifyReceiptSignature(r) ? Result.succeed(r) : Result.fail(new InvalidReceipt({ reason: "the signature does not verify over the receipt's fields" }))
}
