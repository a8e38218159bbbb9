/**
 * Handlers of the effects group (EffectsApi.ts): reads from the effects view; watch decisions
 * through the effect tracker, its failures as typed statuses. Without a tracker in context
 * (a core with no chains) adding a watch names the chain unknown. An effect or packet the
 * count bound dropped from memory is answered from the projection's archive on disk, as it
 * was last (by id or alias; lists read memory).
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { Clock, Effect, Option, Stream } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { canonicalBytes } from "../../domain/CanonicalJson.ts"
import { anyEffectOf, listAnyEffects, resolveAnyEffects } from "../../domain/effects/EffectQueries.ts"
import { listWatches } from "../../domain/effects/EffectFold.ts"
import { listPackets, packetOf, packetView, STUCK_AFTER_MS } from "../../domain/effects/IbcPacketFold.ts"
import { CausalLog, type CausalLogError } from "../../ports/CausalLog.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"
import { type AnyEffect, type AnyEffectView, effectEvent } from "../../domain/effects/EffectShapes.ts"
import { Draining } from "./Draining.ts"
import { Caller } from "./EdgeApi.ts"
import { eventStream } from "./EventStream.ts"
import type { Rejection } from "../../domain/Rejection.ts"
import { archivedAliasPrefix, archivedEffectKey, archivedEffectOf } from "../../projections/Effects/Effects.ts"
import { EffectsView } from "../../projections/Views.ts"
import { EffectTracker } from "../../services/EffectTracker.ts"
import { Api } from "./Api.ts"
import { EffectChainUnknown, EffectKindUnsupported, EffectNotFound, EffectPublishFailed, EffectWatchLimitReached, EffectWatchNotFound } from "./EffectsApi.ts"

// A rejection of the instance's own message is a bug (its payloads are built to decode); a storage failure may pass.
const publishFailed = (e: Rejection | CausalLogError) =>
  e._tag === "CausalLogError"
    ? Effect.fail(new EffectPublishFailed({ reason: `the log's storage failed during ${e.operation}; nothing was published; retry later` }))
    : Effect.die(e)

const notFound = (id: string) =>
  new EffectNotFound({ reason: `no effect ${JSON.stringify(id)} was ever tracked (in memory or on disk); GET /v1/effects lists them`, id })

const DEFAULT_LIMIT = 100

/** Options of the effects handlers. */
export interface EffectsHandlerOptions {
  /** Interval of the event stream's keep-alive comment. */
  readonly heartbeatMs: number
}

/** An effect's digest in its stream's event ids: the first 16 hex digits of SHA-256 over its canonical JSON. */
const digestOf = (effect: AnyEffect): string => bytesToHex(sha256(canonicalBytes(effect))).slice(0, 16)

const sse = (effect: AnyEffect, offset: number, digest: string): string => `id: ${offset}.${digest}\nevent: effect\ndata: ${JSON.stringify(effectEvent(effect))}\n\n`

/** A Last-Event-ID (EffectEventId, already checked by the contract): its offset, and its digest when it has one. */
const parseEventId = (id: string): { readonly offset: number; readonly digest: string | undefined } => {
  const dot = id.indexOf(".")
  return dot < 0 ? { offset: Number(id), digest: undefined } : { offset: Number(id.slice(0, dot)), digest: id.slice(dot + 1) }
}

/** An effect as queries answer it: a packet with `stuck` as of now (default threshold). */
const viewOf = (e: AnyEffect, nowMs: number): AnyEffectView => (e.kind === "evm-log" ? { effectId: e.id, ...e } : packetView(e, nowMs, STUCK_AFTER_MS))

