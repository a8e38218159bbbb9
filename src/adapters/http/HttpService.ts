/**
 * The HTTP server: the contract's handlers, the OpenAPI document (/openapi.json) and its
 * offline reference page (/docs), served over node:http.
 *
 * Around every request: a JSON error body with a `reason` for anything the handlers did not
 * answer themselves (undecodable parameters, unknown routes, defects), one structured log
 * line and the request metrics.
 *
 * Shutdown (the scope closing, e.g. on SIGTERM through NodeRuntime.runMain): event streams
 * are told to end first, then the server stops accepting connections and waits for
 * in-flight requests; only then are the layers below (ingest, projections, log) released.
 */
import { type IncomingMessage, STATUS_CODES, type Server, type ServerResponse, createServer } from "node:http"
import type { Socket } from "node:net"
import type { Duplex } from "node:stream"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Clock, Deferred, Effect, Exit, Layer, Logger, type LogLevel, Metric, References } from "effect"
import { constTrue } from "effect/Function"
import * as Scheduler from "effect/Scheduler"
import {
  HttpMiddleware,
  HttpRouter,
  HttpServer,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "effect/http"
import { HttpApiBuilder, HttpApiError, HttpApiScalar } from "effect/http-api"
import * as ClientBudgets from "../../services/ClientBudgets.ts"
import { TurnBudgetScheduler } from "../runtime/TurnBudgetScheduler.ts"
import { defaultOptions as defaultIngestOptions } from "../../services/Ingest.ts"
import { Api } from "./Api.ts"
import { ORDERING_BODY_BYTES } from "./MempoolApi.ts"
import * as ApiAuth from "./ApiAuth.ts"
import * as StreamSlots from "./StreamSlots.ts"
import { BodyTooLarge, InternalError, InvalidRequest, RouteNotFound } from "./EdgeApi.ts"
import { Draining } from "./Draining.ts"
import * as Dashboard from "./Dashboard.ts"
import * as Edge from "./Edge.ts"
import * as Handlers from "./Handlers.ts"
import * as HttpMetrics from "./HttpMetrics.ts"
import * as RecentMetrics from "./RecentMetrics.ts"

/** Where and how the server listens. */
export interface HttpConfig {
  readonly host: string
  /** 0 picks a free port; read it from the HttpServer service's address. */
  readonly port: number
  /** Most envelopes in one batch; defaults to the ingest default. */
  readonly maxBatch?: number
  /** Largest request body read, in bytes; defaults to 8 MiB. */
  readonly maxBodyBytes?: number
  /**
   * Largest JSON body the schema-decoded endpoints read (proofs, watches, transactions, the
   * MEV check), in bytes; defaults to 1 MiB. The ordering check has its own limit.
   */
  readonly maxJsonBodyBytes?: number
  /** Largest body of the ordering check, in bytes; defaults to 8 MiB (10,000 signed receipts). */
  readonly maxOrderingBodyBytes?: number
  /** Clients' admission budgets for POST /v1/messages (per address, table size); defaults to ClientBudgets.defaultOptions. */
  readonly clientBudgets?: Partial<ClientBudgets.ClientBudgetOptions>
  /** Bounds on open event streams (in all, per client address); defaults to StreamSlots.defaultStreamSlotOptions. */
  readonly streams?: Partial<StreamSlots.StreamSlotOptions>
  /** Keep-alive comment interval of the event stream; defaults to 15 s. */
  readonly heartbeatMs?: number
  /** How long shutdown waits for in-flight requests; defaults to 10 s. */
  readonly shutdownTimeoutMs?: number
  /**
   * A server span per request (Effect's default); false when no tracer exports them, so no
   * request pays for a span nobody reads. Defaults to true.
   */
  readonly traceRequests?: boolean
  /** Serve the dashboard (web/) at / (Dashboard.ts); off by default, on in `causeway serve`. */
  readonly dashboard?: boolean
  /** How often /v1/metrics/recent samples and how far back it keeps; defaults to RecentMetrics.defaultRecentMetricsOptions (5 s, 10 min). */
  readonly recentMetrics?: Partial<RecentMetrics.RecentMetricsOptions>
}

/** 8 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024

/** 1 MiB. */
export const DEFAULT_MAX_JSON_BODY_BYTES = 1024 * 1024

// ---------------------------------------------------------------------------------------
// Route templates (metric labels must not carry ids)
// ---------------------------------------------------------------------------------------

const templates: ReadonlyArray<{ readonly method: string; readonly path: string; readonly pattern: RegExp }> = [
  ...Object.values(Api.groups).flatMap((group) =>
    Object.values(group.endpoints).map((e) => ({ method: e.method, path: e.path }))
  ),
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  ...Dashboard.DASHBOARD_PATHS.map((path) => ({ method: "GET", path }))
].map((t) => ({
  ...t,
  pattern: new RegExp(`^${t.path.split("/").map((s: string) => (s.startsWith(":") ? "[^/]+" : s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("/")}$`)
}))

/** The contract's path template a request matches, or "unmatched". */
export const routeOf = (method: string, path: string): string =>
  templates.find((t) => t.method === method && t.pattern.test(path))?.path ?? "unmatched"

const pathOf = (url: string): string => {
  const q = url.search(/[?#]/)
  return q === -1 ? url : url.slice(0, q)
}

// ---------------------------------------------------------------------------------------
// Error bodies
// ---------------------------------------------------------------------------------------

const oneLine = (s: string): string => s.replace(/\s*\n\s*/g, " ").slice(0, 500)

const errorJson = <A extends { readonly _tag: string; readonly reason: string }>(status: number, body: A) =>
  HttpServerResponse.jsonUnsafe({ ...body }, { status })

// The router finds no route for a path it cannot decode; that is a malformed request, not a missing one.
const isPercentEncoded = (path: string): boolean => {
  try {
    decodeURIComponent(path)
    return true
  } catch {
    return false
  }
}

const requestErrorKinds = new Set(["Params", "Query", "Headers", "Payload"])

/** The response for a failure no handler answered; defects are logged and become 500. */
const failureResponse = (request: HttpServerRequest.HttpServerRequest, cause: Cause.Cause<unknown>) =>
  Effect.gen(function*() {
    for (const reason of cause.reasons) {
      if (reason._tag === "Interrupt") continue
      const e = reason._tag === "Fail" ? reason.error : reason.defect
      if (HttpServerResponse.isHttpServerResponse(e)) return e
      // Endpoints declare and raise this 400 through the DecodesInput middleware (Edge.ts); this
      // answers the same for one that lacks it (test/http/openapi.test.ts catches that).
      if (HttpApiError.HttpApiSchemaError.is(e) && requestErrorKinds.has(e.kind)) {
        return errorJson(400, new InvalidRequest({ reason: `${e.kind.toLowerCase()}: ${oneLine(e.cause.message)}` }))
      }
      if (HttpServerError.isHttpServerError(e)) {
        const r = e.reason
        if (r._tag === "RouteNotFound") {
          const path = pathOf(request.url)
          if (r.description !== undefined) return errorJson(400, new InvalidRequest({ reason: r.description }))
          if (!isPercentEncoded(path)) return errorJson(400, new InvalidRequest({ reason: "the path is not valid percent-encoded UTF-8" }))
          return errorJson(404, new RouteNotFound({ reason: `no endpoint at ${request.method} ${path.slice(0, 200)}` }))
        }
        if (r._tag === "RequestParseError") {
          return r.reason === "BodyTooLarge"
            ? errorJson(413, new BodyTooLarge({ reason: "the request body is too large", limit: DEFAULT_MAX_BODY_BYTES }))
            : errorJson(400, new InvalidRequest({ reason: "the request could not be read" }))
        }
      }
    }
    yield* Effect.logError("unhandled failure", cause)
    return errorJson(500, new InternalError({ reason: "internal error; see the server log" }))
  })

const isJson = (response: HttpServerResponse.HttpServerResponse): boolean => {
  const body = response.body
  const type = ("contentType" in body ? body.contentType : undefined) ?? response.headers["content-type"] ?? ""
  return /^application\/(?:[a-z.+-]*\+)?json/i.test(type)
}

/** Router middleware: every failure, and every error response, answers JSON with a reason. */
/** Longest path parameter the router matches, characters. */
export const MAX_PATH_PARAMETER = 256

const errorBodies = HttpRouter.middleware(
  (app) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      app.pipe(
        Effect.catchCause((cause) => (Cause.hasInterruptsOnly(cause) ? Effect.failCause(cause) : failureResponse(request, cause))),
        Effect.map((response) =>
          response.status >= 400 && !isJson(response)
            ? HttpServerResponse.jsonUnsafe({ _tag: "HttpError", reason: `HTTP ${response.status}` }, { status: response.status })
            : response.status === 401
            ? HttpServerResponse.setHeader(response, "www-authenticate", "Bearer realm=\"causeway\"")
            : response
        )
      )),
  { global: true }
)

// ---------------------------------------------------------------------------------------
// Request log and metrics
// ---------------------------------------------------------------------------------------

const statusOfExit = (exit: Exit.Exit<HttpServerResponse.HttpServerResponse, unknown>): number => {
  if (Exit.isSuccess(exit)) return exit.value.status
  if (Cause.hasInterruptsOnly(exit.cause)) {
    const client = exit.cause.reasons.some((r) => r._tag === "Interrupt" && r.annotations.has(HttpServerError.ClientAbort.key))
    return client ? 499 : 503
  }
  return HttpServerError.causeResponseStripped(exit.cause)[0].status
}

/** Server middleware: one log line and the metrics per request, after the response is sent. */
const observe = <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const start = yield* Clock.currentTimeNanos
    return yield* Effect.onExit(app, (exit) =>
      Effect.gen(function*() {
        const seconds = Number((yield* Clock.currentTimeNanos) - start) / 1e9
        const path = pathOf(request.url)
        const route = routeOf(request.method, path)
        const status = statusOfExit(exit)
        yield* Metric.update(Metric.withAttributes(HttpMetrics.requests, { method: request.method, route, status: String(status) }), 1)
        yield* Metric.update(Metric.withAttributes(HttpMetrics.duration, { method: request.method, route }), seconds)
        yield* Effect.logInfo("http request").pipe(
          Effect.annotateLogs({ method: request.method, path: path.slice(0, 300), route, status, durationMs: Math.round(seconds * 1e6) / 1e3 })
        )
      }))
  })

