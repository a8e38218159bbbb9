/**
 * The HTTP contract of causeway: every endpoint, its inputs, its answers and its errors.
 * The handlers (Handlers.ts) implement it; the OpenAPI document is generated from it.
 *
 * Every error body is JSON carrying `_tag` and a human-readable `reason`. Rejections of a
 * message are the domain's own classes (src/domain/Rejection.ts), each annotated with its
 * status; the errors below are the ones only the HTTP edge can raise.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { EnvelopeShell } from "../../domain/Envelope.ts"
import { MessageId } from "../../domain/Primitives.ts"
import { Rejection } from "../../domain/Rejection.ts"
import { ChainsGroup } from "./ChainsApi.ts"
import { InstanceGroup } from "./InstanceApi.ts"
import { MempoolGroup } from "./MempoolApi.ts"
import { OperatorsGroup } from "./OperatorsApi.ts"

// ---------------------------------------------------------------------------------------
// Errors raised at the HTTP edge
// ---------------------------------------------------------------------------------------

/** A path parameter, query parameter or header is not of the documented shape. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  reason: Schema.String
}, { httpApiStatus: 400 }) {}

/** The request body is larger than the server reads. */
export class BodyTooLarge extends Schema.TaggedError<BodyTooLarge>()("BodyTooLarge", {
  reason: Schema.String,
  limit: Schema.Number
}, { httpApiStatus: 413 }) {}

/** A batch holds more messages than one submission may. */
export class BatchTooLarge extends Schema.TaggedError<BatchTooLarge>()("BatchTooLarge", {
  reason: Schema.String,
  size: Schema.Number,
  limit: Schema.Number
}, { httpApiStatus: 413 }) {}

/** The body is not sent as `application/json`. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  reason: Schema.String,
  contentType: Schema.String
}, { httpApiStatus: 415 }) {}

/** No message with that id is in the log. */
export class MessageNotFound extends Schema.TaggedError<MessageNotFound>()("MessageNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** No endpoint answers at that method and path. */
export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", {
  reason: Schema.String
}, { httpApiStatus: 404 }) {}

/** The storage behind the log failed; retrying later may succeed. Never the client's fault. */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

/** The projections have not folded the whole log yet. */
export class NotReady extends Schema.TaggedError<NotReady>()("NotReady", {
  ready: Schema.Literal(false),
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

/** A defect in the server: a bug, never the client's input. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  reason: Schema.String
}, { httpApiStatus: 500 }) {}

/** Every rejection of a submitted message, with its status (the domain's list, not a copy). */
export const RejectionErrors = Rejection.members

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

/** A non-negative decimal integer as text: digits only, no sign, exponent or leading zeros. */
const DecimalInt = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/)).pipe(
  Schema.decodeTo(Schema.Int, SchemaTransformation.numberFromString)
).annotate({ description: "a non-negative decimal integer" })

/** Most records one page of the causal listing returns. */
export const MAX_PAGE = 1000
/** Records a page returns when `limit` is not given. */
export const DEFAULT_PAGE = 100

const PageLimit = DecimalInt.check(Schema.isBetween({ minimum: 1, maximum: MAX_PAGE }))

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

/** Where an accepted message landed. */
export const Receipt = Schema.Struct({
  id: Schema.String,
  offset: Schema.Number,
  lamport: Schema.Number
}).annotate({ identifier: "Receipt" })

/** A log record as served: its header fields and the envelope as sent. */
export const RecordView = Schema.Struct({
  offset: Schema.Number,
  id: Schema.String,
  lamport: Schema.Number,
  type: Schema.String,
  sender: Schema.String,
  nonce: Schema.Number,
  deps: Schema.Array(Schema.String),
  envelope: Schema.Unknown.annotate({ description: "the signed envelope (see Envelope)" })
}).annotate({ identifier: "LogRecord" })
export type RecordView = typeof RecordView.Type

/** The outcome of one message of a batch: its receipt, or the status and body it would have got alone. */
export const BatchItem = Schema.Union([
  Schema.Struct({ ok: Schema.Literal(true), receipt: Receipt }),
  Schema.Struct({
    ok: Schema.Literal(false),
    status: Schema.Number,
    error: Schema.Union([...RejectionErrors, StorageUnavailable])
  })
]).annotate({ identifier: "BatchItem" })
export type BatchItem = typeof BatchItem.Type

/** One outcome per message of a batch, in order. */
export const BatchResults = Schema.Struct({ results: Schema.Array(BatchItem) }).annotate({
  identifier: "BatchResults"
})

/** A projection's position and digest. */
export const ProjectionStatus = Schema.Struct({
  name: Schema.String,
  version: Schema.Number,
  offset: Schema.Number,
  digest: Schema.String
}).annotate({ identifier: "ProjectionStatus" })

/** The log index state (counts by type and sender) and the offset it covers. */
export const LogIndexView = Schema.Struct({
  name: Schema.String,
  version: Schema.Number,
  offset: Schema.Number,
  state: Schema.Struct({
    total: Schema.Number,
    byType: Schema.Record(Schema.String, Schema.Number),
    bySender: Schema.Record(Schema.String, Schema.Struct({ count: Schema.Number, latestLamport: Schema.Number }))
  })
}).annotate({ identifier: "LogIndex" })

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

const submit = HttpApiEndpoint.post("submit", "/v1/messages", {
  payload: Schema.Union([EnvelopeShell, Schema.Array(EnvelopeShell)]).annotate({
    description: "one envelope, or an array of envelopes (a batch, at most maxBatch)"
  }),
  success: [Receipt.pipe(HttpApiSchema.status(201)), BatchResults],
  error: [...RejectionErrors, BodyTooLarge, BatchTooLarge, UnsupportedMediaType, StorageUnavailable]
}).annotate(OpenApi.Description, "Submit one signed envelope (201 with its receipt, or the rejection's status) or a batch (200 with one result per envelope, in order).")

