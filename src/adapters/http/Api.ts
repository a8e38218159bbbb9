/**
 * The HTTP contract of causeway: every endpoint, its inputs, its answers and its errors.
 * The handlers (Handlers.ts and the groups' handler files) implement it; the OpenAPI document
 * (/openapi.json, and `npm run lint:openapi`, which lints it) is generated from it, and clients
 * are generated from that document: what it does not say, a client cannot know.
 *
 * Every error body is JSON carrying `_tag` and a human-readable `reason`. Rejections of a
 * message are the domain's own classes (src/domain/Rejection.ts), each annotated with its
 * status; the errors only the HTTP edge raises are in EdgeApi.ts with the middlewares that
 * declare them.
 *
 * Documentation conventions: every endpoint (here and in the group files) declares
 * - an OpenApi.Summary (a short phrase) and an OpenApi.Description (what it answers, when to
 *   use it, its limits and defaults);
 * - an OpenApi.Identifier: the operationId, a camelCase verb phrase unique in the API
 *   (`listChains`, `getMessage`), which generated clients name their methods after;
 * - every status it can answer, as error classes annotated with `httpApiStatus`, never as
 *   hand-written JSON: its handler's own errors in `error`, and the edge's by middleware
 *   (EdgeApi.ts): DecodesInput (400) if it has path parameters, a query, headers or a
 *   schema-decoded body; ReadsJsonBody (413, 415) if it has a JSON body; NeedsLog (503)
 *   unless it answers before the log is reached (only /healthz, /readyz and /v1/cluster do);
 *   AnswersDefects (500) is put on the whole API below;
 * - numbers as Schema.Finite or integers (Schema.Number admits NaN and ±Infinity as strings,
 *   which a generated client then has to handle), and an `identifier` on every named shape.
 * Every group is annotated with a description (its tag's). test/http/openapi.test.ts and the
 * Redocly lint (redocly.yaml) check these; test/http/openapiClient.test.ts drives a client
 * generated from the document.
 */
import { Schema, SchemaTransformation } from "effect"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { IngestBusy } from "../../domain/IngestBusy.ts"
import { MessageId } from "../../domain/Primitives.ts"
import { Rejection } from "../../domain/Rejection.ts"
import { TypedEnvelope } from "../../domain/TypedEnvelope.ts"
import { AssetsGroup } from "./AssetsApi.ts"
import { MetricsGroup } from "./MetricsApi.ts"
import { ChainsGroup } from "./ChainsApi.ts"
import { EffectsGroup } from "./EffectsApi.ts"
import { ProofsGroup } from "./ProofsApi.ts"
import { AnswersDefects, BodyTooLarge, DecodesInput, NeedsLog, StorageUnavailable, Unauthorized, UnsupportedMediaType, OpensStream } from "./EdgeApi.ts"
import { InstanceGroup } from "./InstanceApi.ts"
import { MempoolGroup, orderingRequestDocument } from "./MempoolApi.ts"
import { discriminate } from "./OpenApiDiscriminators.ts"
import { OperatorsGroup } from "./OperatorsApi.ts"
import { RegistersGroup } from "./RegistersApi.ts"
import { SequencesGroup } from "./SequencesApi.ts"
import { SendersGroup } from "./SendersApi.ts"

// ---------------------------------------------------------------------------------------
// Errors of the messages and ops groups (the edge's are in EdgeApi.ts)
// ---------------------------------------------------------------------------------------

/** A batch holds more messages than one submission may. */
export class BatchTooLarge extends Schema.TaggedError<BatchTooLarge>()("BatchTooLarge", {
  reason: Schema.String,
  size: Schema.Finite,
  limit: Schema.Finite
}, { httpApiStatus: 413 }) {}

/** No message with that id is in the log. */
export class MessageNotFound extends Schema.TaggedError<MessageNotFound>()("MessageNotFound", {
  reason: Schema.String,
  id: Schema.String
}, { httpApiStatus: 404 }) {}

