/**
 * Handlers of the proofs group (ProofsApi.ts): reads from the proofs view, the proof's bytes
 * reassembled from its shares in the log, the event stream over the log's new records, and
 * a check on request through the ProofVerifier (the worker thread), publishing nothing.
 * Without a verifier in context (a core built without one) a check is answered 503.
 * A proof by commitment includes the announcements retention moved to disk (as they were
 * last: decided, they change no more); the list and the event stream read memory.
 */
import { Effect, Option, Result, Stream } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import {
  type AnnouncementEntry,
  announcementOf,
  announcementsOf,
  announcementsOfCommitment,
  keyOf,
  type ProofsState
} from "../../domain/proofs/ProofFold.ts"
import { CausalLog, type LogRecord } from "../../ports/CausalLog.ts"
import { ProofVerifier } from "../../ports/ProofVerifier.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"
import { payloadOf } from "../../projections/RecordEvents.ts"
import { archivedCommitmentPrefix } from "../../projections/Proofs/Proofs.ts"
import { ProofsView } from "../../projections/Views.ts"
import { failureReason, proofBytesOf } from "../../services/ProofVerdicts.ts"
import { Api } from "./Api.ts"
import { Draining } from "./Draining.ts"
import { eventStream } from "./EventStream.ts"
import { ProofNotFound, VerificationKeyNotFound, VerifierUnavailable } from "./ProofsApi.ts"

const DEFAULT_LIMIT = 100
/** Most announcements of one commitment read back from the archive for one answer (the oldest first). */
export const MAX_ARCHIVED_PER_COMMITMENT = 1_000

/** Options of the proofs handlers. */
export interface ProofsHandlerOptions {
  /** Interval of the event stream's keep-alive comment. */
  readonly heartbeatMs: number
}

/** An announcement as the contract answers it. */
const viewOf = (a: AnnouncementEntry) => ({
  announcementId: a.id,
  offset: a.offset,
  announcer: a.announcer,
  computationId: a.computationId,
  proofSystem: a.proofSystem,
  vkId: a.vkId,
  commitment: a.commitment,
  publicInputs: a.publicInputs,
  shares: a.shares,
  bytes: a.bytes,
  received: a.received,
  status: a.status,
  rejection: a.rejection,
  verdict: a.verdict === null
    ? null
    : { ok: a.verdict.ok, reason: a.verdict.reason, messageId: a.verdict.id, offset: a.verdict.offset, reusedFrom: a.verdict.reusedFrom },
  updated: a.updated
})

const sse = (a: AnnouncementEntry): string => `id: ${a.updated}.${a.id}\nevent: proof\ndata: ${JSON.stringify(viewOf(a))}\n\n`

/** Where a stream stands: the last change sent, as (offset, announcement id). */
interface Mark {
  readonly offset: number
  readonly id: string
}

/** Is the announcement's change after the mark? Changes are ordered by offset, then announcement id. */
const after = (a: AnnouncementEntry, mark: Mark): boolean => a.updated > mark.offset || (a.updated === mark.offset && a.id > mark.id)
const byChange = (a: AnnouncementEntry, b: AnnouncementEntry): number => a.updated - b.updated || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** A Last-Event-ID (ProofEventId, checked by the contract): a bare offset stands after every change at it. */
const markOf = (id: string): Mark => {
  const dot = id.indexOf(".")
  return dot < 0 ? { offset: Number(id), id: "g" } : { offset: Number(id.slice(0, dot)), id: id.slice(dot + 1) }
}

/** The announcements a proofs record may have changed. */
const touchedBy = (state: ProofsState, r: LogRecord): ReadonlyArray<AnnouncementEntry> => {
  switch (r.type) {
    case "ProofAnnouncement":
      return announcementOf(state, r.id) === undefined ? [] : [announcementOf(state, r.id) as AnnouncementEntry]
    case "ProofShare": {
      const p = payloadOf(r, "ProofShare")
      const a = p === undefined ? undefined : announcementOf(state, p.announcementId)
      return a === undefined ? [] : [a]
    }
    case "ProofVerified": {
      const p = payloadOf(r, "ProofVerified")
      return p === undefined ? [] : announcementsOfCommitment(state, p.commitment)
    }
    default:
      return []
  }
}

