/**
 * The mempool's HTTP contract: order status (once and as Server-Sent Events), signed
 * ordering receipts, the pending-orders query, sealed batches, the processing order and
 * the ordering-fairness check. Handlers: MempoolHandlers.ts. No answer carries a committed
 * or time-locked order's content before its batch is sealed (docs/mempool.md).
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { UserOrder } from "../../domain/mempool/MempoolMessages.ts"
import { Violation } from "../../domain/mempool/OrderingFairness.ts"
import { SignedReceipt } from "../../domain/mempool/Receipt.ts"
import { MessageId, Name } from "../../domain/Primitives.ts"

/** No mempool message (order, commitment, reveal, …) with that id. */
export class OrderNotFound extends Schema.TaggedError<OrderNotFound>()("OrderNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** That batch is not sealed (or does not exist yet). */
export class BatchNotFound extends Schema.TaggedError<BatchNotFound>()("BatchNotFound", {
  reason: Schema.String,
  batch: Schema.Number
}, { httpApiStatus: 404 }) {}

/** That id is a message without a position (a reveal, a cancellation): it has no receipt. */
export class NoReceipt extends Schema.TaggedError<NoReceipt>()("NoReceipt", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** The log's storage failed while following it; reconnect later. */
export class MempoolStorageUnavailable extends Schema.TaggedError<MempoolStorageUnavailable>()("StorageUnavailable", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

const DecimalInt = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a non-negative decimal integer" })

const Bool = Schema.Literals(["true", "false"]).annotate({ description: "true or false" })

/** Most rows one page answers. */
export const MAX_ROWS = 1000
/** Rows when `limit` is not given. */
export const DEFAULT_ROWS = 100

const Limit = DecimalInt.check(Schema.isBetween({ minimum: 1, maximum: MAX_ROWS }))

const Status = Schema.Literals(["committed", "sequenced", "revealed", "matched", "filled", "expired", "cancelled", "refused"])

const Step = Schema.Struct({ status: Status, offset: Schema.Number, reason: Schema.optionalKey(Schema.String) })

/** An order, commitment or time-locked order: its place, status and (once sealed and disclosed) content. */
export const OrderView = Schema.Struct({
  kind: Schema.Literal("order"),
  id: Schema.String,
  mode: Schema.Literals(["plain", "commit", "tlock", "rsw"]),
  status: Status,
  sender: Schema.String,
  batch: Schema.Number,
  position: Schema.Number,
  offset: Schema.Number,
  lamport: Schema.Number,
  expiry: Schema.NullOr(Schema.Number),
  round: Schema.NullOr(Schema.Number),
  sealId: Schema.NullOr(Schema.String),
  sealedAt: Schema.NullOr(Schema.Number),
  order: Schema.NullOr(UserOrder),
  history: Schema.Array(Step)
}).annotate({ identifier: "MempoolOrder" })

/** A message without a position (reveal, cancellation, refused order, decision) and what became of it. */
export const MessageView = Schema.Struct({
  kind: Schema.Literal("message"),
  id: Schema.String,
  type: Schema.String,
  offset: Schema.Number,
  accepted: Schema.Boolean,
  reason: Schema.NullOr(Schema.String),
  target: Schema.NullOr(Schema.String)
}).annotate({ identifier: "MempoolMessage" })

export const StatusView = Schema.Union([OrderView, MessageView])

/** A sealed batch. */
export const BatchView = Schema.Struct({
  batch: Schema.Number,
  sealId: Schema.String,
  sealOffset: Schema.Number,
  sealedAt: Schema.Number,
  beaconRound: Schema.NullOr(Schema.Number),
  count: Schema.Number,
  digest: Schema.String.annotate({ description: "SHA-256 chain over the batch's ids in position order: d0 = 32 zero bytes, d(i+1) = SHA-256(d(i) ‖ id(i))" })
}).annotate({ identifier: "MempoolBatch" })

/** The ordering-fairness check's input. */
export const VerifyOrderingRequest = Schema.Struct({
  processingOrder: Schema.Array(Schema.Unknown).check(Schema.isMaxLength(100_000)),
  receipts: Schema.Array(Schema.Unknown).check(Schema.isMaxLength(100_000)),
  instanceKey: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}(?:[0-9a-f]{2})?$/))),
  members: Schema.optionalKey(
    Schema.Array(Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}(?:[0-9a-f]{2})?$/))).check(Schema.isMaxLength(64)).annotate({
      description: "a cluster's members (GET /v1/cluster): receipts signed by any of them count"
    })
  )
})

