/** Branded wire primitives shared by every message schema. */
import { Schema } from "effect"

/** Lowercase hex of any even length. */
export const Hex = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2})*$/u)).pipe(Schema.brand("Hex"))
export type Hex = typeof Hex.Type

/** A message id: lowercase hex SHA-256 (32 bytes). */
export const MessageId = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)).pipe(Schema.brand("MessageId"))
export type MessageId = typeof MessageId.Type

/** A non-negative safe integer. */
export const NonNegativeInt = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))

/** A positive safe integer. */
export const PositiveInt = Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(1))

/** An unsigned amount as a decimal string (no sign, no leading zeros, at most 78 digits: 2^256). */
export const DecimalAmount = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,77})$/u)).pipe(
  Schema.brand("DecimalAmount")
)
export type DecimalAmount = typeof DecimalAmount.Type

/**
 * A positive amount as a decimal string in integer base units (wei, uatom, ...): an amount
 * of zero moves nothing and is refused with this reason. Same type as DecimalAmount.
 */
export const PositiveAmount = Schema.String.check(Schema.isPattern(/^[1-9][0-9]{0,77}$/, {
  message: "an amount must be a positive integer in base units, as decimal digits (no sign, no leading zeros, no decimal point, at most 78 digits)"
})).pipe(Schema.brand("DecimalAmount"))

/** A short identifier (chain, market, component names): printable ASCII, 1..64 chars. */
export const Name = Schema.String.check(Schema.isPattern(/^[\x21-\x7e]{1,64}$/u))

/** An API token's name (docs/security.md): letters, digits, `.`, `_`, `-`; 1..64 chars. */
export const TokenName = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._-]{1,64}$/u))

/** Unix time in milliseconds. */
export const UnixMillis = NonNegativeInt

/** A bounded hex blob (proof bytes, call data): at most 64 KiB of bytes. */
export const Blob = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2})*$/u), Schema.isMaxLength(131_072)).pipe(
  Schema.brand("Hex")
)
