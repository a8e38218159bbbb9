/**
 * A cluster member's part in the leadership (docs/adr/0002-cluster-authority.md): it tells the
 * election where the log stands for it (does it lead, in which term), and when it holds the
 * election's lease, is a member and does not lead, it claims the next term in the log with a
 * signed `LeaderTermClaimed`. The log decides: the first claim of a term wins, so a claim
 * made on a stale view (another member claimed first) changes nothing and is tried again
 * on the fresh view. A claim that lost to another member's is not repeated under the same
 * lease: two members may both believe they hold it for a moment (the old holder until its
 * next heartbeat learns of the rebalance), and repeating would depose a live leader.
 */
import { Context, Effect, Layer, Schedule } from "effect"
import { isLeader } from "../domain/cluster/Authority.ts"
import { LeaderElection } from "../ports/LeaderElection.ts"
import { makeCluster } from "../projections/Cluster/Cluster.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { Author } from "./Author.ts"

/** What the leadership loop exposes (tests, /v1/cluster). */
export interface LeadershipService {
  /** One step of the loop: advertise, and claim if due. Returns the term claimed, if one was. */
  readonly step: Effect.Effect<number | undefined>
  /** The election's state as one line. */
  readonly election: Effect.Effect<string>
}

/** The leadership tag. */
export class Leadership extends Context.Service<Leadership, LeadershipService>()("causeway/Leadership") {}

/** How often the loop looks (a claim waits at most this long once the lease is held). */
export const STEP_MS = 100

/** Build the loop over Author, Projections and LeaderElection; it runs in the layer's scope. */
export const make = Effect.gen(function*() {
  const author = yield* Author
  const runner = yield* Projections
  const election = yield* LeaderElection
  const cluster = makeCluster(author.authority)
  const me = author.publicKey
  // The lease under which this member last lost a claim: no new claim until the next lease.
  let lostUnder: number | undefined

  const step: Effect.Effect<number | undefined> = Effect.gen(function*() {
    const { state } = yield* runner.state(cluster).pipe(Effect.orDie)
    const a = state.authority
    yield* election.advertise({ key: me, leads: isLeader(a, me), term: a.term })
    if (a.admin === null || !a.members.includes(me) || isLeader(a, me)) return undefined
    if (!(yield* election.holds)) return undefined
    const lease = yield* election.lease
    if (lostUnder === lease) return undefined
    // A claim on a view behind the log would name a term already claimed.
    if (!(yield* runner.caughtUp.pipe(Effect.orElseSucceed(() => false)))) return undefined
    const term = a.term + 1
    const claimed = yield* author.publish("LeaderTermClaimed", { term }).pipe(
      Effect.tap((r) => runner.awaitOffset(r.offset + 1)),
      Effect.tapError((e) => Effect.logWarning(`leadership: the claim of term ${term} was not accepted: ${e._tag}`)),
      Effect.option
    )
    if (claimed._tag === "None") return undefined
    const after = (yield* runner.state(cluster).pipe(Effect.orDie)).state.authority
    if (isLeader(after, me)) {
      yield* Effect.logInfo(`leadership: this member leads term ${after.term}`)
      return term
    }
    if (after.term >= term) {
      lostUnder = lease
      yield* Effect.logInfo(`leadership: term ${term} went to another member's earlier claim; no new claim until the lease is given again`)
    }
    return undefined
  })

  yield* step.pipe(
    Effect.catchCause((cause) => Effect.logError("leadership step failed", cause)),
    Effect.repeat(Schedule.spaced(STEP_MS)),
    Effect.forkScoped
  )
  return { step, election: election.describe } satisfies LeadershipService
})

/** The leadership loop as a layer over Author, Projections and LeaderElection. */
export const layer = Layer.effect(Leadership, make)
