/**
 * The CLI's client of a running server's HTTP API (src/adapters/http/Api.ts): submit an
 * envelope, read a record, read the log's end, follow the event stream, read the projections'
 * progress and a mempool message's status (once, or as its event stream). Transport failures
 * (refused, reset, timed out) become ServerUnreachable; answers the contract does not allow
 * become CommandFailed.
 */
import { readFileSync } from "node:fs"
import { Effect, Option, Schema, Stream } from "effect"
import * as Sse from "effect/encoding/Sse"
import { ProjectionStatus, Acknowledgment, RecordView } from "../adapters/http/Api.ts"
import { StatusView } from "../adapters/http/MempoolApi.ts"
import type { Envelope } from "../domain/Envelope.ts"
import { adminTokenPath } from "../adapters/files/ApiTokenFile.ts"
import { defaultServeConfig } from "../Config.ts"
import { CommandFailed, ServerUnreachable, UsageError, describe } from "./CliErrors.ts"

/** Default server address. */
export const DEFAULT_URL = "http://127.0.0.1:8080"

/** How long one request may take before the server counts as unreachable. */
const REQUEST_TIMEOUT_MS = 30_000

/** An accepted message's receipt. */
type Acknowledgment = typeof Acknowledgment.Type

/** The error body every 4xx/5xx carries. */
const ErrorBody = Schema.Struct({ _tag: Schema.String, reason: Schema.String })

const decodeReceipt = Schema.decodeUnknownOption(Acknowledgment)
const decodeRecord = Schema.decodeUnknownOption(RecordView)
const decodeErrorBody = Schema.decodeUnknownOption(ErrorBody)

/** A whole response. */
interface Reply {
  readonly status: number
  readonly text: string
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The server's base URL without a trailing slash, or a usage-level failure. */
export const baseUrl = (url: string): string => url.replace(/\/+$/, "")

/** --url as a base URL (no trailing slash), or a usage error when it is not an http(s) URL. */
export const serverBase = (url: string): Effect.Effect<string, UsageError> => {
  const base = baseUrl(url)
  return /^https?:\/\/[^/]/.test(base)
    ? Effect.succeed(base)
    : Effect.fail(new UsageError({ message: `--url must be an http(s) URL, got ${JSON.stringify(url)}` }))
}

/** A mempool message's view: an order's (`kind: "order"`) or a message's outcome (`kind: "message"`). */
export type MempoolView = typeof StatusView.Type

const unreachable = (url: string) => (cause: unknown) =>
  new ServerUnreachable({
    message: cause instanceof DOMException && cause.name === "TimeoutError"
      ? `no answer from ${url} within ${REQUEST_TIMEOUT_MS / 1000} s`
      : `cannot reach the server at ${url}: ${describe(cause)}`,
    cause
  })

/** The environment variable holding the API token the CLI sends. */
export const TOKEN_ENV = "CAUSEWAY_TOKEN"

/**
 * The API token the CLI sends (docs/security.md): CAUSEWAY_TOKEN, else the admin token of the
 * data directory (DATA_DIR, default ./data) when this user may read it; none otherwise.
 */
export const apiToken = (): string | undefined => {
  const fromEnv = process.env[TOKEN_ENV]?.trim()
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv
  try {
    const text = readFileSync(adminTokenPath(process.env["DATA_DIR"] ?? defaultServeConfig.dataDir), "utf8").trim()
    return text === "" ? undefined : text
  } catch {
    return undefined
  }
}

/** `init`'s headers with the API token's Authorization, when there is a token. */
const withToken = (init: RequestInit): RequestInit => {
  const token = apiToken()
  return token === undefined ? init : { ...init, headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${token}` } }
}

/** One request, read whole. */
const request = (url: string, init: RequestInit = {}): Effect.Effect<Reply, ServerUnreachable> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, { ...withToken(init), signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) })
      return { status: response.status, text: await response.text() }
    },
    catch: unreachable(url)
  })

/** "409 DuplicateMessage: message ... is already in the log", from an error answer. */
const explain = (reply: Reply): string =>
  Option.match(decodeErrorBody(parseJson(reply.text)), {
    onNone: () => `HTTP ${reply.status}${reply.text === "" ? "" : `: ${reply.text.slice(0, 300)}`}`,
    onSome: (body) =>
      `${reply.status} ${body._tag}: ${body.reason}${
        reply.status === 401 ? ` (the CLI sends ${TOKEN_ENV}, else the token in the data directory's api-token: set ${TOKEN_ENV} or DATA_DIR)` : ""
      }`
  })

const unexpected = (what: string, reply: Reply) => new CommandFailed({ message: `${what}: unexpected answer ${explain(reply)}` })

/** POST one envelope; its receipt, or CommandFailed carrying the server's reason. */
export const submit = (base: string, envelope: Envelope): Effect.Effect<Acknowledgment, CommandFailed | ServerUnreachable> =>
  Effect.gen(function*() {
    const reply = yield* request(`${base}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(envelope)
    })
    if (reply.status === 201) {
      return yield* Option.match(decodeReceipt(parseJson(reply.text)), {
        onNone: () => Effect.fail(unexpected("submit", reply)),
        onSome: Effect.succeed
      })
    }
    return yield* new CommandFailed({ message: `rejected (${explain(reply)})` })
  })

