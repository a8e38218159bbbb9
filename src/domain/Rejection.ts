/**
 * Why a message was not admitted. Every ingest step fails with one of these, each carrying
 * a human-readable reason and the HTTP status the API answers with. None of them is ever a
 * 5xx: a rejection is the sender's problem, and nothing is appended when one is raised.
 */
import { Schema } from "effect"

const fields = { reason: Schema.String }

/** The message's bytes exceed the configured size limit. */
export class MessageTooLarge extends Schema.TaggedError<MessageTooLarge>()("MessageTooLarge", {
  ...fields,
  size: Schema.Number,
  limit: Schema.Number
}, { httpApiStatus: 413 }) {}

/** Not JSON, or not an envelope / payload of the declared shape. */
export class MalformedMessage extends Schema.TaggedError<MalformedMessage>()("MalformedMessage", fields, {
  httpApiStatus: 400
}) {}

/** The envelope's protocol version or feature flags are not supported here. */
export class UnsupportedProtocol extends Schema.TaggedError<UnsupportedProtocol>()("UnsupportedProtocol", fields, {
  httpApiStatus: 400
}) {}

/** The message type is not one causeway knows. */
export class UnknownMessageType extends Schema.TaggedError<UnknownMessageType>()("UnknownMessageType", {
  ...fields,
  type: Schema.String
}, { httpApiStatus: 400 }) {}

/** The signature does not verify for the sender's key over the message id. */
export class InvalidSignature extends Schema.TaggedError<InvalidSignature>()("InvalidSignature", fields, {
  httpApiStatus: 401
}) {}

/** A message with this id is already in the log. */
export class DuplicateMessage extends Schema.TaggedError<DuplicateMessage>()("DuplicateMessage", {
  ...fields,
  id: Schema.String
}, { httpApiStatus: 409 }) {}

/** The sender's nonce is not above the highest nonce already accepted from that sender. */
export class NonceReplayed extends Schema.TaggedError<NonceReplayed>()("NonceReplayed", {
  ...fields,
  nonce: Schema.Number,
  highest: Schema.Number
}, { httpApiStatus: 409 }) {}

/** The message's expiry has passed. */
export class MessageExpired extends Schema.TaggedError<MessageExpired>()("MessageExpired", fields, {
  httpApiStatus: 410
}) {}

/** The Lamport stamp breaks the clock rules (not above its dependencies, or too far ahead). */
export class InvalidLamport extends Schema.TaggedError<InvalidLamport>()("InvalidLamport", fields, {
  httpApiStatus: 400
}) {}

/** The sender has used up its token bucket, or the pending buffer is full. */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  ...fields,
  retryAfterMs: Schema.Number
}, { httpApiStatus: 429 }) {}

/** Dependencies were still unknown when the wait ran out. */
export class UnknownDependencies extends Schema.TaggedError<UnknownDependencies>()("UnknownDependencies", {
  ...fields,
  missing: Schema.Array(Schema.String)
}, { httpApiStatus: 424 }) {}

/** The sender may not author this type here: a decision of the deployment, or a cluster message, from a key without the right. */
export class NotAuthorized extends Schema.TaggedError<NotAuthorized>()("NotAuthorized", {
  ...fields,
  type: Schema.String
}, { httpApiStatus: 403 }) {}

/**
 * The message discloses content that must stay sealed and is not allowed out yet, or that the
 * mempool would refuse to take (a reveal that does not name the seal covering its commitment,
 * of someone else's commitment, or whose order and salt do not open it). The log is public:
 * such a message is refused before anything is written.
 */
export class SealedContent extends Schema.TaggedError<SealedContent>()("SealedContent", {
  ...fields,
  type: Schema.String
}, { httpApiStatus: 409 }) {}

/**
 * A `MatchProposal`, `FillReport`, `ComputationIntent` or `IntentCommitment` from a key that is
 * not an operator the deployment's authority registered (src/domain/operators/OperatorRegistry.ts).
 */
export class OperatorNotRegistered extends Schema.TaggedError<OperatorNotRegistered>()("OperatorNotRegistered", {
  ...fields,
  type: Schema.String
}, { httpApiStatus: 403 }) {}

/** The operator already has the most open intents it may have; more once some settle or expire. */
export class TooManyOpenIntents extends Schema.TaggedError<TooManyOpenIntents>()("TooManyOpenIntents", {
  ...fields,
  open: Schema.Number,
  limit: Schema.Number
}, { httpApiStatus: 429 }) {}

/**
 * A proof-sharing message the proofs projection would not count (docs/proofs.md): a key its
 * system does not take, an announcement of an unknown key, a share of an unknown or decided
 * proof or from anyone but its announcer.
 */
export class ProofRefused extends Schema.TaggedError<ProofRefused>()("ProofRefused", {
  ...fields,
  type: Schema.String
}, { httpApiStatus: 409 }) {}

/** The announcer already has the most proofs pending it may have, or all pending proofs the most bytes; more once verdicts land. */
export class TooManyPendingProofs extends Schema.TaggedError<TooManyPendingProofs>()("TooManyPendingProofs", fields, {
  httpApiStatus: 429
}) {}

/**
 * The sender's score (src/domain/senders/SenderScore.ts: its misbehaviour in the log, decayed
 * by sealed batches) is below the ban threshold: every message of it is refused until decay
 * lifts the score. GET /v1/senders/{key} shows the score and why.
 */
export class SenderBanned extends Schema.TaggedError<SenderBanned>()("SenderBanned", {
  ...fields,
  score: Schema.Number
}, { httpApiStatus: 403 }) {}

/** Any rejection. */
export const Rejection = Schema.Union([
  MessageTooLarge,
  MalformedMessage,
  UnsupportedProtocol,
  UnknownMessageType,
  InvalidSignature,
  DuplicateMessage,
  NonceReplayed,
  MessageExpired,
  InvalidLamport,
  RateLimited,
  UnknownDependencies,
  NotAuthorized,
  SealedContent,
  OperatorNotRegistered,
  TooManyOpenIntents,
  ProofRefused,
  TooManyPendingProofs,
  SenderBanned
])
export type Rejection = typeof Rejection.Type
