/**
 * Handlers of the effects group (EffectsApi.ts): reads from the effects view; watch decisions
 * through the effect tracker, its failures as typed statuses. Without a tracker in context
 * (a core with no chains) adding a watch names the chain unknown.
 */
import { Clock, Effect, HashMap, Option, Stream } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { effectOf, listEffects, resolveEffects } from "../../domain/effects/EffectFold.ts"
import { listPackets, packetOf, packetView, STUCK_AFTER_MS } from "../../domain/effects/IbcPacketFold.ts"
import { CausalLog, type CausalLogError } from "../../ports/CausalLog.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"
import type { TrackedEffect } from "../../domain/effects/EffectShapes.ts"
import { Draining } from "./Draining.ts"
import { eventStream } from "./EventStream.ts"
import type { Rejection } from "../../domain/Rejection.ts"
import { EffectsView } from "../../projections/Views.ts"
import { EffectTracker } from "../../services/EffectTracker.ts"
import { Api } from "./Api.ts"
import { EffectChainUnknown, EffectKindUnsupported, EffectNotFound, EffectPublishFailed, EffectWatchNotFound } from "./EffectsApi.ts"

// A rejection of the instance's own message is a bug (its payloads are built to decode); a storage failure may pass.
const publishFailed = (e: Rejection | CausalLogError) =>
  e._tag === "CausalLogError"
    ? Effect.fail(new EffectPublishFailed({ reason: `the log's storage failed during ${e.operation}; nothing was published; retry later` }))
    : Effect.die(e)

const notFound = (id: string) =>
  new EffectNotFound({ reason: `no effect ${JSON.stringify(id)} is tracked: never observed, or dropped past the retention bound; GET /v1/effects lists them`, id })

const DEFAULT_LIMIT = 100

/** Options of the effects handlers. */
export interface EffectsHandlerOptions {
  /** Interval of the event stream's keep-alive comment. */
  readonly heartbeatMs: number
}

const sse = (effect: TrackedEffect, offset: number): string => `id: ${offset}\nevent: effect\ndata: ${JSON.stringify(effect)}\n\n`