/** GET one record by id; none when the server has no such message. */
export const getRecord = (base: string, id: string): Effect.Effect<Option.Option<RecordView>, CommandFailed | ServerUnreachable> =>
  Effect.gen(function*() {
    const reply = yield* request(`${base}/v1/messages/${encodeURIComponent(id)}`)
    if (reply.status === 404) return Option.none()
    if (reply.status !== 200) return yield* unexpected(`reading message ${id}`, reply)
    return yield* Option.match(decodeRecord(parseJson(reply.text)), {
      onNone: () => Effect.fail(unexpected(`reading message ${id}`, reply)),
      onSome: (r) => Effect.succeed(Option.some(r))
    })
  })

/**
 * The offset the next record will get, from the `causeway_log_end_offset` gauge of /metrics:
 * the API has no other answer that tells the end of the log in offset order.
 */
export const endOffset = (base: string): Effect.Effect<number, CommandFailed | ServerUnreachable> =>
  Effect.gen(function*() {
    const reply = yield* request(`${base}/metrics`)
    const match = reply.status === 200 ? /^causeway_log_end_offset(?:\{[^}]*\})? (\d+)$/m.exec(reply.text) : null
    if (match === null) return yield* unexpected("reading the log's end from /metrics", reply)
    return Number(match[1])
  })

/**
 * The Server-Sent Events of `path`, for as long as the connection lasts. `onOpen` runs once the
 * server has answered 200; any other answer fails with CommandFailed (`notFound` as the message
 * of a 404, if given). The request timeout covers the connection only.
 */
const followSse = (
  base: string,
  path: string,
  what: string,
  options: { readonly onOpen?: () => void; readonly notFound?: string } = {}
): Stream.Stream<Sse.Event, CommandFailed | ServerUnreachable> => {
  const url = `${base}${path}`
  return Stream.unwrap(
    Effect.gen(function*() {
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (c) => Effect.sync(() => c.abort())
      )
      const response = yield* Effect.tryPromise({
        try: () => fetch(url, { ...withToken({ headers: { accept: "text/event-stream" } }), signal: controller.signal }),
        catch: unreachable(url)
      }).pipe(
        Effect.timeoutOrElse({
          duration: REQUEST_TIMEOUT_MS,
          orElse: () => Effect.fail(unreachable(url)(new DOMException("timed out", "TimeoutError")))
        })
      )
      if (response.status !== 200 || response.body === null) {
        const text = yield* Effect.promise(() => response.text().catch(() => ""))
        if (response.status === 404 && options.notFound !== undefined) return yield* new CommandFailed({ message: options.notFound })
        return yield* unexpected(`opening ${what}`, { status: response.status, text })
      }
      const body = response.body
      options.onOpen?.()
      return Stream.fromReadableStream({ evaluate: () => body, onError: unreachable(url) }).pipe(
        Stream.decodeText,
        Stream.pipeThroughChannel(Sse.decode()),
        Stream.mapError((e) => e._tag === "ServerUnreachable" ? e : new CommandFailed({ message: `${what} is malformed: ${describe(e)}` }))
      )
    })
  )
}

/** An `error` event's report, as a failure. */
const reported = (event: Sse.Event): CommandFailed =>
  new CommandFailed({
    message: `the server reported: ${Option.match(decodeErrorBody(parseJson(event.data)), { onNone: () => event.data, onSome: (b) => `${b._tag}: ${b.reason}` })}`
  })

/**
 * Records from offset `from` on, as the event stream serves them, for as long as the
 * connection lasts (the server never ends it but to shut down). `onOpen` runs once the
 * server has answered 200.
 */
export const stream = (base: string, from: number, onOpen: () => void = () => {}): Stream.Stream<RecordView, CommandFailed | ServerUnreachable> =>
  followSse(base, `/v1/stream?from=${from}`, "the event stream", { onOpen }).pipe(
    Stream.filter((event) => event.event === "record" || event.event === "error"),
    Stream.mapEffect((event) => {
      if (event.event === "error") return Effect.fail(reported(event))
      return Option.match(decodeRecord(parseJson(event.data)), {
        onNone: () => Effect.fail(new CommandFailed({ message: `the event stream sent a record that is not one: ${event.data.slice(0, 200)}` })),
        onSome: Effect.succeed
      })
    })
  )

