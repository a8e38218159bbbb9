/**
 * A cluster member's part in the leadership (docs/adr/0002-cluster-authority.md): it tells the
 * election where the log stands for it (does it lead, in which term), and when it holds the
 * election's lease, is a member and does not lead, it claims the next term in the log with a
 * signed `LeaderTermClaimed`. The log decides: the first claim of a term wins, so a claim
 * made on a stale view (another member claimed first) changes nothing and is tried again
 * on the fresh view. A claim that lost to another member's is not repeated under the same
 * lease: two members may both believe they hold it for a moment (the old holder until its
 * next heartbeat learns of the rebalance), and repeating would depose a live leader.
 *
 * The leader also spreads the configured chains over the live members (the election's group:
 * Kafka's view of who is alive) by rendezvous hashing, and records each change in the log
 * (`ChainOwnersAssigned`): a dead owner's chains move to the next member by HRW once the group
 * has dropped it. Every member must be configured with the cluster's chains: one whose
 * chains differ from the log's does not start (and, if they come to differ later, claims
 * nothing and logs why).
 */
import { Context, Effect, Layer, Schedule } from "effect"
import { Data } from "effect"
import { assignChains, type AuthorityState, isLeader } from "../domain/cluster/Authority.ts"
import { ChainObservers } from "../ports/ChainObserver.ts"
import { LeaderElection } from "../ports/LeaderElection.ts"
import { ClusterStateView } from "../projections/Views.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { CausalLog } from "../ports/CausalLog.ts"
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

/** This member's chains are not the cluster's: it must not start. */
export class ChainsMismatch extends Data.TaggedError("ChainsMismatch")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

const sameList = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): boolean => a.length === b.length && a.every((x, i) => x === b[i])

/** Why this member's configured chains are not the cluster's (as its log last assigned them), if they are not. */
export const chainsMismatch = (a: AuthorityState, configured: ReadonlyArray<string>): string | undefined =>
  a.ownersAt === null || sameList(a.chains, configured)
    ? undefined
    : `this member observes chains [${configured.join(", ")}] but the cluster observes [${a.chains.join(", ")}] (assigned at offset ${a.ownersAt}): every member must be configured with the same chains`

/** How often the loop looks (a claim waits at most this long once the lease is held). */
export const STEP_MS = 100

/** Build the loop over Author, Projections and LeaderElection; it runs in the layer's scope. */
export const make = Effect.gen(function*() {
  const author = yield* Author
  const runner = yield* Projections
  const log = yield* CausalLog
  const election = yield* LeaderElection
  const cluster = yield* ClusterStateView
  const me = author.publicKey
  const configured = [...(yield* ChainObservers).keys()].sort()
  // Refuse to start beside members configured with other chains.
  yield* runner.awaitOffset(yield* log.endOffset.pipe(Effect.orDie))
  const atStart = chainsMismatch((yield* cluster.state).authority, configured)
  if (atStart !== undefined) return yield* new ChainsMismatch({ reason: atStart })
  let mismatchLogged = false
  // The lease under which this member last lost a claim: no new claim until the next lease.
  let lostUnder: number | undefined

  // As the leader: the configured chains over the live members, recorded when it changes.
  const assign = (a: AuthorityState) =>
    Effect.gen(function*() {
      const live = yield* election.live
      if (live === undefined || !(yield* runner.caughtUp.pipe(Effect.orElseSucceed(() => false)))) return
      const eligible = live.filter((k) => a.members.includes(k))
      if (!eligible.includes(me)) eligible.push(me)
      eligible.sort()
      const owners = assignChains(configured, eligible)
      const same = a.ownersAt !== null && sameList(a.chains, configured) &&
        owners.length === a.owners.length && owners.every((o, i) => o.chain === a.owners[i]?.chain && o.owner === a.owners[i]?.owner)
      // Live members coming and going change nothing unless an owner changes.
      if (same) return
      yield* author.publish("ChainOwnersAssigned", { chains: configured, live: eligible, owners }).pipe(
        Effect.tap((r) => runner.awaitOffset(r.offset + 1)),
        Effect.tap(() => Effect.logInfo(`leadership: chains assigned over ${eligible.length} live members: ${owners.map((o) => `${o.chain} -> ${o.owner.slice(0, 12)}`).join(", ")}`)),
        Effect.tapError((e) => Effect.logWarning(`leadership: the chain assignment was not accepted: ${e._tag}`)),
        Effect.ignore
      )
    })

  const step: Effect.Effect<number | undefined> = Effect.gen(function*() {
    const state = yield* cluster.state
    const a = state.authority
    yield* election.advertise({
      key: me,
      leads: isLeader(a, me),
      member: a.members.includes(me),
      excluded: a.members.length > 0 && !a.members.includes(me),
      term: a.term
    })
    const mismatch = chainsMismatch(a, configured)
    if (mismatch !== undefined) {
      if (!mismatchLogged) yield* Effect.logError(`leadership: ${mismatch}; this member claims no term`)
      mismatchLogged = true
      return undefined
    }
    if (a.admin !== null && isLeader(a, me)) yield* assign(a)
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
    const after = (yield* cluster.state).authority
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
