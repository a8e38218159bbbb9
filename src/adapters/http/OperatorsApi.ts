/**
 * The operators group of the HTTP contract: computation intents (one, by operator, by
 * order), the MEV auction of a batch, why a reveal or bid was refused, and the MEV
 * distribution calculation; and the operator registry (list, register, remove: scope admin).
 * Handlers: OperatorsHandlers.ts. Rules: docs/operators.md.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { InvalidMevDistribution } from "../../domain/operators/MevDistribution.ts"
import { MAX_OPEN_INTENTS, OperatorKey, OperatorRegistered } from "../../domain/operators/OperatorRegistry.ts"
import { DecimalAmount, MessageId } from "../../domain/Primitives.ts"
import { DecodesInput, InvalidRequest, NeedsAdminScope, NeedsLog, ReadsJsonBody } from "./EdgeApi.ts"

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
  batch: Schema.Finite
}, { httpApiStatus: 404 }) {}

/** No refusal is recorded for that message. */
export class RefusalNotFound extends Schema.TaggedError<RefusalNotFound>()("RefusalNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** This instance does not hold the right to register operators (a cluster member out of its term). */
export class NotOperatorAuthority extends Schema.TaggedError<NotOperatorAuthority>()("NotOperatorAuthority", {
  reason: Schema.String,
  leader: Schema.NullOr(Schema.String).annotate({ description: "the leader now, whose instance registers operators (null: none)" })
}, { httpApiStatus: 409 }) {}

/** The key is not a registered operator. */
export class OperatorNotFound extends Schema.TaggedError<OperatorNotFound>()("OperatorNotFound", {
  reason: Schema.String,
  operator: Schema.String
}, { httpApiStatus: 404 }) {}

/** The instance could not append its registry message to the log; retrying later may succeed. */
export class OperatorNotPublished extends Schema.TaggedError<OperatorNotPublished>()("OperatorNotPublished", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

const DecimalInt = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a non-negative decimal integer" })

/** Most intents one page answers. */
export const MAX_INTENTS = 1000
/** Intents a page answers when `limit` is not given. */
export const DEFAULT_INTENTS = 100

const Limit = DecimalInt.check(Schema.isBetween({ minimum: 1, maximum: MAX_INTENTS }))

/** A sender's public key as lowercase hex (ed25519: 32 bytes, secp256k1: 33 or 65). */
const PublicKeyHex = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{2}){32,65}$/u)).annotate({
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
  offset: Schema.Finite,
  status: Schema.Literals(["pending", "held", "expired", "refused", "unrevealed"]),
  commitment: Nullable(Schema.String),
  revealId: Nullable(Schema.String),
  orderIds: Nullable(Schema.Array(Schema.String)),
  windowStart: Nullable(Schema.Finite),
  windowEnd: Nullable(Schema.Finite),
  heldFrom: Nullable(Schema.Finite),
  reason: Nullable(Schema.String),
  conflictWith: Nullable(Schema.String),
  settledInBatch: Nullable(Schema.Finite),
  expiredInBatch: Nullable(Schema.Finite)
}).annotate({ identifier: "Intent" })
export type IntentView = typeof IntentView.Type

/** The log's time as the operators projection sees it: what `held` and `expired` are relative to. */
export const LogTime = Schema.Struct({
  now: Schema.Finite.annotate({ description: "sealedAt of the latest BatchSealed (Unix ms), 0 before the first" }),
  openBatch: Schema.Finite.annotate({ description: "the batch bids are taken for" }),
  offset: Schema.Finite.annotate({ description: "log offset the projection has folded up to" })
}).annotate({ identifier: "OperatorsLogTime" })

/** A page of intents. */
export const IntentPage = Schema.Struct({
  logTime: LogTime,
  intents: Schema.Array(IntentView),
  next: Nullable(Schema.Finite).annotate({ description: "fromOffset of the next page, or null" })
}).annotate({ identifier: "IntentPage" })

/** A bid as served. */
export const BidView = Schema.Struct({
  id: Schema.String,
  bidder: Schema.String,
  offset: Schema.Finite,
  commitment: Schema.String,
  status: Schema.Literals(["committed", "revealed", "forfeited"]),
  amount: Nullable(Schema.String),
  revealId: Nullable(Schema.String)
}).annotate({ identifier: "Bid" })

/** The auction of a batch. */
export const AuctionView = Schema.Struct({
  batch: Schema.Finite,
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
  offset: Schema.Finite,
  reason: Schema.String
}).annotate({ identifier: "OperatorRefusal" })

