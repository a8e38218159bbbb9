/**
 * The mempool's HTTP contract: order status (once and as Server-Sent Events), signed
 * ordering receipts, the pending-orders query, sealed batches, the processing order and
 * the ordering-fairness check. Handlers: MempoolHandlers.ts. No answer carries a committed
 * or time-locked order's content before its batch is sealed (docs/mempool.md).
 */
import { JsonSchema, Schema, SchemaTransformation } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { Batch, MessageView, OrderView } from "../../domain/mempool/MempoolShapes.ts"
import { Violation } from "../../domain/mempool/OrderingFairness.ts"
import { SignedReceipt } from "../../domain/mempool/Receipt.ts"
import { MessageId, Name } from "../../domain/Primitives.ts"
import { DecodesInput, JsonBodyLimit, NeedsLog, OpensStream, ReadsJsonBody } from "./EdgeApi.ts"

/** No mempool message (order, commitment, reveal, …) with that id. */
export class OrderNotFound extends Schema.TaggedError<OrderNotFound>()("OrderNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** That batch is not sealed (or does not exist yet). */
export class BatchNotFound extends Schema.TaggedError<BatchNotFound>()("BatchNotFound", {
  reason: Schema.String,
  batch: Schema.Finite
}, { httpApiStatus: 404 }) {}

/** That id is a message without a position (a reveal, a cancellation): it has no receipt. */
/** The ordering check's worker is busy with as many checks as it queues; retry shortly. */
export class VerifierBusy extends Schema.TaggedError<VerifierBusy>()("VerifierBusy", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

export class NoReceipt extends Schema.TaggedError<NoReceipt>()("NoReceipt", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

const DecimalInt = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/u)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a non-negative decimal integer" })

const Bool = Schema.Literals(["true", "false"]).annotate({ description: "true or false" })

/** Most rows one page answers. */
export const MAX_ROWS = 1000
/** Rows when `limit` is not given. */
export const DEFAULT_ROWS = 100

const Limit = DecimalInt.check(Schema.isBetween({ minimum: 1, maximum: MAX_ROWS }))

export { MessageView, OrderView }

/** What the status endpoints answer: an order's view, or a message's. */
export const StatusView = Schema.Union([OrderView, MessageView], { mode: "oneOf" }).annotate({ identifier: "MempoolStatus" })

/** A sealed batch. */
export const BatchView = Batch

import { MAX_ORDERING_ENTRIES, ORDERING_BODY_BYTES, VerifyOrderingRequest } from "./OrderingRequest.ts"

export { MAX_ORDERING_ENTRIES, ORDERING_BODY_BYTES, VerifyOrderingRequest }

/**
 * The ordering check's body as the endpoint reads it: its bytes, parsed and decoded by the
 * worker (OrderingRequest.ts), never on the event loop. The OpenAPI document describes it as
 * the JSON it is (VerifyOrderingRequest, see `orderingRequestDocument`).
 */
const VerifyOrderingBody = Schema.Uint8Array.pipe(HttpApiSchema.asUint8Array({ contentType: "application/json" }))

/**
 * An OpenApi.Transform of the whole document: the ordering check's request body is the
 * VerifyOrderingRequest JSON schema (a component), not the bytes the endpoint reads it as.
 */
export const orderingRequestDocument = (spec: Record<string, any>): Record<string, any> => {
  const draft = Schema.toJsonSchemaDocument(VerifyOrderingRequest)
  const document = JsonSchema.toMultiDocumentOpenApi3_1({ dialect: draft.dialect, schemas: [draft.schema], definitions: draft.definitions })
  const operation = spec.paths?.["/v1/mempool/verify-ordering"]?.post
  if (operation === undefined) return spec
  operation.requestBody = { required: true, content: { "application/json": { schema: document.schemas[0] } } }
  spec.components = { ...spec.components, schemas: { ...spec.components?.schemas, ...document.definitions } }
  return spec
}

/** The ordering-fairness verdict (a verdict, not an error: 200 either way). */
export const VerifyOrderingVerdict = Schema.Union([
  Schema.Struct({ fair: Schema.Literal(true), signer: Schema.NullOr(Schema.String), processed: Schema.Finite, receipts: Schema.Finite }),
  Schema.Struct({ fair: Schema.Literal(false), reason: Schema.String, violations: Schema.Array(Violation) })
]).annotate({ identifier: "OrderingVerdict" })

/** Most entries of the open batch its view lists. */
export const MAX_OPEN_LISTED = 256

/** One entry of the open batch: where it stands and how it entered, never its content. */
export const OpenEntry = Schema.Struct({
  id: Schema.String.annotate({ description: "the entry's id (an order, commitment or time-locked order)" }),
  position: Schema.Finite,
  mode: Schema.Literals(["plain", "commit", "tlock", "rsw"])
}).annotate({ identifier: "MempoolOpenEntry" })

/** The batch now filling. */
export const OpenBatchView = Schema.Struct({
  batch: Schema.Finite.annotate({ description: "the open batch's number (= how many batches are sealed)" }),
  count: Schema.Finite.annotate({ description: "entries it holds so far" }),
  entries: Schema.Array(OpenEntry).annotate({ description: `its first entries (at most ${MAX_OPEN_LISTED}) in position order: ids and modes only, never content` }),
  previousSealedAt: Schema.NullOr(Schema.Finite).annotate({ description: "when the previous batch was sealed (Unix ms); null for batch 0" }),
  windowMs: Schema.NullOr(Schema.Finite).annotate({ description: "the sealer's batch window (ms); null when this instance runs no sealer" }),
  sealNotBefore: Schema.NullOr(Schema.Finite).annotate({
    description: "the earliest time the sealer may seal it (Unix ms): the previous seal plus the window. The sealer seals on its next tick (1 s) once the window has passed both since the previous seal and since it first saw the batch hold something; null without a sealer or for batch 0"
  }),
  offset: Schema.Finite.annotate({ description: "log records folded into this answer" })
}).annotate({ identifier: "MempoolOpenBatch" })

const OrderId = MessageId.annotate({ description: "the id of an order, commitment or time-locked order (or of a reveal or cancellation): 64 lowercase hex digits" })
const BatchNumber = DecimalInt.annotate({ description: "a batch number (batches count from 0)" })

const order = HttpApiEndpoint.get("order", "/v1/mempool/orders/:id", {
  params: { id: OrderId },
  success: StatusView,
  error: [OrderNotFound]
})
  .annotate(OpenApi.Identifier, "getOrderStatus")
  .annotate(OpenApi.Summary, "An order's status")
  .annotate(OpenApi.Description, "The status of an order, commitment or time-locked order: its batch and position, its history, and its content once its batch is sealed and the content disclosed (kind `order`); or, for a reveal, cancellation, refused order or decision, what became of it (kind `message`).")

const receipt = HttpApiEndpoint.get("receipt", "/v1/mempool/orders/:id/receipt", {
  params: { id: OrderId },
  success: SignedReceipt,
  error: [OrderNotFound, NoReceipt]
})
  .annotate(OpenApi.Identifier, "getOrderReceipt")
  .annotate(OpenApi.Summary, "An order's signed ordering receipt")
  .annotate(OpenApi.Description, "The instance-signed ordering receipt of an order, commitment or time-locked order: its batch, position, Lamport time and log offset, signed over \"causeway/v1/receipt\" ‖ 0x00 ‖ the receipt's canonical JSON without the signature. Keep it to prove later where the order stood (POST /v1/mempool/verify-ordering). 404 NoReceipt for a message that holds no position.")

const events = HttpApiEndpoint.get("events", "/v1/mempool/orders/:id/events", {
  params: { id: OrderId },
  success: HttpApiSchema.StreamSse({ data: StatusView }),
  error: [OrderNotFound]
})
  .middleware(OpensStream)
  .annotate(OpenApi.Identifier, "streamOrderStatus")
  .annotate(OpenApi.Summary, "Follow an order's status as Server-Sent Events")
  .annotate(OpenApi.Description, "Server-Sent Events: a `status` event with the order's view now, then one on every change; the stream ends after a final status (filled, expired, cancelled, refused), at once for a message without a position. A comment every 15 s keeps the connection alive.")

const pending = HttpApiEndpoint.get("pending", "/v1/mempool/orders", {
  query: {
    chain: Schema.optionalKey(Name.annotate({ description: "only disclosed orders on this chain" })),
    market: Schema.optionalKey(Name.annotate({ description: "only disclosed orders in this market" })),
    minAgeMs: Schema.optionalKey(DecimalInt.annotate({ description: "only orders whose batch was sealed at least this many ms ago" })),
    limit: Schema.optionalKey(Limit.annotate({ description: `most orders returned (default ${DEFAULT_ROWS}, at most ${MAX_ROWS})` })),
    revealedOnly: Schema.optionalKey(Bool.annotate({ description: "true: leave out orders whose content is not disclosed" }))
  },
  success: Schema.Struct({ orders: Schema.Array(OrderView) }).annotate({ identifier: "PendingOrders" })
})
  .annotate(OpenApi.Identifier, "listPendingOrders")
  .annotate(OpenApi.Summary, "List pending orders in sequence order")
  .annotate(OpenApi.Description, `Pending orders in sequence order (batch, position): what a solver or operator works from. chain and market match disclosed orders only; minAgeMs counts from the seal of the order's batch; revealedOnly=true leaves out orders whose content is not disclosed (listed without content otherwise). limit defaults to ${DEFAULT_ROWS}, at most ${MAX_ROWS}.`)

const open = HttpApiEndpoint.get("open", "/v1/mempool/open", { success: OpenBatchView })
  .annotate(OpenApi.Identifier, "getOpenBatch")
  .annotate(OpenApi.Summary, "The batch now filling")
  .annotate(OpenApi.Description, `The open batch: its number, how many entries it holds, the ids and modes of its first ${MAX_OPEN_LISTED} in position order (never their content: that waits for the seal), and when the sealer may seal it at the earliest. The sealed batches before it are GET /v1/mempool/batches/{batch} for batch - 1 down to 0.`)

const batch = HttpApiEndpoint.get("batch", "/v1/mempool/batches/:batch", {
  params: { batch: BatchNumber },
  success: BatchView,
  error: [BatchNotFound]
})
  .annotate(OpenApi.Identifier, "getBatch")
  .annotate(OpenApi.Summary, "A sealed batch")
  .annotate(OpenApi.Description, "A sealed batch: the BatchSealed message that closed it, when, the beacon round at sealing, how many entries it holds and the digest chained over their ids in position order (recompute it from the receipts to check none was left out). 404 while the batch is open or not yet begun.")

const batchReceipts = HttpApiEndpoint.get("batchReceipts", "/v1/mempool/batches/:batch/receipts", {
  params: { batch: BatchNumber },
  query: {
    from: Schema.optionalKey(DecimalInt.annotate({ description: "the position to start at (default 0)" })),
    limit: Schema.optionalKey(Limit.annotate({ description: `most receipts returned (default ${DEFAULT_ROWS}, at most ${MAX_ROWS})` }))
  },
  success: Schema.Struct({ receipts: Schema.Array(SignedReceipt) }).annotate({ identifier: "BatchReceipts" }),
  error: [BatchNotFound]
})
  .annotate(OpenApi.Identifier, "listBatchReceipts")
  .annotate(OpenApi.Summary, "The signed receipts of a sealed batch")
  .annotate(OpenApi.Description, `Signed ordering receipts of a sealed batch's entries in position order, from position \`from\` (default 0); limit defaults to ${DEFAULT_ROWS}, at most ${MAX_ROWS}. Together with GET /v1/mempool/processing, the input of the ordering-fairness check.`)

const processing = HttpApiEndpoint.get("processing", "/v1/mempool/processing", {
  query: {
    from: Schema.optionalKey(DecimalInt.annotate({ description: "the index to start at (default 0)" })),
    limit: Schema.optionalKey(Limit.annotate({ description: `most ids returned (default ${DEFAULT_ROWS}, at most ${MAX_ROWS})` }))
  },
  success: Schema.Struct({ orderIds: Schema.Array(Schema.String) }).annotate({ identifier: "ProcessingOrder" })
})
  .annotate(OpenApi.Identifier, "listProcessingOrder")
  .annotate(OpenApi.Summary, "Matched order ids in processing order")
  .annotate(OpenApi.Description, `Matched order ids in the order they were processed (as the instance's OrdersMatched messages record it), from index \`from\` (default 0); limit defaults to ${DEFAULT_ROWS}, at most ${MAX_ROWS}.`)

const verifyOrdering = HttpApiEndpoint.post("verifyOrdering", "/v1/mempool/verify-ordering", {
  payload: VerifyOrderingBody,
  success: VerifyOrderingVerdict,
  error: VerifierBusy
})
  .middleware(ReadsJsonBody)
  .annotate(JsonBodyLimit, "ordering")
  .annotate(OpenApi.Identifier, "verifyOrdering")
  .annotate(OpenApi.Summary, "Check that a processing order follows the signed sequence")
  .annotate(OpenApi.Description, "verifyOrderingFairness(processingOrder, receipts): does the processing order follow the sequence the signed receipts fix? The same check as the causeway/verify library's, run here; a verdict either way (200), with the violations when it is not fair. Receipts signed by instanceKey, or by any of members, count (default: the signer of the first receipt). At most 10,000 receipts and 10,000 order ids in a body of at most 8 MiB (413 beyond); the check runs on a worker thread, one at a time with at most 4 waiting: 503 VerifierBusy beyond that.")

/** The mempool group. */
export const MempoolGroup = HttpApiGroup.make("mempool")
  .add(order, receipt, events, pending, open, batch, batchReceipts, processing, verifyOrdering)
  .middleware(DecodesInput)
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "The fair-ordering mempool: orders' status and signed receipts, pending orders, sealed batches, the processing order, and the ordering-fairness check. No answer carries a committed or time-locked order's content before its batch is sealed.")