/** The effects group's handlers, over the effects view, the log and the runner (and the tracker when there is one). */
export const layer = (options: EffectsHandlerOptions) => HttpApiBuilder.group(Api, "effects", (handlers) =>
  Effect.gen(function*() {
    const { current, state } = yield* EffectsView
    const log = yield* CausalLog
    const runner = yield* Projections
    const draining = yield* Draining
    const tracker = Option.getOrUndefined(yield* Effect.serviceOption(EffectTracker))
    return handlers
      .handle("listWatches", () => Effect.map(state, (s) => ({ watches: [...HashMap.values(s.watches)].sort((a, b) => (a.id < b.id ? -1 : 1)) })))
      .handle("addWatch", ({ payload }) =>
        tracker === undefined
          ? Effect.fail(new EffectChainUnknown({ reason: `no chain ${JSON.stringify(payload.chain)} is observed by this instance`, chain: payload.chain }))
          : tracker.addWatch(payload).pipe(
            Effect.map(({ watch, receipt }) => ({ watch, receipt: { id: receipt.id, offset: receipt.offset, lamport: receipt.lamport } })),
            Effect.catchTags({
              UnknownEffectChain: (e) => Effect.fail(new EffectChainUnknown({ reason: `no chain ${JSON.stringify(e.chain)} is observed by this instance; GET /v1/chains lists them`, chain: e.chain })),
              UnsupportedEffectKind: (e) => Effect.fail(new EffectKindUnsupported({ reason: e.reason, chain: e.chain, kind: e.kind })),
              CausalLogError: publishFailed
            }),
            Effect.catch((e) => (e._tag === "EffectChainUnknown" || e._tag === "EffectKindUnsupported" || e._tag === "EffectPublishFailed" ? Effect.fail(e) : Effect.die(e)))
          ))
      .handle("removeWatch", ({ query }) =>
        tracker === undefined
          ? Effect.fail(new EffectWatchNotFound({ reason: `no active watch ${query.id}`, id: query.id }))
          : tracker.removeWatch(query.id).pipe(
            Effect.map((receipt) => ({ id: query.id, receipt: { id: receipt.id, offset: receipt.offset, lamport: receipt.lamport } })),
            Effect.catchTags({
              EffectWatchNotFound: (e) => Effect.fail(new EffectWatchNotFound({ reason: `no active watch ${e.id}; GET /v1/effects/watches lists them`, id: e.id })),
              CausalLogError: publishFailed
            }),
            Effect.catch((e) => (e._tag === "EffectWatchNotFound" || e._tag === "EffectPublishFailed" ? Effect.fail(e) : Effect.die(e)))
          ))
      .handle("list", ({ query }) =>
        Effect.map(current, ({ offset, state: s }) => ({
          effects: listEffects(s, {
            ...(query.chain === undefined ? {} : { chain: query.chain }),
            ...(query.status === undefined ? {} : { status: query.status }),
            ...(query.since === undefined ? {} : { since: query.since }),
            ...(query.tx === undefined ? {} : { transaction: query.tx }),
            limit: query.limit ?? DEFAULT_LIMIT
          }),
          offset
        })))
      .handle("effect", ({ params }) =>
        Effect.flatMap(current, ({ offset, state: s }) => {
          // An alias resolves to its first effect: a bridge message id's deposit once seen, a transaction's first matched log.
          const e = resolveEffects(s, params.id)[0]
          return e === undefined ? Effect.fail(notFound(params.id)) : Effect.succeed({ effect: e, offset })
        }))
      .handle("events", ({ params }) =>
        Effect.gen(function*() {
          const start = yield* current
          const first = effectOf(start.state, params.id)
          if (first === undefined) return yield* notFound(params.id)
          // On every (re)connection the effect now comes first, so a client that reconnects with
          // Last-Event-ID misses nothing: the events are states, not deltas.
          const initial = Stream.make(sse(first, start.offset))
          let last = JSON.stringify(first)
          // Each appended record may move the effect: wait for the projection to fold it, then look.
          const changes = log.subscribe(start.offset).pipe(
            Stream.mapEffect((r) =>
              runner.awaitOffset(r.offset + 1).pipe(
                Effect.andThen(current),
                Effect.map(({ offset, state: s }) => ({ offset, effect: effectOf(s, params.id) }))
              )),
            Stream.filter((x): x is { offset: number; effect: TrackedEffect } => {
              if (x.effect === undefined) return false
              const text = JSON.stringify(x.effect)
              if (text === last) return false
              last = text
              return true
            }),
            Stream.map((x) => sse(x.effect, x.offset))
          )
          return eventStream(Stream.concat(initial, changes), {
            heartbeatMs: options.heartbeatMs,
            draining,
            failureReason: "the log's storage failed; reconnect with Last-Event-ID"
          })
        }))
      .handle("listPackets", ({ query }) =>
        Effect.gen(function*() {
          const { offset, state: s } = yield* current
          const now = yield* Clock.currentTimeMillis
          const packets = listPackets(s, {
            ...(query.chain === undefined ? {} : { chain: query.chain }),
            ...(query.status === undefined ? {} : { status: query.status }),
            limit: query.limit ?? DEFAULT_LIMIT
          })
          return { packets: packets.map((p) => packetView(p, now, query.stuckAfterMs ?? STUCK_AFTER_MS)), offset }
        }))
      .handle("packet", ({ params, query }) =>
        Effect.gen(function*() {
          const { offset, state: s } = yield* current
          const p = packetOf(s, params.id)
          if (p === undefined) return yield* notFound(params.id)
          return { packet: packetView(p, yield* Clock.currentTimeMillis, query.stuckAfterMs ?? STUCK_AFTER_MS), offset }
        }))
      .handle("history", ({ params }) =>
        Effect.flatMap(state, (s) => {
          const e = effectOf(s, params.id)
          return e === undefined ? Effect.fail(notFound(params.id)) : Effect.succeed({ id: e.id, history: e.history })
        }))
  }))
