/** Handlers of the sequences group (SequencesApi.ts): reads of the sequences view, and its events as a stream. */
import { Effect, Stream } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { isRunnable, type Sequence, type SequenceEvent, sequenceOf } from "../../domain/sequences/Sequences.ts"
import { CausalLog } from "../../ports/CausalLog.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"
import { type SequencesProjectionState, suggestionsOf } from "../../projections/Sequences/Sequences.ts"
import { SequencesView } from "../../projections/Views.ts"
import { Api } from "./Api.ts"
import { Draining } from "./Draining.ts"
import { eventStream } from "./EventStream.ts"
import { SequenceNotFound, type SequenceView } from "./SequencesApi.ts"

/** Options of the sequences handlers. */
export interface SequencesHandlerOptions {
  /** Interval of the event stream's keep-alive comment. */
  readonly heartbeatMs: number
}

const notFound = (id: string) => new SequenceNotFound({ reason: `no sequence ${JSON.stringify(id)} was announced`, id })

/** A sequence as answered, with each node's derived status and suggested claimant. */
export const sequenceView = (state: SequencesProjectionState, s: Sequence, offset: number): SequenceView => {
  const suggested = suggestionsOf(state, s.id)
  return {
    sequenceId: s.id,
    status: s.status,
    reason: s.reason,
    announcedBy: s.announcedBy,
    announceId: s.announceId,
    leaseMs: s.leaseMs,
    maxAttempts: s.maxAttempts,
    nodes: s.nodes.map((n) => ({
      id: n.id,
      deps: n.deps,
      spec: n.spec,
      status: n.status === "open" ? (isRunnable(s, n) ? "runnable" : "blocked") : n.status,
      suggestedClaimant: suggested.get(n.id) ?? null,
      attempts: n.attempts,
      result: n.result
    })),
    offset
  }
}

const sse = (e: SequenceEvent): string => `id: ${e.offset}\nevent: sequence\ndata: ${JSON.stringify(e)}\n\n`

/** The sequences group's handlers, over the sequences view, the log and the runner. */
export const layer = (options: SequencesHandlerOptions) => HttpApiBuilder.group(Api, "sequences", (handlers) =>
  Effect.gen(function*() {
    const { current } = yield* SequencesView
    const log = yield* CausalLog
    const runner = yield* Projections
    const draining = yield* Draining
    return handlers
      .handle("sequence", ({ params }) =>
        Effect.gen(function*() {
          const { offset, state } = yield* current
          const s = sequenceOf(state, params.id)
          if (s === undefined) return yield* Effect.fail(notFound(params.id))
          return sequenceView(state, s, offset)
        }))
      .handle("sequenceEvents", ({ headers, params }) =>
        Effect.gen(function*() {
          const start = yield* current
          const s = sequenceOf(start.state, params.id)
          if (s === undefined) return yield* Effect.fail(notFound(params.id))
          // Everything after the client's last event (all kept events on a first connection), then every new one.
          let last = headers["last-event-id"] ?? -1
          const after = (events: ReadonlyArray<SequenceEvent>) => {
            const out = events.filter((e) => e.offset > last)
            if (out.length > 0) last = (out[out.length - 1] as SequenceEvent).offset
            return out
          }
          const initial = Stream.fromIterable(after(s.events))
          const changes = log.subscribe(start.offset).pipe(
            Stream.mapEffect((r) => runner.awaitOffset(r.offset + 1).pipe(Effect.andThen(current))),
            Stream.flatMap(({ state }) => Stream.fromIterable(after(sequenceOf(state, params.id)?.events ?? [])))
          )
          return eventStream(Stream.concat(initial, changes).pipe(Stream.map(sse)), {
            heartbeatMs: options.heartbeatMs,
            draining,
            failureReason: "the log's storage failed; reconnect with Last-Event-ID"
          })
        }))
  }))