/** The shares, in the request's order, amounts as decimal strings. */
export const MevDistributionView = Schema.Struct({
  extracted: Schema.String,
  totalWeight: Schema.String,
  shares: Schema.Array(Schema.Struct({ id: Schema.String, weight: Schema.String, share: Schema.String }))
}).annotate({ identifier: "MevDistribution" })

/** A registered operator and the message that registered it. */
export const OperatorView = Schema.Struct({
  operator: Schema.String,
  name: Schema.NullOr(Schema.String),
  messageId: Schema.String.annotate({ description: "the latest OperatorRegistered message naming it" }),
  messageOffset: Schema.Finite,
  since: Schema.Finite.annotate({ description: "offset of the registration that made it an operator (a later one only renames it)" })
}).annotate({ identifier: "Operator" })

/** The registry. */
export const OperatorList = Schema.Struct({
  operators: Schema.Array(OperatorView),
  instanceCounts: Schema.Boolean.annotate({ description: "the deployment's own instances (this instance, or a cluster's members) count as operators without registration" }),
  maxOpenIntents: Schema.Finite.annotate({ description: "the most intents one operator may have open" }),
  offset: Schema.Finite.annotate({ description: "log records folded into this answer" })
}).annotate({ identifier: "Operators" })

/** The receipt of a registration or removal. */
export const OperatorChanged = Schema.Struct({
  id: Schema.String.annotate({ description: "the OperatorRegistered or OperatorRemoved message's id" }),
  offset: Schema.Finite,
  lamport: Schema.Finite,
  operator: Schema.String
}).annotate({ identifier: "OperatorChanged" })

/** Body of POST /v1/operators: the OperatorRegistered payload. */
export const RegisterOperatorRequest = OperatorRegistered.annotate({
  identifier: "RegisterOperator",
  description: "the operator's public key and an optional name (1 to 64 printable ASCII characters)"
})

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

const listOperators = HttpApiEndpoint.get("operators", "/v1/operators", {
  success: OperatorList
})
  .annotate(OpenApi.Identifier, "listOperators")
  .annotate(OpenApi.Summary, "List the registered operators")
  .annotate(OpenApi.Description, "The operators the deployment's authority registered (OperatorRegistered, not since removed), sorted by key. Only operators may send MatchProposal, FillReport, ComputationIntent and IntentCommitment; the deployment's own instances count without registration.")

const register = HttpApiEndpoint.post("registerOperator", "/v1/operators", {
  payload: RegisterOperatorRequest,
  success: OperatorChanged.pipe(HttpApiSchema.status(201)),
  error: [NotOperatorAuthority, OperatorNotPublished]
})
  .middleware(ReadsJsonBody)
  .middleware(NeedsAdminScope)
  .annotate(OpenApi.Identifier, "registerOperator")
  .annotate(OpenApi.Summary, "Register an operator")
  .annotate(
    OpenApi.Description,
    `Publish an OperatorRegistered as the instance (a decision of the deployment's authority) and answer 201 with its receipt once the registry has folded it: from then on the key may send MatchProposal, FillReport, ComputationIntent and IntentCommitment, with at most ${MAX_OPEN_INTENTS} intents open. Registering a registered key renames it. Scope admin. 409 NotOperatorAuthority when this instance does not lead the cluster, 503 when the log cannot take the message.`
  )

const remove = HttpApiEndpoint.delete("removeOperator", "/v1/operators", {
  query: { key: OperatorKey.annotate({ description: "the operator's public key" }) },
  success: OperatorChanged,
  error: [OperatorNotFound, NotOperatorAuthority, OperatorNotPublished]
})
  .middleware(NeedsAdminScope)
  .annotate(OpenApi.Identifier, "removeOperator")
  .annotate(OpenApi.Summary, "Remove an operator")
  .annotate(
    OpenApi.Description,
    "Publish an OperatorRemoved as the instance and answer with its receipt once the registry has folded it: the key's later proposals, reports and intents are refused (403 OperatorNotRegistered); what it sent before stays. Scope admin. 404 OperatorNotFound when the key is not registered, 409 NotOperatorAuthority when this instance does not lead the cluster, 503 when the log cannot take the message."
  )