const getMessage = HttpApiEndpoint.get("getMessage", "/v1/messages/:id", {
  params: { id: MessageId },
  success: RecordView,
  error: [InvalidRequest, MessageNotFound, StorageUnavailable]
})

const listMessages = HttpApiEndpoint.get("listMessages", "/v1/messages", {
  query: {
    fromLamport: Schema.optionalKey(DecimalInt),
    limit: Schema.optionalKey(PageLimit)
  },
  success: Schema.Array(RecordView),
  error: [InvalidRequest, StorageUnavailable]
}).annotate(OpenApi.Description, `Records in causal order (lamport, id) from Lamport time fromLamport (default 0); limit defaults to ${DEFAULT_PAGE}, at most ${MAX_PAGE}.`)

const dependents = HttpApiEndpoint.get("dependents", "/v1/messages/:id/dependents", {
  params: { id: MessageId },
  success: Schema.Array(RecordView),
  error: [InvalidRequest, StorageUnavailable]
}).annotate(OpenApi.Description, "Records that name this message among their dependencies, in log order.")

const stream = HttpApiEndpoint.get("stream", "/v1/stream", {
  query: { from: Schema.optionalKey(DecimalInt) },
  headers: { "last-event-id": Schema.optionalKey(DecimalInt) },
  success: HttpApiSchema.StreamSse({ data: RecordView }),
  error: [InvalidRequest, StorageUnavailable]
}).annotate(OpenApi.Description, "Server-Sent Events of log records (`id: <offset>`, `event: record`). Last-Event-ID N resumes at N+1, ?from=N starts at N, otherwise new records only. A comment every 15 s keeps the connection alive.")

/** Submitting and reading messages. */
export const MessagesGroup = HttpApiGroup.make("messages").add(submit, getMessage, listMessages, dependents, stream)

/** Projection positions and states. */
export const ProjectionsGroup = HttpApiGroup.make("projections").add(
  HttpApiEndpoint.get("list", "/v1/projections", { success: Schema.Array(ProjectionStatus) }),
  HttpApiEndpoint.get("logIndex", "/v1/projections/log-index", { success: LogIndexView })
)

/** Health, readiness and metrics. */
export const OpsGroup = HttpApiGroup.make("ops").add(
  HttpApiEndpoint.get("healthz", "/healthz", { success: Schema.Struct({ status: Schema.Literal("ok") }) }),
  HttpApiEndpoint.get("readyz", "/readyz", {
    success: Schema.Struct({ ready: Schema.Literal(true) }),
    error: [NotReady, StorageUnavailable]
  }),
  HttpApiEndpoint.get("metrics", "/metrics", {
    success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/plain; version=0.0.4" }))
  }).annotate(OpenApi.Description, "Prometheus text exposition of every metric.")
)

/** A leader change: from log offset `from` on, `leader` (null: none) led in `term`. */
export const LeaderSpanView = Schema.Struct({ term: Schema.Number, leader: Schema.NullOr(Schema.String), from: Schema.Number })

/** The deployment's authority as this instance has folded it. */
export const ClusterViewSchema = Schema.Struct({
  instance: Schema.String.annotate({ description: "this instance's ed25519 public key (hex): receipts it serves are signed by it" }),
  mode: Schema.Literals(["single", "cluster"]).annotate({ description: "single: this instance decides alone; cluster: the admin's members elect a leader" }),
  admin: Schema.NullOr(Schema.String).annotate({ description: "the cluster admin's public key (serve --cluster-admin)" }),
  members: Schema.Array(Schema.String).annotate({ description: "the authorized members' public keys (the admin's latest ClusterMembersSet)" }),
  leader: Schema.NullOr(Schema.String).annotate({ description: "the current term's leader, null before the first claim or after a set that dropped it" }),
  term: Schema.Number,
  termAt: Schema.NullOr(Schema.Number),
  membersAt: Schema.NullOr(Schema.Number),
  isMember: Schema.Boolean,
  isLeader: Schema.Boolean,
  history: Schema.Array(LeaderSpanView),
  chains: Schema.Array(Schema.String).annotate({ description: "the chains the cluster observes (the leader's latest assignment)" }),
  owners: Schema.Array(Schema.Struct({ chain: Schema.String, owner: Schema.String })).annotate({
    description: "who observes each chain, by rendezvous hashing over the live members; a chain not listed is observed by nobody until the leader assigns it"
  }),
  ownersAt: Schema.NullOr(Schema.Number),
  offset: Schema.Number.annotate({ description: "the log offset this view is folded up to" })
}).annotate({ identifier: "ClusterView" })

/** The cluster: members, leader, terms. */
export const ClusterGroup = HttpApiGroup.make("cluster").add(
  HttpApiEndpoint.get("cluster", "/v1/cluster", { success: ClusterViewSchema })
    .annotate(OpenApi.Summary, "The deployment's members, leader and term")
    .annotate(OpenApi.Description, "Who decides in this deployment as this instance has folded the log: the instance alone, or the cluster admin's members and their elected leader. Answers 200 from the moment the server listens, also while the log connects.")
)

/** The whole API. */
export const Api = HttpApi.make("causeway")
  .add(MessagesGroup, ProjectionsGroup, OpsGroup, MempoolGroup, OperatorsGroup, ChainsGroup, ClusterGroup, InstanceGroup)
  .annotate(OpenApi.Title, "causeway")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(OpenApi.Description, "A causal log of signed messages.")