/** The effects group's handlers, over the effects view, the log and the runner (and the tracker when there is one). */
export const layer = (options: EffectsHandlerOptions) => HttpApiBuilder.group(Api, "effects", (handlers) =>
  Effect.gen(function*() {
    const { archived, archivedRange, current, state } = yield* EffectsView
    const log = yield* CausalLog
    // Dropped from memory by the bound: the effect of that id, else the oldest carrying that alias, from disk.
    const byId = (id: string) => archived(archivedEffectKey(id)).pipe(Effect.map((json) => Option.isNone(json) ? undefined : archivedEffectOf(json.value)))
    const fromDisk = (idOrAlias: string, aliases: boolean) =>
      Effect.gen(function*() {
        const direct = yield* byId(idOrAlias)
        if (direct !== undefined || !aliases) return direct
        const [row] = yield* archivedRange(archivedAliasPrefix(idOrAlias), 1)
        return typeof row?.value === "string" ? yield* byId(row.value) : undefined
      })
    const runner = yield* Projections
    const draining = yield* Draining
    const tracker = Option.getOrUndefined(yield* Effect.serviceOption(EffectTracker))
    return handlers
      .handle("listWatches", () => Effect.map(state, (s) => ({ watches: listWatches(s) })))
      .handle("addWatch", ({ payload }) =>
        tracker === undefined
          ? Effect.fail(new EffectChainUnknown({ reason: `no chain ${JSON.stringify(payload.chain)} is observed by this instance`, chain: payload.chain }))
          : Effect.flatMap(Caller, (caller) => tracker.addWatch({ ...payload, owner: caller.token })).pipe(
            Effect.map(({ watch, receipt }) => ({ watch, receipt: { id: receipt.id, offset: receipt.offset, lamport: receipt.lamport } })),
            Effect.catchTags({
              UnknownEffectChain: (e) => Effect.fail(new EffectChainUnknown({ reason: `no chain ${JSON.stringify(e.chain)} is observed by this instance; GET /v1/chains lists them`, chain: e.chain })),
              UnsupportedEffectKind: (e) => Effect.fail(new EffectKindUnsupported({ reason: e.reason, chain: e.chain, kind: e.kind })),
              EffectWatchLimit: (e) =>
                Effect.fail(
                  new EffectWatchLimitReached({
                    reason: e.owner === undefined
                      ? `the deployment has ${e.limit} active effect watches, the most it keeps; remove one first (DELETE /v1/effects/watches)`
                      : `the token ${JSON.stringify(e.owner)} owns ${e.limit} active effect watches, the most one token may; remove one of them first (DELETE /v1/effects/watches)`,
                    limit: e.limit
                  })
                ),
              CausalLogError: publishFailed
            }),
            Effect.catch((e) =>
              e._tag === "EffectChainUnknown" || e._tag === "EffectKindUnsupported" || e._tag === "EffectWatchLimitReached" || e._tag === "EffectPublishFailed" ? Effect.fail(e) : Effect.die(e)
            )
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
        Effect.gen(function*() {
          const { offset, state: s } = yield* current
          const now = yield* Clock.currentTimeMillis
          const effects = listAnyEffects(s, {
            ...(query.kind === undefined ? {} : { kind: query.kind }),
            ...(query.chain === undefined ? {} : { chain: query.chain }),
            ...(query.status === undefined ? {} : { status: query.status }),
            ...(query.since === undefined ? {} : { since: query.since }),
            ...(query.tx === undefined ? {} : { transaction: query.tx }),
            limit: query.limit ?? DEFAULT_LIMIT
          })
          return { effects: effects.map((e) => viewOf(e, now)), offset }
        }))
      .handle("effect", ({ params }) =>
        Effect.gen(function*() {
          const { offset, state: s } = yield* current
          // An alias (a bridge's message id) resolves to its journey's first leg: the deposit once seen.
          const e = resolveAnyEffects(s, params.id)[0] ?? (yield* fromDisk(params.id, true))
          if (e === undefined) return yield* notFound(params.id)
          return { effect: viewOf(e, yield* Clock.currentTimeMillis), offset }
        }))
      .handle("events", ({ headers, params }) =>
        Effect.gen(function*() {
          const start = yield* current
          const held = anyEffectOf(start.state, params.id)
          // Dropped from memory: it changes no more; one event (unless the client holds it), then the end.
          const first = held ?? (yield* fromDisk(params.id, false))
          if (first === undefined) return yield* notFound(params.id)
          let last = digestOf(first)
          // Resuming: the client already holds the effect as of its last event; it gets the
          // effect now only if that differs (by digest; with a bare offset, if any record was
          // folded since), then every later change. Events are whole states, so nothing is missed.
          const resumed = headers["last-event-id"] === undefined ? undefined : parseEventId(headers["last-event-id"])
          const upToDate = resumed !== undefined && (resumed.digest === undefined ? resumed.offset >= start.offset : resumed.digest === last)
          const initial = upToDate ? Stream.empty : Stream.make(sse(first, start.offset, last))
          if (held === undefined) {
            return eventStream(initial, { heartbeatMs: options.heartbeatMs, draining, failureReason: "the log's storage failed; reconnect with Last-Event-ID" })
          }
          // Each appended record may change the effect: wait for the projection to fold it, then look.
          const changes = log.subscribe(start.offset).pipe(
            Stream.mapEffect((r) =>
              runner.awaitOffset(r.offset + 1).pipe(
                Effect.andThen(current),
                Effect.map(({ offset, state: s }) => ({ offset, effect: anyEffectOf(s, params.id) }))
              )),
            Stream.filter((x): x is { offset: number; effect: AnyEffect } => {
              if (x.effect === undefined) return false
              const digest = digestOf(x.effect)
              if (digest === last) return false
              last = digest
              return true
            }),
            Stream.map((x) => sse(x.effect, x.offset, last))
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
          const held = packetOf(s, params.id)
          const dropped = held === undefined ? yield* fromDisk(params.id, false) : undefined
          const p = held ?? (dropped?.kind === "ibc-packet" ? dropped : undefined)
          if (p === undefined) return yield* notFound(params.id)
          return { packet: packetView(p, yield* Clock.currentTimeMillis, query.stuckAfterMs ?? STUCK_AFTER_MS), offset }
        }))
      .handle("history", ({ params }) =>
        Effect.gen(function*() {
          const e = anyEffectOf(yield* state, params.id) ?? (yield* fromDisk(params.id, false))
          return e === undefined ? yield* notFound(params.id) : { id: e.id, history: e.history }
        }))
  }))