/** The proofs group's handlers, over the proofs view, the log and the runner (and the verifier when there is one). */
export const layer = (options: ProofsHandlerOptions) => HttpApiBuilder.group(Api, "proofs", (handlers) =>
  Effect.gen(function*() {
    const { archivedRange, current, state } = yield* ProofsView
    const log = yield* CausalLog
    const runner = yield* Projections
    const draining = yield* Draining
    const verifier = yield* Effect.serviceOption(ProofVerifier)

    return handlers
      .handle("list", ({ query }) =>
        Effect.map(current, ({ offset, state: s }) => ({
          proofs: announcementsOf(s)
            .filter((a) =>
              (query.vk === undefined || a.vkId === query.vk) && (query.computation === undefined || a.computationId === query.computation) &&
              (query.after === undefined || a.offset > query.after)
            )
            .slice(0, query.limit ?? DEFAULT_LIMIT)
            .map(viewOf),
          offset
        })))
      .handle("proof", ({ params }) =>
        Effect.gen(function*() {
          const { offset, state: s } = yield* current
          // Read memory first: an announcement the runner archives after this read is then on disk.
          const held = announcementsOfCommitment(s, params.commitment)
          const archived = (yield* archivedRange(archivedCommitmentPrefix(params.commitment), MAX_ARCHIVED_PER_COMMITMENT))
            .map((row) => row.value as unknown as AnnouncementEntry)
          const ids = new Set(held.map((a) => a.id))
          const announcements = [...archived.filter((a) => !ids.has(a.id)), ...held].sort((x, y) => x.offset - y.offset)
          const [first] = announcements
          if (first === undefined) {
            return yield* Effect.fail(new ProofNotFound({ reason: `nothing was announced with the commitment ${params.commitment}; GET /v1/proofs lists the proofs`, commitment: params.commitment }))
          }
          // The bytes of the announcement that was verified on its own shares.
          const verified = announcements.find((a) => a.verdict?.ok === true && a.verdict.reusedFrom === null)
          const bytes = verified === undefined ? undefined : yield* proofBytesOf(log, verified).pipe(Effect.orDie)
          return {
            commitment: params.commitment,
            announcements: announcements.map(viewOf),
            vk: (keyOf(s, first.vkId)?.vk ?? null) as { readonly [key: string]: unknown } | null,
            proof: bytes !== undefined && Result.isSuccess(bytes) ? Buffer.from(bytes.success).toString("base64") : null,
            offset
          }
        }))
      .handle("events", ({ headers, query }) =>
        Effect.gen(function*() {
          const start = yield* current
          const wanted = (a: AnnouncementEntry) => query.vk === undefined || a.vkId === query.vk
          // Resuming: every proof changed after the client's last event, as it is now.
          const resumed = headers["last-event-id"] === undefined ? undefined : markOf(headers["last-event-id"])
          let sent: Mark = resumed ?? { offset: start.offset - 1, id: "g" }
          const initial = announcementsOf(start.state).filter((a) => wanted(a) && after(a, sent)).sort(byChange)
          const last = initial.at(-1)
          if (last !== undefined) sent = { offset: last.updated, id: last.id }
          const changes = log.subscribe(start.offset).pipe(
            Stream.filter((r) => r.type === "ProofAnnouncement" || r.type === "ProofShare" || r.type === "ProofVerified"),
            Stream.mapEffect((r) => Effect.andThen(runner.awaitOffset(r.offset + 1), Effect.map(state, (s) => touchedBy(s, r)))),
            Stream.flatMap((touched) => {
              const fresh = touched.filter((a) => wanted(a) && after(a, sent)).sort(byChange)
              const newest = fresh.at(-1)
              if (newest !== undefined) sent = { offset: newest.updated, id: newest.id }
              return Stream.fromIterable(fresh.map(sse))
            })
          )
          return eventStream(Stream.concat(Stream.fromIterable(initial.map(sse)), changes), {
            heartbeatMs: options.heartbeatMs,
            draining,
            failureReason: "the log's storage failed; reconnect with Last-Event-ID"
          })
        }))
      .handle("verify", ({ payload }) =>
        Effect.gen(function*() {
          const key = keyOf(yield* state, payload.vkId)
          if (key === undefined) {
            return yield* Effect.fail(new VerificationKeyNotFound({ reason: `no verification key ${payload.vkId} is registered (VerificationKeyRegistered)`, vkId: payload.vkId }))
          }
          if (Option.isNone(verifier)) return yield* Effect.fail(new VerifierUnavailable({ reason: "this server has no proof verifier" }))
          const verdict = yield* verifier.value.verify(key.proofSystem, key.vk, payload.proof, payload.publicInputs).pipe(
            Effect.catch((e) =>
              Effect.fail(new VerifierUnavailable({
                reason: e._tag === "ProofVerifierBusy" ? `${e.waiting} proofs are waiting for the verifier already; retry later` : `the verifier failed: ${e.reason}; retry later`
              })))
          )
          return Result.isSuccess(verdict)
            ? { vkId: key.vkId, proofSystem: key.proofSystem, ok: true, reason: null }
            : { vkId: key.vkId, proofSystem: key.proofSystem, ok: false, reason: failureReason(verdict.failure) }
        }))
  }))