const intent = HttpApiEndpoint.get("intent", "/v1/operators/intents/:id", {
  params: { id: MessageId.annotate({ description: "the id of a ComputationIntent or IntentCommitment: 64 lowercase hex digits" }) },
  success: IntentView,
  error: [IntentNotFound]
})
  .annotate(OpenApi.Identifier, "getIntent")
  .annotate(OpenApi.Summary, "A computation intent's status")
  .annotate(OpenApi.Description, "An intent by the id of its ComputationIntent or IntentCommitment, and its status: pending until the next seal settles its round, then held, refused (with the reason and the intent it conflicts with) or unrevealed; held until a seal at or after its window's end expires it.")

const intents = HttpApiEndpoint.get("intents", "/v1/operators/intents", {
  query: {
    operator: Schema.optionalKey(PublicKeyHex.annotate({ description: "the operator's public key: list its intents" })),
    order: Schema.optionalKey(MessageId.annotate({ description: "an order id: list the intents that name it (committed intents once revealed)" })),
    fromOffset: Schema.optionalKey(DecimalInt.annotate({ description: "the log offset to start at (default 0; a page's `next`)" })),
    limit: Schema.optionalKey(Limit.annotate({ description: `most intents returned (default ${DEFAULT_INTENTS}, at most ${MAX_INTENTS})` }))
  },
  success: IntentPage,
  // Exactly one of operator and order: a rule across two parameters, answered by the handler.
  error: [InvalidRequest]
})
  .annotate(OpenApi.Identifier, "listIntents")
  .annotate(OpenApi.Summary, "List intents by operator or by order")
  .annotate(OpenApi.Description, `Intents of one operator (?operator=<public key>) or naming one order (?order=<order id>; committed intents once revealed): give exactly one of the two. In log order from log offset fromOffset (default 0); limit defaults to ${DEFAULT_INTENTS}, at most ${MAX_INTENTS}; \`next\` is the fromOffset of the next page. \`logTime\` says what held and expired are relative to.`)

const auction = HttpApiEndpoint.get("auction", "/v1/operators/auctions/:batch", {
  params: { batch: DecimalInt.annotate({ description: "a batch number" }) },
  success: AuctionView,
  error: [AuctionNotFound]
})
  .annotate(OpenApi.Identifier, "getAuction")
  .annotate(OpenApi.Summary, "The MEV auction of a batch")
  .annotate(OpenApi.Description, "The sealed-bid MEV auction of a batch: open (taking bid commitments) until the batch's seal, revealing until the next seal, then settled with its winner (highest revealed amount, ties to the earlier commitment); unrevealed bids are forfeited. 404 while nobody has bid for the batch.")

const refusal = HttpApiEndpoint.get("refusal", "/v1/operators/refusals/:id", {
  params: { id: MessageId.annotate({ description: "the id of an IntentReveal, AuctionBidCommitment or AuctionBidReveal" }) },
  success: RefusalView,
  error: [RefusalNotFound]
})
  .annotate(OpenApi.Identifier, "getOperatorRefusal")
  .annotate(OpenApi.Summary, "Why a reveal or bid was refused")
  .annotate(OpenApi.Description, "Why an IntentReveal, AuctionBidCommitment or AuctionBidReveal was refused by the operators projection (a refused intent carries its reason on the intent itself: GET /v1/operators/intents/{id}). 404 when none is recorded: the message was accepted, is not in the log yet, or is not one of those types.")

const distribution = HttpApiEndpoint.post("mevDistribution", "/v1/operators/mev-distribution", {
  payload: MevDistributionRequest,
  success: MevDistributionView,
  error: [InvalidMevDistribution]
})
  .middleware(ReadsJsonBody)
  .annotate(OpenApi.Identifier, "calculateMevDistribution")
  .annotate(OpenApi.Summary, "Split extracted MEV among participants by weight")
  .annotate(OpenApi.Description, `calculateMevDistribution: split \`extracted\` among the participants (1 to ${MAX_PARTICIPANTS}) by weight in exact integer arithmetic. Each gets floor(extracted·w/W); the leftover units go one each to the largest remainders, equal remainders by id ascending. Shares sum to \`extracted\` exactly. Amounts are decimal strings; 422 InvalidMevDistribution when the split is not defined (a participant listed twice, or weights that sum to zero).`)

/** The operators group. */
export const OperatorsGroup = HttpApiGroup.make("operators")
  .add(listOperators, register, remove, intent, intents, auction, refusal, distribution)
  .middleware(DecodesInput)
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "Operators' computation intents, the sealed-bid MEV auction of each batch, refusals of operators' messages, the MEV distribution calculation (docs/operators.md), and the operator registry.")