/** The ordering-fairness verdict (a verdict, not an error: 200 either way). */
export const VerifyOrderingVerdict = Schema.Union([
  Schema.Struct({ fair: Schema.Literal(true), signer: Schema.NullOr(Schema.String), processed: Schema.Number, receipts: Schema.Number }),
  Schema.Struct({ fair: Schema.Literal(false), reason: Schema.String, violations: Schema.Array(Violation) })
]).annotate({ identifier: "OrderingVerdict" })

const order = HttpApiEndpoint.get("order", "/v1/mempool/orders/:id", {
  params: { id: MessageId },
  success: StatusView,
  error: [OrderNotFound]
}).annotate(OpenApi.Description, "The status of an order, commitment or time-locked order (position, history, content once sealed and disclosed), or what became of a reveal or cancellation.")

const receipt = HttpApiEndpoint.get("receipt", "/v1/mempool/orders/:id/receipt", {
  params: { id: MessageId },
  success: SignedReceipt,
  error: [OrderNotFound, NoReceipt]
}).annotate(OpenApi.Description, "The instance-signed ordering receipt (batch, position, Lamport time, log offset) of an order, commitment or time-locked order.")

const events = HttpApiEndpoint.get("events", "/v1/mempool/orders/:id/events", {
  params: { id: MessageId },
  success: HttpApiSchema.StreamSse({ data: StatusView }),
  error: [OrderNotFound]
}).annotate(OpenApi.Description, "Server-Sent Events: `status` with the order's view now, then on every change; the stream ends after a final status (filled, expired, cancelled, refused).")

const pending = HttpApiEndpoint.get("pending", "/v1/mempool/orders", {
  query: {
    chain: Schema.optionalKey(Name),
    market: Schema.optionalKey(Name),
    minAgeMs: Schema.optionalKey(DecimalInt),
    limit: Schema.optionalKey(Limit),
    revealedOnly: Schema.optionalKey(Bool)
  },
  success: Schema.Struct({ orders: Schema.Array(OrderView) })
}).annotate(OpenApi.Description, `Pending orders in sequence order (batch, position). chain and market match disclosed orders only; minAgeMs counts from the seal of the order's batch; revealedOnly=true leaves out orders whose content is not disclosed (listed without content otherwise). limit defaults to ${DEFAULT_ROWS}, at most ${MAX_ROWS}.`)

const batch = HttpApiEndpoint.get("batch", "/v1/mempool/batches/:batch", {
  params: { batch: DecimalInt },
  success: BatchView,
  error: [BatchNotFound]
})

const batchReceipts = HttpApiEndpoint.get("batchReceipts", "/v1/mempool/batches/:batch/receipts", {
  params: { batch: DecimalInt },
  query: { from: Schema.optionalKey(DecimalInt), limit: Schema.optionalKey(Limit) },
  success: Schema.Struct({ receipts: Schema.Array(SignedReceipt) }),
  error: [BatchNotFound]
}).annotate(OpenApi.Description, "Signed receipts of a sealed batch's entries in position order, from position `from` (default 0).")

const processing = HttpApiEndpoint.get("processing", "/v1/mempool/processing", {
  query: { from: Schema.optionalKey(DecimalInt), limit: Schema.optionalKey(Limit) },
  success: Schema.Struct({ orderIds: Schema.Array(Schema.String) })
}).annotate(OpenApi.Description, "Matched order ids in processing order (as the instance's OrdersMatched events record it), from index `from`.")

const verifyOrdering = HttpApiEndpoint.post("verifyOrdering", "/v1/mempool/verify-ordering", {
  payload: VerifyOrderingRequest,
  success: VerifyOrderingVerdict
}).annotate(OpenApi.Description, "verifyOrderingFairness(processingOrder, receipts): does the processing order follow the signed sequence? The same check as causeway/verify's, run here.")

/** The mempool group. */
export const MempoolGroup = HttpApiGroup.make("mempool").add(order, receipt, events, pending, batch, batchReceipts, processing, verifyOrdering)
