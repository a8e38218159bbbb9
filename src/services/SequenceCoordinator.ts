/**
 * The sequence coordinator: the authority's hand in execution sequences
 * (docs/proofs.md). On every tick, when this instance leads, it
 * 1. expires each claim whose lease ran out without a result that counts (NodeLeaseExpired),
 *    the lease measured from when the coordinator first saw the claim folded: a new leader
 *    starts counting afresh, so a lease may last longer after a failover, never shorter;
 * 2. completes each sequence whose nodes all completed (ExecutionSequenceCompleted);
 * 3. fails each sequence with a node that used up its attempts (ExecutionSequenceFailed).
 *
 * Each decision is an event published through Author and folded before the next, so the
 * projection reflects it before the coordinator looks again; replay folds the decisions and
 * never reads a clock.
 */
import { Clock, Context, Duration, Effect, Layer, Schedule } from "effect"
import { isLeader } from "../domain/cluster/Authority.ts"
import type { MessageType, PayloadInput } from "../domain/MessageTypes.ts"
import { dueDecisions, heldClaims } from "../domain/sequences/Sequences.ts"
import { CausalLog } from "../ports/CausalLog.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { SequencesView } from "../projections/Views.ts"
import { Author } from "./Author.ts"

/** Tunables of the coordinator. */
export interface SequenceCoordinatorOptions {
  /** How often it looks at the sequences. */
  readonly tickMs: number
  /** Run the loop in the background (false: callers drive `tick`, as tests do). */
  readonly background: boolean
}

/** Defaults: a tick per second. */
export const defaultSequenceCoordinatorOptions: SequenceCoordinatorOptions = { tickMs: 1000, background: true }

/** What one tick decided. */
export interface CoordinatorTick {
  readonly expired: number
  readonly completed: number
  readonly failed: number
}

/** The coordinator service. */
export interface SequenceCoordinatorService {
  /** Look once and publish what is due. */
  readonly tick: Effect.Effect<CoordinatorTick>
}

/** The coordinator tag. */
export class SequenceCoordinator extends Context.Service<SequenceCoordinator, SequenceCoordinatorService>()("causeway/SequenceCoordinator") {}

/** Build the coordinator over Author, Projections, the sequences view and CausalLog; its loop lives in the layer's scope. */
export const make = (options: SequenceCoordinatorOptions) =>
  Effect.gen(function*() {
    const author = yield* Author
    const runner = yield* Projections
    const sequences = yield* SequencesView
    const log = yield* CausalLog
    // When this instance first saw each held claim (claim id → Unix ms): what leases are measured from.
    const seenAt = new Map<string, number>()

    // Publish a decision and wait until it is folded; a refusal is logged and retried on the next tick.
    const decide = <T extends MessageType>(type: T, payload: PayloadInput<T>) =>
      author.publish(type, payload).pipe(
        Effect.tap((r) => runner.awaitOffset(r.offset + 1)),
        Effect.as(true),
        Effect.catch((e) => Effect.logWarning(`sequences: ${type} was not accepted: ${e._tag}`).pipe(Effect.as(false)))
      )

    const tick: Effect.Effect<CoordinatorTick> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const state = yield* sequences.state
      if (!isLeader(state.authority, author.publicKey)) {
        seenAt.clear()
        return { expired: 0, completed: 0, failed: 0 }
      }
      let expired = 0
      const held = heldClaims(state)
      const holding = new Set(held.map((c) => c.claimId))
      for (const id of [...seenAt.keys()]) if (!holding.has(id)) seenAt.delete(id)
      for (const c of held) {
        const since = seenAt.get(c.claimId)
        if (since === undefined) seenAt.set(c.claimId, now)
        else if (now - since >= c.leaseMs && (yield* decide("NodeLeaseExpired", { sequenceId: c.sequenceId, nodeId: c.nodeId, claimId: c.claimId }))) {
          seenAt.delete(c.claimId)
          expired++
        }
      }
      let completed = 0
      let failed = 0
      for (const due of dueDecisions(yield* sequences.state)) {
        if (due._tag === "Complete") {
          if (yield* decide("ExecutionSequenceCompleted", { sequenceId: due.sequenceId })) completed++
        } else if (yield* decide("ExecutionSequenceFailed", { sequenceId: due.sequenceId, nodeId: due.nodeId, reason: due.reason.slice(0, 1000) })) failed++
      }
      if (expired + completed + failed > 0) yield* Effect.logInfo(`sequences: ${expired} leases expired, ${completed} sequences completed, ${failed} failed`)
      return { expired, completed, failed }
    })

    if (options.background) {
      // Decide only on a view that has caught up with the log as it was at start.
      const caughtUp = log.endOffset.pipe(Effect.orDie, Effect.flatMap((end) => runner.awaitOffset(end)))
      yield* caughtUp.pipe(
        Effect.andThen(tick.pipe(
          Effect.catchCause((cause) => Effect.logError("sequence coordinator tick failed", cause)),
          Effect.repeat(Schedule.spaced(Duration.millis(options.tickMs)))
        )),
        Effect.forkScoped
      )
    }
    return { tick } satisfies SequenceCoordinatorService
  })

/** The coordinator as a layer; its loop lives in the layer's scope. */
export const layer = (options: Partial<SequenceCoordinatorOptions> = {}) =>
  Layer.effect(SequenceCoordinator, make({ ...defaultSequenceCoordinatorOptions, ...options }))
