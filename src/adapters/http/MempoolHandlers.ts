/**
 * Handlers of the mempool group (MempoolApi.ts): each reads the mempool projection's state
 * and answers through the domain's views (src/domain/mempool/MempoolViews.ts), which never
 * show an order's content before its batch is sealed. Receipts are signed here with the
 * instance key, deterministically (ed25519), from the state: the same entry always gets the
 * same receipt, and a small cache spares re-signing. An entry or outcome retention dropped
 * from memory is answered from the projection's archive on disk, as it was last.
 */
import { Clock, Effect, HashMap, Option, Stream } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { LRUCache } from "lru-cache"
import { batchOf, entryOf } from "../../domain/mempool/MempoolFold.ts"
import {
  type MessageView,
  type OrderView,
  batchEntries,
  batchView,
  isFinalStatus,
  pendingOrders,
  processingOrder,
  receiptBodyOf,
  seatKey,
  statusView
} from "../../domain/mempool/MempoolViews.ts"
import type { Entry, MempoolState } from "../../domain/mempool/MempoolFold.ts"
import { type SignedReceipt, signReceipt } from "../../domain/mempool/Receipt.ts"
import { Deployment } from "../../ports/Deployment.ts"
import { InstanceKey } from "../../ports/InstanceKey.ts"
import { MempoolView } from "../../projections/Views.ts"
import { Api } from "./Api.ts"
import { Draining } from "./Draining.ts"
import { eventStream } from "./EventStream.ts"
import { BatchNotFound, DEFAULT_ROWS, MAX_OPEN_LISTED, NoReceipt, OrderNotFound, VerifierBusy } from "./MempoolApi.ts"
import * as OrderingChecker from "./OrderingChecker.ts"
import { InvalidRequest } from "./EdgeApi.ts"

/** Limits of the mempool endpoints. */
export interface MempoolHandlerOptions {
  /** Interval of the status stream's keep-alive comment. */
  readonly heartbeatMs: number
}

const sse = (view: OrderView | MessageView, offset: number): string =>
  `id: ${offset}\nevent: status\ndata: ${JSON.stringify(view)}\n\n`

