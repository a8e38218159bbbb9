/**
 * The operators group of the HTTP contract: computation intents (one, by operator, by
 * order), the MEV auction of a batch, why a reveal or bid was refused, and the MEV
 * distribution calculation. Handlers: OperatorsHandlers.ts. Rules: docs/operators.md.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { InvalidMevDistribution } from "../../domain/mempool/MevDistribution.ts"
import { DecimalAmount, MessageId } from "../../domain/Primitives.ts"

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** No intent (ComputationIntent or IntentCommitment) with that id. */
export class IntentNotFound extends Schema.TaggedError<IntentNotFound>()("IntentNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** Nobody bid for that batch (yet). */
export class AuctionNotFound extends Schema.TaggedError<AuctionNotFound>()("AuctionNotFound", {
  reason: Schema.String,
  batch: Schema.Number
}, { httpApiStatus: 404 }) {}

/** No refusal is recorded for that message. */
export class RefusalNotFound extends Schema.TaggedError<RefusalNotFound>()("RefusalNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** The intents listing needs exactly one of `operator` and `order`. */
export class IntentQueryInvalid extends Schema.TaggedError<IntentQueryInvalid>()("InvalidRequest", {
  reason: Schema.String
}, { httpApiStatus: 400 }) {}

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

const DecimalInt = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a non-negative decimal integer" })

/** Most intents one page answers. */
export const MAX_INTENTS = 1000
/** Intents a page answers when `limit` is not given. */
export const DEFAULT_INTENTS = 100

const Limit = DecimalInt.check(Schema.isBetween({ minimum: 1, maximum: MAX_INTENTS }))

/** A sender's public key as lowercase hex (ed25519: 32 bytes, secp256k1: 33 or 65). */
const PublicKeyHex = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2}){32,65}$/)).annotate({
  description: "a public key as lowercase hex"
})

/** Most participants one distribution takes. */
export const MAX_PARTICIPANTS = 10_000

/** A distribution request: the extracted value and the weighted participants, amounts as decimal strings. */
export const MevDistributionRequest = Schema.Struct({
  extracted: DecimalAmount,
  participants: Schema.Array(Schema.Struct({
    id: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(200)),
    weight: DecimalAmount
  })).check(Schema.isMinLength(1), Schema.isMaxLength(MAX_PARTICIPANTS))
}).annotate({ identifier: "MevDistributionRequest" })

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

const Nullable = <S extends Schema.Top>(s: S) => Schema.NullOr(s)

/** An intent as served. */
export const IntentView = Schema.Struct({
  id: Schema.String,
  operator: Schema.String,
  via: Schema.Literals(["plain", "commit-reveal"]),
  offset: Schema.Number,
  status: Schema.Literals(["pending", "held", "expired", "refused", "unrevealed"]),
  commitment: Nullable(Schema.String),
  revealId: Nullable(Schema.String),
  orderIds: Nullable(Schema.Array(Schema.String)),
  windowStart: Nullable(Schema.Number),
  windowEnd: Nullable(Schema.Number),
  heldFrom: Nullable(Schema.Number),
  reason: Nullable(Schema.String),
  conflictWith: Nullable(Schema.String),
  settledInBatch: Nullable(Schema.Number),
  expiredInBatch: Nullable(Schema.Number)
}).annotate({ identifier: "Intent" })
export type IntentView = typeof IntentView.Type

/** The log's time as the operators projection sees it: what `held` and `expired` are relative to. */
export const LogTime = Schema.Struct({
  now: Schema.Number.annotate({ description: "sealedAt of the latest BatchSealed (Unix ms), 0 before the first" }),
  openBatch: Schema.Number.annotate({ description: "the batch bids are taken for" }),
  offset: Schema.Number.annotate({ description: "log offset the projection has folded up to" })
}).annotate({ identifier: "OperatorsLogTime" })

/** A page of intents. */
export const IntentPage = Schema.Struct({
  logTime: LogTime,
  intents: Schema.Array(IntentView),
  next: Nullable(Schema.Number).annotate({ description: "fromOffset of the next page, or null" })
}).annotate({ identifier: "IntentPage" })