// ---------------------------------------------------------------------------------------
// Layers
// ---------------------------------------------------------------------------------------

/** Structured JSON logs to stdout, from `level` up. */
export const logging = (level: LogLevel.LogLevel = "Info") =>
  Layer.mergeAll(Logger.layer([Logger.consoleJson]), Layer.succeed(References.MinimumLogLevel, level))

/**
 * Stop accepting, let in-flight requests finish, and close every connection as soon as it
 * is idle; after `timeoutMs` close whatever is left. Node's own `close` leaves keep-alive
 * connections that finish a response after it, and connections that never sent a request,
 * open until the client closes them.
 */
const closeGracefully = (server: Server, fresh: Set<Socket>, timeoutMs: number) =>
  Effect.callback<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    const sweep = () => {
      server.closeIdleConnections()
      for (const socket of fresh) socket.destroy()
    }
    const timer = setInterval(sweep, 20)
    const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs)
    const done = () => {
      clearInterval(timer)
      clearTimeout(deadline)
    }
    server.close(() => {
      done()
      resume(Effect.void)
    })
    sweep()
    return Effect.sync(done)
  })

// Requests node:http cannot parse never reach the application; answer them in JSON too.
const onClientError = (error: NodeJS.ErrnoException, socket: Duplex) => {
  if (error.code === "ECONNRESET" || !socket.writable) return socket.destroy()
  const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400
  const body = JSON.stringify({ _tag: "InvalidRequest", reason: `the request is not valid HTTP (${error.code ?? "parse error"})` })
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  )
}

