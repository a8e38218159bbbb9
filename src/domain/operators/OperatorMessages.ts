/**
 * Payloads of the operators' messages: committed computation intents and their reveals,
 * and the sealed bids of the per-batch MEV auction. (A plain, uncommitted intent is the
 * `ComputationIntent` of src/domain/MessageTypes.ts.) The operators projection folds them;
 * rules in docs/operators.md. Registered through `MempoolPayloads`.
 */
import { Schema } from "effect"
import { DecimalAmount, MessageId, NonNegativeInt, UnixMillis } from "../Primitives.ts"

/** A SHA-256 digest as lowercase hex (32 bytes). */
export const Digest32 = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)).pipe(Schema.brand("Digest32"))
export type Digest32 = typeof Digest32.Type

/**
 * A commitment salt: exactly 32 random bytes as lowercase hex. Fixed at 32 bytes because
 * the committed values (a bid amount, a window) are guessable: a short salt would let
 * anyone find the value from the hash before the reveal.
 */
export const Salt = Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)).pipe(Schema.brand("Salt"))
export type Salt = typeof Salt.Type

/** The most order ids one intent may reserve. */
export const MAX_INTENT_ORDERS = 256

/** The body of an intent, committed or plain. */
export const IntentBody = Schema.Struct({
  orderIds: Schema.Array(MessageId).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_INTENT_ORDERS)),
  windowStart: UnixMillis,
  windowEnd: UnixMillis
})
export type IntentBody = typeof IntentBody.Type

/** An operator commits to an intent it reveals later: hash of the intent and a salt (docs/operators.md). */
export const IntentCommitment = Schema.Struct({
  commitment: Digest32
})

/** Opens an IntentCommitment of the same sender. */
export const IntentReveal = Schema.Struct({
  commitmentId: MessageId,
  intent: IntentBody,
  salt: Salt
})

/** A sealed bid for the MEV auction of a batch: hash of the bid and a salt. */
export const AuctionBidCommitment = Schema.Struct({
  batch: NonNegativeInt,
  commitment: Digest32
})

/** Opens an AuctionBidCommitment of the same sender, after its batch is sealed. */
export const AuctionBidReveal = Schema.Struct({
  commitmentId: MessageId,
  amount: DecimalAmount,
  salt: Salt
})

/** Operator payload schemas, by message type. */
export const OperatorPayloads = {
  IntentCommitment,
  IntentReveal,
  AuctionBidCommitment,
  AuctionBidReveal
} as const
