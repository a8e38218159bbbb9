/**
 * The CLI's client of a running server's HTTP API (src/adapters/http/Api.ts): submit an
 * envelope, read a record, read the log's end, follow the event stream. Transport failures
 * (refused, reset, timed out) become ServerUnreachable; answers the contract does not allow
 * become CommandFailed.
 */
import { Effect, Option, Schema, Stream } from "effect"
import * as Sse from "effect/encoding/Sse"
import { Receipt, RecordView } from "../adapters/http/Api.ts"
import type { Envelope } from "../domain/Envelope.ts"
import { CommandFailed, ServerUnreachable, describe } from "./CliErrors.ts"

/** Default server address. */
export const DEFAULT_URL = "http://127.0.0.1:8080"

/** How long one request may take before the server counts as unreachable. */
const REQUEST_TIMEOUT_MS = 30_000

/** An accepted message's receipt. */
type Receipt = typeof Receipt.Type

/** The error body every 4xx/5xx carries. */
const ErrorBody = Schema.Struct({ _tag: Schema.String, reason: Schema.String })

const decodeReceipt = Schema.decodeUnknownOption(Receipt)
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

const unreachable = (url: string) => (cause: unknown) =>
  new ServerUnreachable({
    message: cause instanceof DOMException && cause.name === "TimeoutError"
      ? `no answer from ${url} within ${REQUEST_TIMEOUT_MS / 1000} s`
      : `cannot reach the server at ${url}: ${describe(cause)}`,
    cause
  })

/** One request, read whole. */
const request = (url: string, init: RequestInit = {}): Effect.Effect<Reply, ServerUnreachable> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, { ...init, signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]) })
      return { status: response.status, text: await response.text() }
    },
    catch: unreachable(url)
  })

/** "409 DuplicateMessage: message ... is already in the log", from an error answer. */
const explain = (reply: Reply): string =>
  Option.match(decodeErrorBody(parseJson(reply.text)), {
    onNone: () => `HTTP ${reply.status}${reply.text === "" ? "" : `: ${reply.text.slice(0, 300)}`}`,
    onSome: (body) => `${reply.status} ${body._tag}: ${body.reason}`
  })

const unexpected = (what: string, reply: Reply) => new CommandFailed({ message: `${what}: unexpected answer ${explain(reply)}` })

/** POST one envelope; its receipt, or CommandFailed carrying the server's reason. */
export const submit = (base: string, envelope: Envelope): Effect.Effect<Receipt, CommandFailed | ServerUnreachable> =>
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
 * Records from offset `from` on, as the event stream serves them, for as long as the
 * connection lasts (the server never ends it but to shut down). `onOpen` runs once the
 * server has answered 200.
 */
export const stream = (base: string, from: number, onOpen: () => void = () => {}): Stream.Stream<RecordView, CommandFailed | ServerUnreachable> => {
  const url = `${base}/v1/stream?from=${from}`
  return Stream.unwrap(
    Effect.gen(function*() {
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (c) => Effect.sync(() => c.abort())
      )
      // The timeout covers the connection only: the body then streams for as long as it lasts.
      const response = yield* Effect.tryPromise({
        try: () => fetch(url, { headers: { accept: "text/event-stream" }, signal: controller.signal }),
        catch: unreachable(url)
      }).pipe(
        Effect.timeoutOrElse({
          duration: REQUEST_TIMEOUT_MS,
          orElse: () => Effect.fail(unreachable(url)(new DOMException("timed out", "TimeoutError")))
        })
      )
      if (response.status !== 200 || response.body === null) {
        const text = yield* Effect.promise(() => response.text().catch(() => ""))
        return yield* unexpected("opening the event stream", { status: response.status, text })
      }
      const body = response.body
      onOpen()
      return Stream.fromReadableStream({ evaluate: () => body, onError: unreachable(url) }).pipe(
        Stream.decodeText,
        Stream.pipeThroughChannel(Sse.decode()),
        Stream.mapError((e) => e._tag === "ServerUnreachable" ? e : new CommandFailed({ message: `the event stream is malformed: ${describe(e)}` })),
        Stream.filter((event) => event.event === "record" || event.event === "error"),
        Stream.mapEffect((event) => {
          if (event.event === "error") {
            return Effect.fail(new CommandFailed({ message: `the server reported: ${Option.match(decodeErrorBody(parseJson(event.data)), { onNone: () => event.data, onSome: (b) => `${b._tag}: ${b.reason}` })}` }))
          }
          return Option.match(decodeRecord(parseJson(event.data)), {
            onNone: () => Effect.fail(new CommandFailed({ message: `the event stream sent a record that is not one: ${event.data.slice(0, 200)}` })),
            onSome: Effect.succeed
          })
        })
      )
    })
  )
}

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

/** POST a JSON body, a JSON answer of `schema` (200), or CommandFailed with the server's reason. */
export const postJson = <A>(base: string, path: string, body: unknown, schema: Schema.ConstraintDecoder<A>, what: string): Effect.Effect<A, CommandFailed | ServerUnreachable> =>
  Effect.flatMap(
    request(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    (reply) => decodeAnswer(what, reply, 200, schema)
  )