// An Expect other than 100-continue: node:http would answer 417 itself, with no body; answer it in JSON too.
const onCheckExpectation = (request: IncomingMessage, response: ServerResponse) => {
  const body = JSON.stringify({ _tag: "ExpectationFailed", reason: `the expectation ${JSON.stringify(String(request.headers.expect ?? "").slice(0, 100))} is not supported; only 100-continue is` })
  response.writeHead(417, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body)
}

/**
 * A response's `close` before it ended (the client went away) is emitted through `defer`.
 *
 * Its listener (the platform's) interrupts the request's fiber, which runs inline: the fiber
 * unwinds, its finalizers run and its log line is written, ~0.2 ms for an event stream. When a
 * thousand clients close at once, Node emits the thousand closes in one poll phase, and the
 * event loop stalled ~170-250 ms behind them (bench:attack's streams scenario). Deferred, each
 * close is one queued callback in that phase, and the interruptions run a turn's budget at a
 * time with the fibers' own work. A response that ended emits `close` at once, as before.
 */
const deferAbortedClose = (defer: (run: () => void) => void) => (_request: IncomingMessage, response: ServerResponse) => {
  const emit = response.emit
  response.emit = function(this: ServerResponse, event: string | symbol, ...args: Array<unknown>): boolean {
    if (event !== "close" || this.writableEnded) return emit.call(this, event, ...args)
    defer(() => emit.call(this, event, ...args))
    return this.listenerCount("close") > 0
  } as ServerResponse["emit"]
}

/**
 * A node:http server that remembers which connections have not sent a request yet; with
 * `defer`, a response's early `close` is emitted through it (deferAbortedClose).
 */
