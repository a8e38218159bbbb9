/**
 * The handlers of the HTTP contract (Api.ts). Each one translates the request into a call
 * on a service (Ingest, Projections, CausalLog) and the answer back into the contract's
 * shapes; admission rules live in the ingest service, never here.
 */
import { ByteSize, Effect, HashMap, Layer, Metric, Option, Result, Schema, Stream } from "effect"
import { HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { identify } from "../../domain/auth/ApiTokens.ts"
import { clientAddressKey } from "../../domain/ClientAddress.ts"
import type { IngestBusy } from "../../domain/IngestBusy.ts"
import { MalformedMessage, type RateLimited, type Rejection } from "../../domain/Rejection.ts"
import { clusterViewOf } from "../../domain/cluster/Authority.ts"
import type { ClusterState } from "../../projections/Cluster/Cluster.ts"
import { LogIndex } from "../../projections/LogIndex/LogIndex.ts"
import { InstanceKey } from "../../ports/InstanceKey.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"
import { ClusterStateView, IndexView } from "../../projections/Views.ts"
import { CausalLog, type CausalLogError, type LogRecord } from "../../ports/CausalLog.ts"
import * as ClientBudgets from "../../services/ClientBudgets.ts"
import { Ingest, type OfferResult } from "../../services/Ingest.ts"
import { Api, BatchTooLarge, type BatchItem, DEFAULT_PAGE, LogIndexView, MessageNotFound, NotReady, type RecordView, RejectionErrors } from "./Api.ts"
import { ApiAuth, bearerOf } from "./ApiAuth.ts"
import { Draining } from "./Draining.ts"
import { bodyTooLarge, mediaType, unsupportedMediaType } from "./Edge.ts"
import { StorageUnavailable, Unauthorized } from "./EdgeApi.ts"
import { eventStream } from "./EventStream.ts"
import * as AssetsHandlers from "./AssetsHandlers.ts"
import * as ChainsHandlers from "./ChainsHandlers.ts"
import * as EffectsHandlers from "./EffectsHandlers.ts"
import * as RegistersHandlers from "./RegistersHandlers.ts"
import * as SequencesHandlers from "./SequencesHandlers.ts"
import * as SendersHandlers from "./SendersHandlers.ts"
import * as ProofsHandlers from "./ProofsHandlers.ts"
import * as EventLoopDelay from "./EventLoopDelay.ts"
import * as HttpMetrics from "./HttpMetrics.ts"
import * as InstanceHandlers from "./InstanceHandlers.ts"
import * as MempoolHandlers from "./MempoolHandlers.ts"
import * as MetricsHandlers from "./MetricsHandlers.ts"
import * as OperatorsHandlers from "./OperatorsHandlers.ts"
import * as Prometheus from "./Prometheus.ts"

/** Limits of the HTTP edge. */
export interface HandlerOptions {
  /** Most envelopes in one batch (the ingest pipeline's `maxBatch`). */
  readonly maxBatch: number
  /** Largest request body read, in bytes. */
  readonly maxBodyBytes: number
  /** Interval of the event stream's keep-alive comment. */
  readonly heartbeatMs: number
  /** Clients' admission budgets for POST /v1/messages. */
  readonly clientBudgets: ClientBudgets.ClientBudgetOptions
}

/** A log record as the API serves it. */
export const recordView = (r: LogRecord): RecordView => ({
  offset: r.offset,
  id: r.id,
  lamport: r.lamport,
  type: r.type,
  sender: r.sender,
  nonce: r.nonce,
  deps: r.deps,
  envelope: JSON.parse(r.body)
})

const unavailable = (e: CausalLogError) =>
  new StorageUnavailable({ reason: `the log's storage failed during ${e.operation}; retry later` })

// A storage failure is the server's problem, never the client's: 503, retry later.
const storage = <A, R>(self: Effect.Effect<A, CausalLogError, R>) => Effect.mapError(self, unavailable)

const statusOf = (r: Rejection): number => {
  const cls = RejectionErrors.find((c) => r instanceof c)
  return (cls === undefined ? undefined : Schema.resolveAnnotations(cls)?.httpApiStatus) ?? 400
}

const batchItem = (result: OfferResult): BatchItem => {
  if (Result.isSuccess(result)) return { ok: true, receipt: result.success }
  const e = result.failure
  if (e._tag === "CausalLogError") return { ok: false, status: 503, error: unavailable(e) }
  if (e._tag === "IngestBusy") return { ok: false, status: 503, error: e }
  return { ok: false, status: statusOf(e), error: e }
}

/** A refusal to come back later, answered with its status and `Retry-After` (whole seconds, at least 1). */
const retryLater = (e: RateLimited | IngestBusy) =>
  HttpServerResponse.jsonUnsafe({ _tag: e._tag, reason: e.reason, retryAfterMs: e.retryAfterMs }, {
    status: e._tag === "IngestBusy" ? 503 : 429,
    headers: { "retry-after": String(Math.max(1, Math.ceil(e.retryAfterMs / 1000))) }
  })

/**
 * Who a submission is charged to: the API token it carries, if that token has a budget of its
 * own, else its TCP peer's address (IPv4, IPv6 /64). A token that is sent must be known (401
 * otherwise), even though a signed message needs none.
 */
const clientOf = (
  request: HttpServerRequest.HttpServerRequest,
  auth: ApiAuth["Service"],
  address: ClientBudgets.ClientBudgetOptions["address"]
): Effect.Effect<ClientBudgets.Client, Unauthorized> => {
  const authorization = request.headers.authorization
  if (authorization !== undefined) {
    const found = identify(auth.store, bearerOf(authorization))
    if (Result.isFailure(found)) return Effect.fail(new Unauthorized({ reason: found.failure.reason }))
    const { name, budget } = found.success
    if (budget !== undefined) {
      return Effect.succeed({ key: `token:${name}`, policy: { ratePerSec: budget.perSecond, burst: budget.burst }, label: `the token ${JSON.stringify(name)}` })
    }
  }
  const peer = Option.match(request.remoteAddress, { onNone: () => "unknown", onSome: clientAddressKey })
  return Effect.succeed({ key: `address:${peer}`, policy: address, label: `client address ${peer}` })
}

/** The queue's refusal when it refused every message of a batch. */
const busyWhole = (results: ReadonlyArray<OfferResult>): IngestBusy | undefined => {
  let busy: IngestBusy | undefined
  for (const r of results) {
    if (Result.isSuccess(r) || r.failure._tag !== "IngestBusy") return undefined
    busy = r.failure
  }
  return busy
}

/** Read and parse a JSON request body, within the size limit. */
const readJson = Effect.fn("Http.readJson")(function*(request: HttpServerRequest.HttpServerRequest, maxBytes: number) {
  const contentType = request.headers["content-type"] ?? ""
  if (mediaType(contentType) !== "application/json") return yield* unsupportedMediaType(contentType)
  const tooLarge = bodyTooLarge(maxBytes)
  const declared = Number(request.headers["content-length"] ?? "0")
  if (declared > maxBytes) return yield* tooLarge
  const text = yield* request.text.pipe(
    Effect.provideService(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(maxBytes)),
    Effect.mapError((e) =>
      e.reason._tag === "RequestParseError" && e.reason.reason === "BodyTooLarge"
        ? tooLarge
        : new MalformedMessage({ reason: "the request body could not be read" })
    )
  )
  // Resumed inline by the body's last chunk, in the poll phase that read it: a hundred bodies
  // ending together parsed and checked there held the event loop for ~100 ms at the start of a
  // flood. Yielded, the parse waits for the scheduler's queue, a turn's budget at a time.
  yield* Effect.yieldNow
  if (text.trim() === "") return yield* new MalformedMessage({ reason: "the request body is empty; send an envelope or an array of envelopes" })
  return yield* Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (cause) => new MalformedMessage({ reason: `the request body is not valid JSON: ${cause instanceof Error ? cause.message.slice(0, 200) : "parse error"}` })
  })
})

