/**
 * A decision only the deployment's leader makes (an asset mapping, an operator's registration):
 * published as the instance through Author when it leads, then waited for until the projections
 * have folded it, so a read right after the answer sees it. An instance that does not lead
 * refuses instead of publishing a decision every fold would ignore.
 */
import { Effect } from "effect"
import { type AuthorityState, isLeader } from "../domain/cluster/Authority.ts"
import type { MessageType, PayloadInput } from "../domain/MessageTypes.ts"
import type { ProjectionsService } from "../projections/ProjectionRunner.ts"
import type { AuthorService } from "./Author.ts"
import type { Appended } from "./Ingest.ts"

/** What publishing a leader's decision needs. */
export interface LeaderDecisionDeps {
  readonly author: Pick<AuthorService, "publicKey" | "publish">
  readonly runner: Pick<ProjectionsService, "awaitOffset">
  /** The authority as a view folded under it holds it now. */
  readonly authority: Effect.Effect<AuthorityState>
}

/**
 * Publish `payload` as a `type` decision when the instance leads, and wait until it is folded;
 * else fail with `refused(reason, leader)`. `what` says what only the leader does, for the reason.
 */
export const publishAsLeader = <T extends MessageType, E>(
  deps: LeaderDecisionDeps,
  what: string,
  type: T,
  payload: PayloadInput<T>,
  refused: (reason: string, leader: string | null) => E
): Effect.Effect<Appended, E | Effect.Error<ReturnType<AuthorService["publish"]>>> =>
  Effect.gen(function*() {
    const authority = yield* deps.authority
    if (!isLeader(authority, deps.author.publicKey)) {
      return yield* Effect.fail(refused(
        authority.leader === null
          ? `the cluster has no leader now: ${what} only by the leader; retry once a member leads (GET /v1/cluster)`
          : `this instance does not lead the cluster: ${what} only by the leader ${authority.leader}; do it there`,
        authority.leader
      ))
    }
    const appended: Appended = yield* deps.author.publish(type, payload)
    yield* deps.runner.awaitOffset(appended.offset + 1)
    return appended
  })
