/**
 * Registering asset mappings as the instance: an AssetMappingRegistered published through
 * Author, then waited for until the projections have folded it, so a read right after the
 * answer sees it. Only the authority's mappings count (src/domain/assets/AssetMessages.ts):
 * an instance that does not lead (a cluster member out of its term) refuses instead of
 * publishing a decision every fold would ignore.
 */
import { Data, Effect } from "effect"
import type { PayloadInput } from "../domain/MessageTypes.ts"
import type { AssetsState } from "../projections/Assets/Assets.ts"
import type { WithAuthority } from "../projections/Authorized.ts"
import type { ProjectionsService } from "../projections/ProjectionRunner.ts"
import type { View } from "../projections/Views.ts"
import { publishAsLeader } from "./LeaderDecision.ts"
import type { AuthorService } from "./Author.ts"

/** This instance does not hold the right to register mappings at this point of the log. */
export class NotAssetAuthority extends Data.TaggedError("NotAssetAuthority")<{
  readonly reason: string
  /** The leader now, if any. */
  readonly leader: string | null
}> {}

/** What registration needs: the author, the runner to wait on, the registry's view. */
export interface AssetRegistrationDeps {
  readonly author: Pick<AuthorService, "publicKey" | "publish">
  readonly runner: Pick<ProjectionsService, "awaitOffset">
  readonly assets: Pick<View<WithAuthority<AssetsState>>, "state">
}

/** Publish the mappings as the instance (when it leads) and wait until they are folded; the message's receipt. */
export const registerMappings = (deps: AssetRegistrationDeps) =>
  Effect.fn("AssetRegistration.register")(function*(payload: PayloadInput<"AssetMappingRegistered">) {
    return yield* publishAsLeader(
      { author: deps.author, runner: deps.runner, authority: Effect.map(deps.assets.state, (s) => s.authority) },
      "mappings are registered",
      "AssetMappingRegistered",
      payload,
      (reason, leader) => new NotAssetAuthority({ reason, leader })
    )
  })