/** The mempool group's handlers, over the mempool view, InstanceKey and the draining signal. */
export const layer = (options: MempoolHandlerOptions) =>
  HttpApiBuilder.group(Api, "mempool", (handlers) =>
    Effect.gen(function*() {
      const orderingChecker = OrderingChecker.make()
      const key = yield* InstanceKey
      const draining = yield* Draining
      const { archived, current, state, changes: mempoolChanges } = yield* MempoolView
      const windowMs = (yield* Deployment)?.batchWindowMs ?? null

      const signatures = new LRUCache<string, SignedReceipt>({ max: 10_000 })
      const receiptOf = (e: Pick<Entry, "id" | "batch" | "position" | "lamport" | "offset">): SignedReceipt => {
        const cached = signatures.get(e.id)
        if (cached !== undefined) return cached
        const signed = signReceipt(key, receiptBodyOf(e))
        signatures.set(e.id, signed)
        return signed
      }

      const notFound = (id: string) => new OrderNotFound({ reason: `the mempool has no message ${id}`, id })

      // In memory, else as retention left it on disk (final: it changes no more).
      const viewAt = (s: MempoolState, id: string): Effect.Effect<OrderView | MessageView | undefined> => {
        const view = statusView(s, id)
        if (view !== undefined) return Effect.succeed(view)
        return archived(id).pipe(Effect.map((json) => Option.getOrUndefined(json) as OrderView | MessageView | undefined))
      }

      return handlers
        .handle("order", ({ params }) =>
          state.pipe(
            Effect.flatMap((s) => viewAt(s, params.id)),
            Effect.flatMap((view) => view === undefined ? Effect.fail(notFound(params.id)) : Effect.succeed(view))
          ))
        .handle("receipt", ({ params }) =>
          Effect.gen(function*() {
            const s = yield* state
            const e = entryOf(s, params.id)
            if (e !== undefined) return receiptOf(e)
            const view = yield* viewAt(s, params.id)
            if (view === undefined) return yield* notFound(params.id)
            if (view.kind === "order") return receiptOf(view)
            return yield* new NoReceipt({ reason: `${params.id} holds no position in the mempool (a reveal, a cancellation, a refused order or a decision)`, id: params.id })
          }))
        .handle("events", ({ params }) =>
          Effect.gen(function*() {
            const start = yield* current
            const first = yield* viewAt(start.state, params.id)
            if (first === undefined) return yield* notFound(params.id)
            let last = JSON.stringify(first)
            const final = (v: OrderView | MessageView) => v.kind === "message" || isFinalStatus(v.status)
            // Each fold of the mempool may change the order: look at the newest state after each
            // (a slow client skips states, never falls behind), not at every record of the log.
            const changes = mempoolChanges.pipe(
              Stream.filter(({ offset }) => offset > start.offset),
              // From the archive once retention dropped it (a client that skipped its final state).
              Stream.mapEffect(({ offset, state: s }) => Effect.map(viewAt(s, params.id), (view) => ({ offset, view }))),
              Stream.filter((x): x is { offset: number; view: OrderView | MessageView } => {
                if (x.view === undefined) return false
                const text = JSON.stringify(x.view)
                if (text === last) return false
                last = text
                return true
              }),
              Stream.takeUntil((x) => final(x.view)),
              Stream.map((x) => sse(x.view, x.offset))
            )
            const updates = final(first) ? Stream.empty : changes
            return eventStream(Stream.concat(Stream.make(sse(first, start.offset)), updates), {
              heartbeatMs: options.heartbeatMs,
              draining,
              failureReason: "the log's storage failed; reconnect"
            })
          }))
        .handle("pending", ({ query }) =>
          Effect.gen(function*() {
            const s = yield* state
            const now = yield* Clock.currentTimeMillis
            const orders = pendingOrders(s, {
              ...(query.chain === undefined ? {} : { chain: query.chain }),
              ...(query.market === undefined ? {} : { market: query.market }),
              ...(query.minAgeMs === undefined ? {} : { minAgeMs: query.minAgeMs }),
              limit: query.limit ?? DEFAULT_ROWS,
              revealedOnly: query.revealedOnly === "true"
            }, now)
            return { orders }
          }))
        .handle("open", () =>
          current.pipe(Effect.map(({ offset, state: s }) => {
            const previous = s.batch === 0 ? undefined : batchOf(s, s.batch - 1)
            const previousSealedAt = previous?.sealedAt ?? null
            // The open batch's entries are all in memory (retention drops entries only after a later seal).
            const entries = batchEntries(s, s.batch, 0, MAX_OPEN_LISTED).flatMap((e) => typeof e === "number" ? [] : [{ id: e.id, position: e.position, mode: e.mode }])
            return {
              batch: s.batch,
              count: HashMap.size(s.open),
              entries,
              previousSealedAt,
              windowMs,
              sealNotBefore: windowMs === null || previousSealedAt === null ? null : previousSealedAt + windowMs,
              offset
            }
          })))
        .handle("batch", ({ params }) =>
          state.pipe(Effect.flatMap((s) => {
            const b = batchView(s, params.batch)
            return b === undefined
              ? Effect.fail(new BatchNotFound({ reason: `batch ${params.batch} is not sealed (the open batch is ${s.batch})`, batch: params.batch }))
              : Effect.succeed(b)
          })))
        .handle("batchReceipts", ({ params, query }) =>
          state.pipe(Effect.flatMap((s) => {
            if (batchView(s, params.batch) === undefined) {
              return Effect.fail(new BatchNotFound({ reason: `batch ${params.batch} is not sealed (the open batch is ${s.batch})`, batch: params.batch }))
            }
            return Effect.forEach(batchEntries(s, params.batch, query.from ?? 0, query.limit ?? DEFAULT_ROWS), (e) => {
              if (typeof e !== "number") return Effect.succeed([receiptOf(e)])
              // Dropped from memory by retention: its id, then its view, from disk.
              return archived(seatKey(params.batch, e)).pipe(
                Effect.flatMap((id) => typeof Option.getOrUndefined(id) === "string" ? archived(Option.getOrThrow(id) as string) : Effect.succeedNone),
                Effect.map((view) => Option.match(view, { onNone: () => [], onSome: (v) => [receiptOf(v as unknown as OrderView)] }))
              )
            }).pipe(Effect.map((rs) => ({ receipts: rs.flat() })))
          })))
        .handle("processing", ({ query }) =>
          state.pipe(Effect.map((s) => ({ orderIds: processingOrder(s, query.from ?? 0, query.limit ?? DEFAULT_ROWS) }))))
        .handle("verifyOrdering", ({ payload }) =>
          orderingChecker.check(payload).pipe(
            Effect.catchTags({
              OrderingRequestInvalid: (e) => Effect.fail(new InvalidRequest({ reason: e.reason })),
              OrderingCheckBusy: (e) => Effect.fail(new VerifierBusy({ reason: `the ordering check is busy (${e.waiting} checks waiting); retry in a second` })),
              OrderingCheckFailed: (e) => Effect.die(new Error(`the ordering check's worker failed: ${e.detail}`))
            })
          ))
    }))