/**
 * Records as JSON, served as they are: the documented LogRecord types the envelope by its
 * type, but the stored envelope is what the signature covers, so no schema re-encodes it.
 */
const recordsJson = (records: RecordView | ReadonlyArray<RecordView>) => HttpServerResponse.jsonUnsafe(records)

/** Server-Sent Events framing of one record. */
// A record's event, encoded once for every stream that sends it (subscribers share record
// objects: LogTail.sharedPages).
const sseRecords = new WeakMap<LogRecord, Uint8Array>()
const sseEncoder = new TextEncoder()
const sseRecord = (r: LogRecord): Uint8Array => {
  let bytes = sseRecords.get(r)
  if (bytes === undefined) {
    bytes = sseEncoder.encode(`id: ${r.offset}\nevent: record\ndata: ${JSON.stringify(recordView(r))}\n\n`)
    sseRecords.set(r, bytes)
  }
  return bytes
}

const messages = (options: HandlerOptions) =>
  HttpApiBuilder.group(Api, "messages", (handlers) =>
    Effect.gen(function*() {
      const ingest = yield* Ingest
      const log = yield* CausalLog
      const draining = yield* Draining
      const auth = yield* ApiAuth
      const budgets = ClientBudgets.make(options.clientBudgets)
      // The client's share of the held buffer counts under its budget's key.
      const heldAs = (client: ClientBudgets.Client) => ({ key: client.key, weight: ClientBudgets.heldWeight(client, options.clientBudgets) })
      return handlers
        .handleRaw("submit", ({ request }) =>
          Effect.gen(function*() {
            const client = yield* clientOf(request, auth, options.clientBudgets.address)
            const body = yield* readJson(request, options.maxBodyBytes)
            if (!Array.isArray(body)) {
              // The client's budget first: a refused message costs neither a place in the
              // queue nor a signature check.
              const charged = yield* budgets.charge(client, 1)
              if (charged.refusal !== undefined) return retryLater(charged.refusal)
              const result = yield* ingest.offer(body, heldAs(client))
              if (Result.isSuccess(result)) return result.success
              const e = result.failure
              if (e._tag === "CausalLogError") return yield* unavailable(e)
              if (e._tag === "RateLimited" || e._tag === "IngestBusy") return retryLater(e)
              return yield* Effect.fail(e)
            }
            if (body.length === 0) return yield* new MalformedMessage({ reason: "the batch is empty" })
            if (body.length > options.maxBatch) {
              return yield* new BatchTooLarge({ reason: `a batch holds at most ${options.maxBatch} envelopes, this one ${body.length}`, size: body.length, limit: options.maxBatch })
            }
            const charged = yield* budgets.charge(client, body.length)
            if (charged.granted === 0 && charged.refusal !== undefined) return retryLater(charged.refusal)
            const results = yield* ingest.offerMany(charged.granted === body.length ? body : body.slice(0, charged.granted), heldAs(client))
            const busy = busyWhole(results)
            if (busy !== undefined && charged.refusal === undefined) return retryLater(busy)
            const items = results.map(batchItem)
            if (charged.refusal !== undefined) {
              const refused: BatchItem = { ok: false, status: 429, error: charged.refusal }
              for (let i = charged.granted; i < body.length; i++) items.push(refused)
            }
            return { results: items }
          }))
        .handle("getMessage", ({ params }) =>
          storage(log.get(params.id)).pipe(
            Effect.flatMap((found) =>
              found._tag === "Some"
                ? Effect.succeed(recordsJson(recordView(found.value)))
                : Effect.fail(new MessageNotFound({ reason: `no message ${params.id} in the log`, id: params.id }))
            )
          ))
        .handle("listMessages", ({ query }) =>
          storage(log.readCausal(query.fromLamport ?? 0, query.limit ?? DEFAULT_PAGE)).pipe(Effect.map((rs) => recordsJson(rs.map(recordView)))))
        .handle("dependents", ({ params, query }) =>
          storage(log.dependents(params.id, { from: query.from ?? 0, limit: query.limit ?? DEFAULT_PAGE })).pipe(Effect.map((rs) => recordsJson(rs.map(recordView)))))
        .handle("stream", ({ headers, query }) =>
          Effect.gen(function*() {
            const lastEventId = headers["last-event-id"]
            // A reconnecting EventSource sends both its URL's ?from and Last-Event-ID: the latter wins.
            const from = lastEventId !== undefined ? lastEventId + 1 : query.from ?? (yield* storage(log.endOffset))
            const records = log.subscribe(from).pipe(Stream.map(sseRecord))
            return eventStream(records, {
              heartbeatMs: options.heartbeatMs,
              draining,
              failureReason: "the log's storage failed; reconnect with Last-Event-ID"
            })
          }))
    }))

