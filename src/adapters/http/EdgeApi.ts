/**
 * What the HTTP edge answers around the endpoints' handlers, as part of the contract: its
 * errors, and the middlewares that declare them on exactly the endpoints that can answer
 * them, so the OpenAPI document lists every status a client can meet (Api.ts says which
 * endpoint takes which). Their implementations are in Edge.ts; HttpService.ts answers the
 * same bodies for requests that reach no endpoint.
 *
 * Every error body is JSON carrying `_tag` and a human-readable `reason`.
 */
import { Context, Schema } from "effect"
import { HttpApiMiddleware, HttpApiSecurity, OpenApi } from "effect/http-api"

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** A path parameter, query parameter, header or body is not of the documented shape. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  reason: Schema.String
}, { httpApiStatus: 400 }) {}

/** The request body is larger than the server reads. */
export class BodyTooLarge extends Schema.TaggedError<BodyTooLarge>()("BodyTooLarge", {
  reason: Schema.String,
  limit: Schema.Finite.annotate({ description: "the largest body read, in bytes" })
}, { httpApiStatus: 413 }) {}

/** The body is not sent as `application/json`. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  reason: Schema.String,
  contentType: Schema.String.annotate({ description: "the content type sent (at most 100 characters)" })
}, { httpApiStatus: 415 }) {}

/** No endpoint answers at that method and path. */
export class RouteNotFound extends Schema.TaggedError<RouteNotFound>()("RouteNotFound", {
  reason: Schema.String
}, { httpApiStatus: 404 }) {}

/** The storage behind the log failed or cannot be reached yet; retrying later may succeed. Never the client's fault. */
export class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

/** No bearer token, or one this server does not know (docs/security.md). */
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  reason: Schema.String
}, { httpApiStatus: 401 }) {}

/** A known token without the scope the operation needs. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  reason: Schema.String,
  scope: Schema.String.annotate({ description: "the scope the operation needs" })
}, { httpApiStatus: 403 }) {}

/** This client (its address) holds as many open event streams as it may. */
export class TooManyStreams extends Schema.TaggedError<TooManyStreams>()("TooManyStreams", {
  reason: Schema.String,
  limit: Schema.Finite.annotate({ description: "the most open streams per client address" })
}, { httpApiStatus: 429 }) {}

/** The server holds as many open event streams as it serves; retry later. */
export class StreamsFull extends Schema.TaggedError<StreamsFull>()("StreamsFull", {
  reason: Schema.String,
  limit: Schema.Finite.annotate({ description: "the most open streams the server holds" })
}, { httpApiStatus: 503 }) {}

/** A defect in the server: a bug, never the client's input. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  reason: Schema.String
}, { httpApiStatus: 500 }) {}

// ---------------------------------------------------------------------------------------
// Middlewares: each declares the errors the edge answers for the endpoints it is put on
// ---------------------------------------------------------------------------------------

/**
 * The endpoint decodes path parameters, query parameters, headers or a body by its schemas:
 * one that does not fit is answered 400 InvalidRequest.
 */
export class DecodesInput extends HttpApiMiddleware.Service<DecodesInput>()("causeway/http/DecodesInput", {
  error: InvalidRequest
}) {}

/**
 * The endpoint reads a JSON body: a body sent as another content type is answered 415
 * UnsupportedMediaType, one over the limit 413 BodyTooLarge. The limit is the server's
 * (1 MiB by default) unless the endpoint is annotated with a JsonBodyLimit naming another of
 * the server's limits (the ordering check's: 8 MiB by default).
 */
export class ReadsJsonBody extends HttpApiMiddleware.Service<ReadsJsonBody>()("causeway/http/ReadsJsonBody", {
  error: [BodyTooLarge, UnsupportedMediaType]
}) {}

/** An endpoint's own JSON body limit, by name (an annotation ReadsJsonBody looks up in the server's limits). */
export class JsonBodyLimit extends Context.Service<JsonBodyLimit, "ordering">()("causeway/http/JsonBodyLimit") {}

/**
 * The endpoint opens a Server-Sent Events stream: one slot of the server's (503 StreamsFull
 * beyond) and of the client address's (429 TooManyStreams beyond), held while it is open.
 */
export class OpensStream extends HttpApiMiddleware.Service<OpensStream>()("causeway/http/OpensStream", {
  error: [TooManyStreams, StreamsFull]
}) {}

/**
 * The endpoint is served once the log can be reached: until then it is answered 503
 * StorageUnavailable (with a Kafka log, the stand-in that listens while the log connects
 * answers so for every endpoint but /healthz, /readyz and /v1/cluster).
 */
export class NeedsLog extends HttpApiMiddleware.Service<NeedsLog>()("causeway/http/NeedsLog", {
  error: StorageUnavailable
}) {}

/** Every endpoint: a defect is answered 500 InternalError (and logged). */
export class AnswersDefects extends HttpApiMiddleware.Service<AnswersDefects>()("causeway/http/AnswersDefects", {
  error: InternalError
}) {}

// Security: each operation that changes state or costs the instance work (other than
// submitting a signed message, which authenticates itself) needs a bearer token with a scope.

/**
 * Who called an operation with a scope: the name of the API token its middleware identified
 * (what a watch records as its owner). Provided to the handlers by the scope middlewares.
 */
export class Caller extends Context.Service<Caller, { readonly token: string }>()("causeway/http/Caller") {}

const bearer = { bearer: HttpApiSecurity.bearer.pipe(HttpApiSecurity.annotate(OpenApi.Description, "an API token (`causeway token create`; by default DATA_DIR/api-token, scope admin)")) }

/** The operation needs a token with scope `chains` (or `admin`): chain proofs, watches and transactions. */
export class NeedsChainsScope extends HttpApiMiddleware.Service<NeedsChainsScope, { provides: Caller }>()("causeway/http/NeedsChainsScope", {
  security: bearer,
  error: [Unauthorized, Forbidden]
}) {}

/** The operation needs a token with scope `effects` (or `admin`): effect watches. */
export class NeedsEffectsScope extends HttpApiMiddleware.Service<NeedsEffectsScope, { provides: Caller }>()("causeway/http/NeedsEffectsScope", {
  security: bearer,
  error: [Unauthorized, Forbidden]
}) {}

/** The operation needs a token with scope `assets` (or `admin`): asset mappings. */
export class NeedsAssetsScope extends HttpApiMiddleware.Service<NeedsAssetsScope, { provides: Caller }>()("causeway/http/NeedsAssetsScope", {
  security: bearer,
  error: [Unauthorized, Forbidden]
}) {}

/** The operation needs a token with scope `proofs` (or `admin`): checking a proof on request. */
export class NeedsProofsScope extends HttpApiMiddleware.Service<NeedsProofsScope, { provides: Caller }>()("causeway/http/NeedsProofsScope", {
  security: bearer,
  error: [Unauthorized, Forbidden]
}) {}

/** The operation needs a token with scope `admin`: the operator registry. */
export class NeedsAdminScope extends HttpApiMiddleware.Service<NeedsAdminScope, { provides: Caller }>()("causeway/http/NeedsAdminScope", {
  security: bearer,
  error: [Unauthorized, Forbidden]
}) {}