const makeNodeServer = (defer: ((run: () => void) => void) | undefined) => {
  const server = createServer({ keepAliveTimeout: 5_000 })
  // Registered before the platform's request listener, so it sees every response first.
  if (defer !== undefined) server.on("request", deferAbortedClose(defer))
  server.on("clientError", onClientError)
  server.on("checkExpectation", onCheckExpectation)
  const fresh = new Set<Socket>()
  server.on("connection", (socket: Socket) => {
    fresh.add(socket)
    socket.once("close", () => fresh.delete(socket))
  })
  const used = (request: IncomingMessage) => fresh.delete(request.socket)
  server.on("request", used)
  server.on("checkContinue", used)
  server.on("checkExpectation", used)
  return { server, fresh }
}

/**
 * The HTTP server over Ingest, Projections and CausalLog. Provides the HttpServer service
 * (its `address` tells the bound port).
 */
export const layer = (config: HttpConfig) => {
  const options: Handlers.HandlerOptions = {
    maxBatch: config.maxBatch ?? defaultIngestOptions.maxBatch,
    maxBodyBytes: config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    heartbeatMs: config.heartbeatMs ?? 15_000,
    clientBudgets: { ...ClientBudgets.defaultOptions, ...config.clientBudgets }
  }
  const shutdownTimeoutMs = config.shutdownTimeoutMs ?? 10_000
  const traceRequests = config.traceRequests ?? true
  return Layer.unwrap(Effect.gen(function*() {
    // The server's scheduler (ServeCommand's) bounds each turn; closes share its budget.
    const scheduler = yield* Scheduler.Scheduler
    const { server, fresh } = makeNodeServer(scheduler instanceof TurnBudgetScheduler ? scheduler.defer : undefined)
    const serve = Effect.gen(function*() {
      const draining = yield* Deferred.make<void>()
      const routes = Layer.mergeAll(
        HttpApiBuilder.layer(Api, { openapiPath: "/openapi.json" }),
        // The bundled Scalar script is inlined in the page: /docs works offline.
        HttpApiScalar.layer(Api, { path: "/docs", scalar: { withDefaultFonts: false } }),
        errorBodies,
        ApiAuth.privateReads,
        config.dashboard === true ? Dashboard.layer() : Dashboard.layerNone
      ).pipe(
        Layer.provide(Handlers.layer(options).pipe(Layer.provide(RecentMetrics.layer(config.recentMetrics)))),
        Layer.provide(ApiAuth.middlewares),
        Layer.provide(StreamSlots.layer({ ...StreamSlots.defaultStreamSlotOptions, ...config.streams })),
        Layer.provide(Edge.layer({
          maxJsonBodyBytes: config.maxJsonBodyBytes ?? DEFAULT_MAX_JSON_BODY_BYTES,
          maxOrderingBodyBytes: config.maxOrderingBodyBytes ?? ORDERING_BODY_BYTES
        })),
        Layer.provide(Layer.succeed(Draining, Deferred.await(draining)))
      )
      // Path parameters up to 256 characters (the router's default is 100): an effect id names
      // its chain (up to 64 characters) and a 32-byte block hash.
      const app = yield* HttpRouter.toHttpEffect(routes).pipe(Effect.provideService(HttpRouter.RouterConfig, { maxParamLength: MAX_PATH_PARAMETER }))
      yield* HttpServer.serveEffect(app, observe).pipe(
        // Read by Effect's HTTP tracer middleware on every request: a server span named
        // `METHOD /route/:template` (OpenTelemetry's convention), or none.
        traceRequests
          ? Effect.provideService(HttpMiddleware.SpanNameGenerator, (request) => `${request.method} ${routeOf(request.method, pathOf(request.url))}`)
          : Effect.provideService(HttpMiddleware.TracerDisabledWhen, constTrue)
      )
      yield* HttpServer.logAddress
      // Added after serving, so it runs before the platform's own close (which then finds
      // the server closed): event streams end, then the server drains and closes.
      yield* Effect.addFinalizer(() =>
        Effect.gen(function*() {
          yield* Effect.logInfo("http server draining")
          yield* Deferred.succeed(draining, undefined)
          yield* closeGracefully(server, fresh, shutdownTimeoutMs)
          yield* Effect.logInfo("http server closed")
        })
      )
    })
    return Layer.effectDiscard(serve).pipe(
      Layer.provideMerge(
        NodeHttpServer.layer(() => server, { host: config.host, port: config.port, gracefulShutdownTimeout: shutdownTimeoutMs })
      )
    )
  }))
}

/** The server's bound port (for port 0). */
export const boundPort = HttpServer.HttpServer.use((server) =>
  Effect.succeed(server.address._tag === "UnixPathAddress" ? 0 : server.address.port)
)