const projections = HttpApiBuilder.group(Api, "projections", (handlers) =>
  Effect.gen(function*() {
    const runner = yield* Projections
    const index = yield* IndexView
    const log = yield* CausalLog
    return handlers
      .handle("list", () => runner.status)
      .handle("logIndex", ({ query }) =>
        Effect.gen(function*() {
          const { offset, state } = yield* index.current
          // Senders from the log's own table on disk, one page in key order (they may count records appended past `offset`).
          const limit = query.limit ?? DEFAULT_PAGE
          const { page, total } = yield* log.senders(query.afterSender, limit + 1).pipe(Effect.orDie)
          const bySender: Record<string, { readonly count: number; readonly latestLamport: number }> = {}
          for (const s of page.slice(0, limit)) bySender[s.sender] = { count: s.count, latestLamport: s.latestLamport }
          const byType: Record<string, number> = {}
          for (const [t, n] of state.byType) byType[t] = n
          return {
            name: LogIndex.name,
            version: LogIndex.version,
            offset,
            state: { total: state.total, byType, bySender, senders: total, nextSender: page.length > limit ? (page[limit - 1]?.sender ?? null) : null }
          }
        }))
  }))

const cluster = HttpApiBuilder.group(Api, "cluster", (handlers) =>
  Effect.gen(function*() {
    const clusterState = yield* ClusterStateView
    const key = yield* InstanceKey
    return handlers.handle("cluster", () =>
      clusterState.current.pipe(Effect.map(({ offset, state }) => clusterViewOf(state.authority, key.publicKey, offset))))
  }))

