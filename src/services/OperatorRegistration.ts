/**
 * Registering and removing operators as the instance: an OperatorRegistered or OperatorRemoved
 * published through Author, then waited for until the projections have folded it, so a
 * proposal sent right after the answer is judged against it. Only the authority's decisions
 * count (src/domain/operators/OperatorRegistry.ts): an instance that does not lead refuses
 * instead of publishing a decision every fold would ignore.
 */
import { Data, Effect } from "effect"
import type { PayloadInput } from "../domain/MessageTypes.ts"
import type { AuthorityState } from "../domain/cluster/Authority.ts"
import type { ProjectionsService } from "../projections/ProjectionRunner.ts"
import { publishAsLeader } from "./LeaderDecision.ts"
import type { AuthorService } from "./Author.ts"

/** This instance does not hold the right to register operators at this point of the log. */
export class NotOperatorAuthority extends Data.TaggedError("NotOperatorAuthority")<{
  readonly reason: string
  /** The leader now, if any. */
  readonly leader: string | null
}> {}

/** What registration needs: the author, the runner to wait on, the operators' view. */
export interface OperatorRegistrationDeps {
  readonly author: Pick<AuthorService, "publicKey" | "publish">
  readonly runner: Pick<ProjectionsService, "awaitOffset">
  /** Any view folded under the authority (the operators'). */
  readonly operators: { readonly state: Effect.Effect<{ readonly authority: AuthorityState }> }
}

const publishAsAuthority = <T extends "OperatorRegistered" | "OperatorRemoved">(deps: OperatorRegistrationDeps, type: T, payload: PayloadInput<T>) =>
  publishAsLeader(
    { author: deps.author, runner: deps.runner, authority: Effect.map(deps.operators.state, (s) => s.authority) },
    "operators are registered",
    type,
    payload,
    (reason, leader) => new NotOperatorAuthority({ reason, leader })
  )

/** Publish an OperatorRegistered as the instance (when it leads) and wait until it is folded; the message's receipt. */
export const registerOperator = (deps: OperatorRegistrationDeps) =>
  Effect.fn("OperatorRegistration.register")(function*(payload: PayloadInput<"OperatorRegistered">) {
    return yield* publishAsAuthority(deps, "OperatorRegistered", payload)
  })

/** Publish an OperatorRemoved as the instance (when it leads) and wait until it is folded; the message's receipt. */
export const removeOperator = (deps: OperatorRegistrationDeps) =>
  Effect.fn("OperatorRegistration.remove")(function*(payload: PayloadInput<"OperatorRemoved">) {
    return yield* publishAsAuthority(deps, "OperatorRemoved", payload)
  })