/** A bid as served. */
export const BidView = Schema.Struct({
  id: Schema.String,
  bidder: Schema.String,
  offset: Schema.Number,
  commitment: Schema.String,
  status: Schema.Literals(["committed", "revealed", "forfeited"]),
  amount: Nullable(Schema.String),
  revealId: Nullable(Schema.String)
}).annotate({ identifier: "Bid" })

/** The auction of a batch. */
export const AuctionView = Schema.Struct({
  batch: Schema.Number,
  phase: Schema.Literals(["open", "revealing", "settled"]),
  closedBy: Nullable(Schema.String),
  settledBy: Nullable(Schema.String),
  winner: Nullable(Schema.Struct({ bid: Schema.String, bidder: Schema.String, amount: Schema.String })),
  bids: Schema.Array(BidView)
}).annotate({ identifier: "Auction" })

/** Why the projection refused a reveal or a bid. */
export const RefusalView = Schema.Struct({
  id: Schema.String,
  type: Schema.String,
  offset: Schema.Number,
  reason: Schema.String
}).annotate({ identifier: "OperatorRefusal" })

/** The shares, in the request's order, amounts as decimal strings. */
export const MevDistributionView = Schema.Struct({
  extracted: Schema.String,
  totalWeight: Schema.String,
  shares: Schema.Array(Schema.Struct({ id: Schema.String, weight: Schema.String, share: Schema.String }))
}).annotate({ identifier: "MevDistribution" })

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

const intent = HttpApiEndpoint.get("intent", "/v1/operators/intents/:id", {
  params: { id: MessageId },
  success: IntentView,
  error: [IntentNotFound]
}).annotate(OpenApi.Description, "An intent by the id of its ComputationIntent or IntentCommitment: its status (pending until the next seal settles its round, then held, refused, unrevealed; held until a seal at or after its window's end expires it).")

const intents = HttpApiEndpoint.get("intents", "/v1/operators/intents", {
  query: {
    operator: Schema.optionalKey(PublicKeyHex),
    order: Schema.optionalKey(MessageId),
    fromOffset: Schema.optionalKey(DecimalInt),
    limit: Schema.optionalKey(Limit)
  },
  success: IntentPage,
  error: [IntentQueryInvalid]
}).annotate(OpenApi.Description, `Intents of one operator (?operator=<public key>) or naming one order (?order=<order id>; committed intents once revealed), in log order from log offset fromOffset (default 0). limit defaults to ${DEFAULT_INTENTS}, at most ${MAX_INTENTS}.`)

const auction = HttpApiEndpoint.get("auction", "/v1/operators/auctions/:batch", {
  params: { batch: DecimalInt },
  success: AuctionView,
  error: [AuctionNotFound]
}).annotate(OpenApi.Description, "The sealed-bid MEV auction of a batch: open (taking bids) until the batch's seal, revealing until the next seal, then settled with its winner (highest revealed amount, ties to the earlier commitment); unrevealed bids are forfeited.")

const refusal = HttpApiEndpoint.get("refusal", "/v1/operators/refusals/:id", {
  params: { id: MessageId },
  success: RefusalView,
  error: [RefusalNotFound]
}).annotate(OpenApi.Description, "Why an IntentReveal, AuctionBidCommitment or AuctionBidReveal was refused (a refused intent carries its reason on the intent itself).")

const distribution = HttpApiEndpoint.post("mevDistribution", "/v1/operators/mev-distribution", {
  payload: MevDistributionRequest,
  success: MevDistributionView,
  error: [InvalidMevDistribution]
}).annotate(OpenApi.Description, "calculateMevDistribution: split `extracted` among participants by weight in exact integer arithmetic. Each gets floor(extracted·w/W); the leftover units go one each to the largest remainders, equal remainders by id ascending. Shares sum to `extracted` exactly.")

/** The operators group. */
export const OperatorsGroup = HttpApiGroup.make("operators").add(intent, intents, auction, refusal, distribution)