const decodeView = Schema.decodeUnknownOption(StatusView)

/** What `status` and `watch` say of an id the mempool does not know. */
export const notInMempool = (id: string): string => `no such order/message in the mempool: ${id}`

/**
 * A mempool message's status as GET /v1/mempool/orders/{id}/events sends it: the view now,
 * then each change; the server ends the stream after a final status. CommandFailed with
 * `notInMempool` when the mempool does not know the id.
 */
export const orderEvents = (base: string, id: string): Stream.Stream<MempoolView, CommandFailed | ServerUnreachable> =>
  followSse(base, `/v1/mempool/orders/${encodeURIComponent(id)}/events`, `${id}'s status stream`, { notFound: notInMempool(id) }).pipe(
    Stream.filter((event) => event.event === "status" || event.event === "error"),
    Stream.mapEffect((event) => {
      if (event.event === "error") return Effect.fail(reported(event))
      return Option.match(decodeView(parseJson(event.data)), {
        onNone: () => Effect.fail(new CommandFailed({ message: `${id}'s status stream sent a status that is not one: ${event.data.slice(0, 200)}` })),
        onSome: Effect.succeed
      })
    })
  )

/** An answer decoded with `schema` when the status is `ok`; CommandFailed with the server's reason otherwise. */
const decodeAnswer = <A>(what: string, reply: Reply, ok: number, schema: Schema.ConstraintDecoder<A>): Effect.Effect<A, CommandFailed> =>
  reply.status === ok
    ? Option.match(Schema.decodeUnknownOption(schema)(parseJson(reply.text)), {
      onNone: () => Effect.fail(unexpected(what, reply)),
      onSome: (a) => Effect.succeed(a)
    })
    : Effect.fail(new CommandFailed({ message: `${what} failed (${explain(reply)})` }))

/** GET a JSON answer of `schema` (200), or CommandFailed with the server's reason. */
export const getJson = <A>(base: string, path: string, schema: Schema.ConstraintDecoder<A>, what: string): Effect.Effect<A, CommandFailed | ServerUnreachable> =>
  Effect.flatMap(request(`${base}${path}`), (reply) => decodeAnswer(what, reply, 200, schema))

/** POST a JSON body, a JSON answer of `schema` (`status`, default 200), or CommandFailed with the server's reason. */
export const postJson = <A>(
  base: string,
  path: string,
  body: unknown,
  schema: Schema.ConstraintDecoder<A>,
  what: string,
  status = 200
): Effect.Effect<A, CommandFailed | ServerUnreachable> =>
  Effect.flatMap(
    request(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    (reply) => decodeAnswer(what, reply, status, schema)
  )

/** DELETE, a JSON answer of `schema` (200), or CommandFailed with the server's reason. */
export const deleteJson = <A>(base: string, path: string, schema: Schema.ConstraintDecoder<A>, what: string): Effect.Effect<A, CommandFailed | ServerUnreachable> =>
  Effect.flatMap(request(`${base}${path}`, { method: "DELETE" }), (reply) => decodeAnswer(what, reply, 200, schema))

/** GET a JSON answer of `schema` (200), none on 404, or CommandFailed with the server's reason. */
export const getOptionalJson = <A>(base: string, path: string, schema: Schema.ConstraintDecoder<A>, what: string): Effect.Effect<Option.Option<A>, CommandFailed | ServerUnreachable> =>
  Effect.flatMap(request(`${base}${path}`), (reply) =>
    reply.status === 404 ? Effect.succeedNone : Effect.map(decodeAnswer(what, reply, 200, schema), Option.some))

/** A mempool message's view (GET /v1/mempool/orders/{id}); none while the mempool has not folded it, or never will. */
export const mempoolView = (base: string, id: string): Effect.Effect<Option.Option<MempoolView>, CommandFailed | ServerUnreachable> =>
  getOptionalJson(base, `/v1/mempool/orders/${encodeURIComponent(id)}`, StatusView, `reading ${id}'s mempool status`)

/** Has every projection of the server folded the record at `offset`? (GET /v1/projections: each one's offset is the next it will fold.) */
export const projectionsPast = (base: string, offset: number): Effect.Effect<boolean, CommandFailed | ServerUnreachable> =>
  Effect.map(
    getJson(base, "/v1/projections", Schema.Array(ProjectionStatus), "reading the projections' progress"),
    (list) => list.every((p) => p.offset > offset)
  )
