/**
 * The implementations of the edge's middlewares (EdgeApi.ts): inputs that do not decode
 * become 400 InvalidRequest, JSON bodies are checked for their content type and bounded in
 * size. NeedsLog and AnswersDefects only declare what is answered elsewhere (the Kafka
 * stand-in; HttpService's error bodies), so they pass the request through.
 */
import { ByteSize, Context, Effect, Layer, Option } from "effect"
import { HttpIncomingMessage, HttpServerError, HttpServerRequest } from "effect/http"
import { HttpApiMiddleware } from "effect/http-api"
import {
  AnswersDefects,
  BodyTooLarge,
  DecodesInput,
  InvalidRequest,
  JsonBodyLimit,
  ReadsJsonBody,
  NeedsLog,
  UnsupportedMediaType
} from "./EdgeApi.ts"

/** The media type without parameters, lowercased ("application/json; charset=utf-8" -> "application/json"). */
export const mediaType = (header: string | undefined): string => (header ?? "").split(";")[0]?.trim().toLowerCase() ?? ""

/** The 415 for a content type that is not JSON. */
export const unsupportedMediaType = (contentType: string): UnsupportedMediaType =>
  new UnsupportedMediaType({
    reason: contentType === "" ? "the body must be sent as content-type application/json" : `content-type ${JSON.stringify(contentType.slice(0, 100))} is not supported; send application/json`,
    contentType: contentType.slice(0, 100)
  })

/** The 413 for a body over `limit` bytes. */
export const bodyTooLarge = (limit: number): BodyTooLarge => new BodyTooLarge({ reason: `the request body exceeds ${limit} bytes`, limit })

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").slice(0, 500)

const inputKinds = new Set(["Params", "Query", "Headers", "Payload"])

const isBodyTooLarge = (defect: unknown): boolean =>
  HttpServerError.isHttpServerError(defect) && defect.reason._tag === "RequestParseError" && defect.reason.reason === "BodyTooLarge"

/** Limits the edge enforces. */
export interface EdgeOptions {
  /** Largest JSON body the schema-decoded endpoints read, in bytes (unless annotated with a JsonBodyLimit). */
  readonly maxJsonBodyBytes: number
  /** Largest body of the ordering check (JsonBodyLimit "ordering"), in bytes. */
  readonly maxOrderingBodyBytes: number
}

/** The edge's middlewares. */
export const layer = (options: EdgeOptions) =>
  Layer.mergeAll(
    // A response that fails to encode is a defect, not the client's input: only the request's parts become 400.
    HttpApiMiddleware.layerSchemaErrorTransform(DecodesInput, (e) =>
      inputKinds.has(e.kind)
        ? Effect.fail(new InvalidRequest({ reason: `${e.kind.toLowerCase()}: ${oneLine(e.cause.message)}` }))
        : Effect.fail(e)),
    Layer.succeed(ReadsJsonBody, (httpEffect, { endpoint }) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const contentType = request.headers["content-type"]
        // No content type is read as JSON, as the endpoints' decoder does.
        if (contentType !== undefined && mediaType(contentType) !== "application/json") {
          return yield* unsupportedMediaType(contentType)
        }
        const limit = Option.match(Context.getOption(endpoint.annotations, JsonBodyLimit), {
          onNone: () => options.maxJsonBodyBytes,
          onSome: () => options.maxOrderingBodyBytes
        })
        if (Number(request.headers["content-length"] ?? "0") > limit) return yield* bodyTooLarge(limit)
        // The decoder reads the body as a defect when it fails: the one for the limit is the client's, 413.
        return yield* httpEffect.pipe(
          Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(limit)),
          Effect.catchDefect((defect) => isBodyTooLarge(defect) ? Effect.fail(bodyTooLarge(limit)) : Effect.die(defect))
        )
      })),
    Layer.succeed(NeedsLog, (httpEffect) => httpEffect),
    Layer.succeed(AnswersDefects, (httpEffect) => httpEffect)
  )