/** Why this instance must not serve as ready though its log and projections are: it would diverge. */
const authorityProblem = (state: ClusterState, instance: string): string | undefined => {
  const a = state.authority
  if (a.admin !== null) {
    return a.members.includes(instance)
      ? undefined
      : `this instance (${instance}) is not a member of the cluster: the admin's ClusterMembersSet must name it`
  }
  const f = state.foreign
  return f === null
    ? undefined
    : `the log holds decisions signed by another instance (${f.type} at offset ${f.offset} by ${f.sender}, ${state.foreignCount} in all): instances that share a log must run as a cluster (serve --cluster-admin)`
}

/**
 * How far behind the log's end the slowest projection may be, once it has replayed it, with
 * the instance still ready: about a second of a flood at full ingest rate. Under load the folds
 * always trail the appends a little; an exact "caught up" would flap.
 */
const READY_BEHIND = 10_000

const ops = HttpApiBuilder.group(Api, "ops", (handlers) =>
  Effect.gen(function*() {
    const runner = yield* Projections
    const log = yield* CausalLog
    const key = yield* InstanceKey
    const clusterState = yield* ClusterStateView
    yield* Effect.sync(EventLoopDelay.start)
    return handlers
      .handle("healthz", () => Effect.succeed({ status: "ok" as const }))
      .handle("readyz", () =>
        // The log first: an instance whose log cannot take appends (Kafka's brokers lost) is
        // not ready, however caught up its projections are.
        Effect.gen(function*() {
          const down = log.unavailable === undefined ? Option.none<string>() : yield* log.unavailable
          if (Option.isSome(down)) return yield* new NotReady({ ready: false, reason: down.value })
          if (!(yield* storage(runner.ready(READY_BEHIND)))) {
            return yield* new NotReady({ ready: false, reason: "projections are still folding the log" })
          }
          const problem = authorityProblem(yield* clusterState.state, key.publicKey)
          if (problem !== undefined) return yield* new NotReady({ ready: false, reason: problem })
          return { ready: true as const }
        }))
      .handle("metrics", () =>
        Effect.gen(function*() {
          // A storage failure leaves the gauge at its last value rather than failing the scrape.
          yield* log.endOffset.pipe(Effect.flatMap((end) => Metric.update(HttpMetrics.logEndOffset, end)), Effect.ignore)
          for (const s of yield* runner.positions) {
            yield* Metric.update(Metric.withAttributes(HttpMetrics.projectionOffset, { projection: s.name }), s.offset)
          }
          const delay = EventLoopDelay.readAndReset()
          yield* Metric.update(HttpMetrics.eventLoopDelayMax, delay.maxSeconds)
          yield* Metric.update(HttpMetrics.eventLoopDelayP99, delay.p99Seconds)
          return yield* Prometheus.exposition
        }))
  }))

/** Every group's handlers, over Ingest, Projections, CausalLog, the recent-metrics sampler and the draining signal. */
export const layer = (options: HandlerOptions) => Layer.mergeAll(messages(options), projections, ops, MempoolHandlers.layer(options), OperatorsHandlers.layer, ChainsHandlers.layer, EffectsHandlers.layer(options), cluster, InstanceHandlers.layer, AssetsHandlers.layer, MetricsHandlers.layer(options), RegistersHandlers.layer, SequencesHandlers.layer(options), ProofsHandlers.layer(options), SendersHandlers.layer)