/** Not ready to serve: the log cannot take appends, the projections are still folding it, or this instance must not decide (the reason says which). */
export class NotReady extends Schema.TaggedError<NotReady>()("NotReady", {
  ready: Schema.Literal(false),
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

/** Every rejection of a submitted message, with its status (the domain's list, not a copy). */
export const RejectionErrors = Rejection.members

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

/** A non-negative decimal integer as text: digits only, no sign, exponent or leading zeros. */
const DecimalInt = Schema.String.check(Schema.isPattern(/^(?:0|[1-9][0-9]{0,14})$/u)).pipe(
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
export const Acknowledgment = Schema.Struct({
  id: Schema.String.annotate({ description: "the message id: SHA-256 of the canonical envelope without its signature, lowercase hex" }),
  offset: Schema.Finite.annotate({ description: "the record's position in the log" }),
  lamport: Schema.Finite.annotate({ description: "the message's Lamport time" })
}).annotate({ identifier: "Acknowledgment" })

const recordFields = {
  offset: Schema.Finite.annotate({ description: "position in the log, from 0" }),
  id: Schema.String.annotate({ description: "the message id" }),
  lamport: Schema.Finite,
  type: Schema.String.annotate({ description: "the message type (the envelope's)" }),
  sender: Schema.String.annotate({ description: "the sender's public key (the envelope's)" }),
  nonce: Schema.Finite,
  deps: Schema.Array(Schema.String).annotate({ description: "the ids the message depends on (the envelope's)" })
}

/**
 * A log record with the envelope as sent, whatever its type: what a reader that must take
 * records of types it does not know decodes (the CLI's client). The endpoints document the
 * typed LogRecord below and serve the same JSON.
 */
export const RecordView = Schema.Struct({
  ...recordFields,
  envelope: Schema.Unknown.annotate({ description: "the signed envelope (see Envelope)" })
}).annotate({ identifier: "AnyLogRecord" })
export type RecordView = typeof RecordView.Type

/**
 * A log record as served: its header fields and the signed envelope, its payload typed by
 * its type. Documentation for clients: the handlers serve the stored envelope's JSON as it
 * is, never re-encoded by this schema (a schema would drop or reorder what it does not
 * know, and the signature would no longer verify).
 */
export const LogRecord = Schema.Struct({ ...recordFields, envelope: TypedEnvelope }).annotate({
  identifier: "LogRecord",
  description: "A record of the causal log: where the message landed and the signed envelope exactly as admitted."
})

/** The outcome of one message of a batch: its receipt, or the status and body it would have got alone. */
export const BatchItem = Schema.Union([
  Schema.Struct({ ok: Schema.Literal(true), receipt: Acknowledgment }).annotate({ identifier: "BatchAccepted" }),
  Schema.Struct({
    ok: Schema.Literal(false),
    status: Schema.Finite.annotate({ description: "the HTTP status this message alone would have been answered with" }),
    error: Schema.Union([...RejectionErrors, IngestBusy, StorageUnavailable])
  }).annotate({ identifier: "BatchRefused" })
], { mode: "oneOf" }).annotate({ identifier: "BatchItem" })
export type BatchItem = typeof BatchItem.Type

/** One outcome per message of a batch, in order. */
export const BatchResults = Schema.Struct({ results: Schema.Array(BatchItem) }).annotate({
  identifier: "BatchResults"
})

/** A projection's position and digest. */
export const ProjectionStatus = Schema.Struct({
  name: Schema.String,
  version: Schema.Finite.annotate({ description: "bumped when the projection's fold changes (it then rebuilds from the log)" }),
  offset: Schema.Finite.annotate({ description: "log records folded so far" }),
  digest: Schema.String.annotate({ description: "SHA-256 of the state's canonical encoding: equal digests at equal offsets mean equal states" })
}).annotate({ identifier: "ProjectionStatus" })

/** The log index state (counts by type and sender) and the offset it covers. */
export const LogIndexView = Schema.Struct({
  name: Schema.String,
  version: Schema.Finite,
  offset: Schema.Finite,
  state: Schema.Struct({
    total: Schema.Finite,
    byType: Schema.Record(Schema.String, Schema.Finite).annotate({ description: "records by message type" }),
    bySender: Schema.Record(Schema.String, Schema.Struct({ count: Schema.Finite, latestLamport: Schema.Finite })).annotate({
      description: "records by sender public key, with the sender's latest Lamport time: one page of senders in key order (see senders and nextSender)"
    }),
    senders: Schema.Finite.annotate({ description: "how many senders the log holds in all" }),
    nextSender: Schema.NullOr(Schema.String).annotate({ description: "the last sender of this page when more follow: ask again with afterSender set to it; null on the last page" })
  })
}).annotate({ identifier: "LogIndex" })

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

const submit = HttpApiEndpoint.post("submit", "/v1/messages", {
  // Documentation only: the handler reads the body itself (handleRaw), and admission decodes
  // the shell, then the payload by its type (src/domain/Admission.ts), refusing extra fields.
  payload: Schema.Union([TypedEnvelope, Schema.Array(TypedEnvelope).annotate({ identifier: "EnvelopeBatch" })], { mode: "oneOf" }).annotate({
    description: "one signed envelope, or an array of them (a batch, at most maxBatch: 1,024 by default)"
  }),
  success: [Acknowledgment.pipe(HttpApiSchema.status(201)), BatchResults],
  error: [...RejectionErrors, BodyTooLarge, BatchTooLarge, UnsupportedMediaType, Unauthorized, IngestBusy, StorageUnavailable]
})
  .annotate(OpenApi.Identifier, "submitMessages")
  .annotate(OpenApi.Summary, "Submit a signed message, or a batch")
  .annotate(
    OpenApi.Description,
    "Admit one signed envelope (201 with its receipt, or the rejection's status and body) or a batch: a JSON array of envelopes, answered 200 with one result per envelope in order, each its receipt or the status and body it would have got alone. The body must be sent as application/json, at most 8 MiB by default; an envelope's canonical JSON at most 64 KiB. A message whose dependencies are not in the log yet is held until they arrive (up to 5 s by default, then 424). Nothing is appended for a rejected message.\n\nAdmission budgets: every message counts against its client before its signature is checked, then against its sender. A client is its TCP address (an IPv4 address, an IPv6 /64), whose anonymous callers share 1,000 messages/s with a burst of 2,000 by default, or an API token sent as `Authorization: Bearer` that carries its own budget (a relayer); a token without a budget counts against its address, and an unknown one is answered 401 Unauthorized (no token is needed: a signed message authenticates itself). Over a client's or a sender's budget: 429 RateLimited with `retryAfterMs` and a `Retry-After` header (seconds); in a batch, the messages beyond the client's budget are refused so, and a batch refused whole is answered 429. When the instance's ingest queue is full (16,384 messages by default): 503 IngestBusy with `retryAfterMs` and `Retry-After`, the message unchecked and nothing appended; in a batch, the messages beyond the room left are refused so, and a batch refused whole is answered 503."
  )

const getMessage = HttpApiEndpoint.get("getMessage", "/v1/messages/:id", {
  params: { id: MessageId.annotate({ description: "a message id: 64 lowercase hex digits" }) },
  success: LogRecord,
  error: [MessageNotFound, StorageUnavailable]
})
  .middleware(DecodesInput)
  .annotate(OpenApi.Identifier, "getMessage")
  .annotate(OpenApi.Summary, "Read a message by id")
  .annotate(OpenApi.Description, "The log record of a message by its id: where it landed and the signed envelope exactly as admitted (verify it against the sender's key; its id is the SHA-256 of its canonical JSON without `sig`).")

const listMessages = HttpApiEndpoint.get("listMessages", "/v1/messages", {
  query: {
    fromLamport: Schema.optionalKey(DecimalInt.annotate({ description: "the Lamport time to start at (default 0)" })),
    limit: Schema.optionalKey(PageLimit.annotate({ description: `most records returned (default ${DEFAULT_PAGE}, at most ${MAX_PAGE})` }))
  },
  success: Schema.Array(LogRecord),
  error: [StorageUnavailable]
})
  .middleware(DecodesInput)
  .annotate(OpenApi.Identifier, "listMessages")
  .annotate(OpenApi.Summary, "List messages in causal order")
  .annotate(
    OpenApi.Description,
    `Log records in causal order (Lamport time, then id) from Lamport time fromLamport (default 0); limit defaults to ${DEFAULT_PAGE}, at most ${MAX_PAGE}. Page on by asking again from the last record's Lamport time (records at that time come again: skip the ids already seen). For new records as they land, use GET /v1/stream.`
  )

const dependents = HttpApiEndpoint.get("dependents", "/v1/messages/:id/dependents", {
  params: { id: MessageId.annotate({ description: "a message id: 64 lowercase hex digits" }) },
  query: {
    from: Schema.optionalKey(DecimalInt.annotate({ description: "the log offset to start at (default 0)" })),
    limit: Schema.optionalKey(PageLimit.annotate({ description: `most records returned (default ${DEFAULT_PAGE}, at most ${MAX_PAGE})` }))
  },
  success: Schema.Array(LogRecord),
  error: [StorageUnavailable]
})
  .middleware(DecodesInput)
  .annotate(OpenApi.Identifier, "listDependents")
  .annotate(OpenApi.Summary, "List the messages that depend on one")
  .annotate(OpenApi.Description, `Log records that name this message among their dependencies (\`deps\`), in log order from offset \`from\` (default 0); limit defaults to ${DEFAULT_PAGE}, at most ${MAX_PAGE}: page on from the last record's offset + 1. Empty when none does (or the message is not in the log).`)

const stream = HttpApiEndpoint.get("stream", "/v1/stream", {
  query: { from: Schema.optionalKey(DecimalInt.annotate({ description: "the log offset to start at (default: the end of the log, new records only)" })) },
  headers: { "last-event-id": Schema.optionalKey(DecimalInt.annotate({ description: "the offset of the last record received: the stream resumes after it (wins over from)" })) },
  success: HttpApiSchema.StreamSse({ data: LogRecord }),
  error: [StorageUnavailable]
})
  .middleware(DecodesInput)
  .middleware(OpensStream)
  .annotate(OpenApi.Identifier, "streamMessages")
  .annotate(OpenApi.Summary, "Follow the log as Server-Sent Events")
  .annotate(
    OpenApi.Description,
    "Server-Sent Events of log records in log order: `id: <offset>`, `event: record`, `data: <LogRecord JSON>`. Last-Event-ID N resumes at N+1 (an EventSource sends it when it reconnects), ?from=N starts at N, otherwise new records only. A comment every 15 s keeps the connection alive; if the storage fails, an `error` event with a StorageUnavailable body ends the stream (reconnect with Last-Event-ID). The stream ends when the server shuts down."
  )

/** Submitting and reading messages. */
export const MessagesGroup = HttpApiGroup.make("messages")
  .add(submit, getMessage, listMessages, dependents, stream)
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "Submit signed messages to the causal log and read them back: by id, in causal order, by dependency, or as a live stream.")

/** Projection positions and states. */
export const ProjectionsGroup = HttpApiGroup.make("projections")
  .add(
    HttpApiEndpoint.get("list", "/v1/projections", { success: Schema.Array(ProjectionStatus) })
      .annotate(OpenApi.Identifier, "listProjections")
      .annotate(OpenApi.Summary, "List the projections and their positions")
      .annotate(OpenApi.Description, "Every projection (the views folded from the log: log index, mempool, operators, chain state, cluster) with its version, the log offset it has folded up to, and the digest of its state. Two instances at the same offset with the same digest hold the same state."),
    HttpApiEndpoint.get("logIndex", "/v1/projections/log-index", {
      query: {
        afterSender: Schema.optionalKey(Schema.String.check(Schema.isPattern(/^[0-9a-f]{1,132}$/u)).annotate({ description: "the page starts after this sender key (lowercase hex)" })),
        limit: Schema.optionalKey(PageLimit.annotate({ description: `most senders returned (default ${DEFAULT_PAGE}, at most ${MAX_PAGE})` }))
      },
      success: LogIndexView
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "getLogIndex")
      .annotate(OpenApi.Summary, "Count the log's records by type and sender")
      .annotate(OpenApi.Description, "The log index projection's state: how many records the log holds in all, by message type and by sender (with each sender's latest Lamport time), and the offset it covers. Senders come in pages in key order (afterSender, limit: default 100, at most 1,000); senders tells how many there are.")
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "The projections folded from the log: their positions, digests and the log index.")

/** Health, readiness and metrics. */
export const OpsGroup = HttpApiGroup.make("ops")
  .add(
    HttpApiEndpoint.get("healthz", "/healthz", { success: Schema.Struct({ status: Schema.Literal("ok") }).annotate({ identifier: "Health" }) })
      .annotate(OpenApi.Identifier, "getHealth")
      .annotate(OpenApi.Summary, "Liveness probe")
      .annotate(OpenApi.Description, "200 whenever the process serves HTTP, also while a Kafka log is still connecting: use it as a liveness probe. It says nothing about whether the service can take messages; see /readyz."),
    HttpApiEndpoint.get("readyz", "/readyz", {
      success: Schema.Struct({ ready: Schema.Literal(true) }).annotate({ identifier: "Ready" }),
      error: [NotReady, StorageUnavailable]
    })
      .annotate(OpenApi.Identifier, "getReadiness")
      .annotate(OpenApi.Summary, "Readiness probe")
      .annotate(OpenApi.Description, "200 when the instance can serve: its log takes appends, its projections have folded the whole log, and (in a cluster) it is a member. Otherwise 503 NotReady with the reason, or StorageUnavailable when the log's storage failed. Use it as a readiness probe and before relying on reads being current."),
    HttpApiEndpoint.get("metrics", "/metrics", {
      success: Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/plain; version=0.0.4" })).annotate({ description: "Prometheus text exposition format 0.0.4" })
    })
      .middleware(NeedsLog)
      .annotate(OpenApi.Identifier, "getMetrics")
      .annotate(OpenApi.Summary, "Prometheus metrics")
      .annotate(OpenApi.Description, "Every metric in Prometheus text exposition (requests, latencies, ingest outcomes, log and projection offsets, open streams, the event loop's largest and 99th-percentile delay since the previous scrape, …), for a Prometheus scraper. Each scrape starts a new event-loop delay window.")
  )
  .annotate(OpenApi.Description, "Liveness, readiness and metrics, for orchestrators and monitoring.")

/** A leader change: from log offset `from` on, `leader` (null: none) led in `term`. */
export const LeaderSpanView = Schema.Struct({ term: Schema.Finite, leader: Schema.NullOr(Schema.String), from: Schema.Finite }).annotate({ identifier: "LeaderSpan" })

/** The deployment's authority as this instance has folded it. */
export const ClusterViewSchema = Schema.Struct({
  instance: Schema.String.annotate({ description: "this instance's ed25519 public key (hex): receipts it serves are signed by it" }),
  mode: Schema.Literals(["single", "cluster"]).annotate({ description: "single: this instance decides alone; cluster: the admin's members elect a leader" }),
  admin: Schema.NullOr(Schema.String).annotate({ description: "the cluster admin's public key (serve --cluster-admin)" }),
  members: Schema.Array(Schema.String).annotate({ description: "the authorized members' public keys (the admin's latest ClusterMembersSet)" }),
  leader: Schema.NullOr(Schema.String).annotate({ description: "the current term's leader, null before the first claim or after a set that dropped it" }),
  term: Schema.Finite,
  termAt: Schema.NullOr(Schema.Finite).annotate({ description: "the log offset of the current term's claim" }),
  membersAt: Schema.NullOr(Schema.Finite).annotate({ description: "the log offset of the members set in force" }),
  isMember: Schema.Boolean,
  isLeader: Schema.Boolean,
  history: Schema.Array(LeaderSpanView),
  chains: Schema.Array(Schema.String).annotate({ description: "the chains the cluster observes (the leader's latest assignment)" }),
  owners: Schema.Array(Schema.Struct({ chain: Schema.String, owner: Schema.String })).annotate({
    description: "who observes each chain, by rendezvous hashing over the live members; a chain not listed is observed by nobody until the leader assigns it"
  }),
  ownersAt: Schema.NullOr(Schema.Finite).annotate({ description: "the log offset of the assignment in force" }),
  offset: Schema.Finite.annotate({ description: "the log offset this view is folded up to" })
}).annotate({ identifier: "ClusterView" })

/** The cluster: members, leader, terms. */
export const ClusterGroup = HttpApiGroup.make("cluster")
  .add(
    HttpApiEndpoint.get("cluster", "/v1/cluster", { success: ClusterViewSchema })
      .annotate(OpenApi.Identifier, "getCluster")
      .annotate(OpenApi.Summary, "The deployment's members, leader and term")
      .annotate(OpenApi.Description, "Who decides in this deployment as this instance has folded the log: the instance alone, or the cluster admin's members and their elected leader. Answers 200 from the moment the server listens, also while the log connects.")
  )
  .annotate(OpenApi.Description, "Who decides in this deployment: the instance alone, or a cluster's members and their leader.")

/** The default port of `causeway serve` (src/Config.ts; test/http/openapi.test.ts keeps them equal). */
const DEFAULT_PORT = "8080"

/** The whole API. */
export const Api = HttpApi.make("causeway")
  .add(MessagesGroup, ProjectionsGroup, OpsGroup, MempoolGroup, OperatorsGroup, ChainsGroup, EffectsGroup, ClusterGroup, InstanceGroup)
  .add(AssetsGroup, MetricsGroup, ProofsGroup)
  .add(RegistersGroup, SequencesGroup, SendersGroup)
  .middleware(AnswersDefects)
  .annotate(OpenApi.Title, "causeway")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    [
      "A causal log of signed messages, with the mempool, operators, chain and cluster views folded from it.",
      "",
      "Clients submit signed envelopes (`POST /v1/messages`); each names its type, and its payload has that type's schema (see `Envelope`). Everything else is read from the log and the projections folded from it.",
      "",
      "Every error is answered as JSON with `_tag` (the error's name) and a human-readable `reason`; each operation lists the statuses it can answer. Besides those, any request may be answered, before it reaches an operation: 404 `RouteNotFound` (no operation at that method and path), 400 `InvalidRequest` (not valid HTTP, or a path that is not valid percent-encoded UTF-8), 408 (request timeout), 417 `ExpectationFailed` (an `Expect` header other than `100-continue`) or 431 (headers too large)."
    ].join("\n")
  )
  // Tagged unions for client generators (see OpenApiDiscriminators.ts).
  .annotate(OpenApi.Transform, (spec) => orderingRequestDocument(discriminate({ Envelope: "type", MempoolStatus: "kind" })(spec)))
  .annotate(OpenApi.Servers, [{
    url: "http://{host}:{port}",
    description: "A causeway server (`causeway serve`). It listens on 127.0.0.1:8080 unless --host/--port (or HOST/PORT) say otherwise.",
    variables: {
      host: { default: "127.0.0.1", description: "the address the server listens on (--host, HOST)" },
      port: { default: DEFAULT_PORT, description: "the port the server listens on (--port, PORT); 8080 by default" }
    }
  }])
