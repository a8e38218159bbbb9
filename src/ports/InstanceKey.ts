/**
 * The instance's own signing key. The instance authors events of its own (sealed batches,
 * receipts, chain observations) and signs them like any sender; projections recognise
 * them by this key's public half. Adapters: a key file in the data directory, created on
 * first start (production), or a given key (tests).
 *
 * Beside it, the deployment's cluster admin (configuration): when set, decisions count from
 * the cluster's leader rather than from this key (src/domain/cluster/Authority.ts).
 */
import { Context, Effect } from "effect"
import type { AuthorityConfig, AuthorityState } from "../domain/cluster/Authority.ts"
import type { KeyFile } from "../domain/Keys.ts"

/** The instance key service tag: the key pair. */
export class InstanceKey extends Context.Service<InstanceKey, KeyFile>()("causeway/InstanceKey") {}

/** The cluster admin's public key (hex), or undefined for a deployment of one instance (the default). */
export const ClusterAdmin = Context.Reference<string | undefined>("causeway/ClusterAdmin", { defaultValue: () => undefined })

/** Who decides in this deployment: the instance key, or the cluster admin's members. */
export const authorityConfig: Effect.Effect<AuthorityConfig, never, InstanceKey> = Effect.gen(function*() {
  const key = yield* InstanceKey
  return { instanceKey: key.publicKey, clusterAdmin: yield* ClusterAdmin }
})

/**
 * The authority in force as this instance's projections last folded it (the cluster
 * projection's), for ingest to refuse decisions from keys without the right before anything
 * is written. Undefined when nothing provides it (tests of ingest alone): no such check.
 */
export const AuthorityView = Context.Reference<{ readonly current: Effect.Effect<AuthorityState> } | undefined>("causeway/AuthorityView", {
  defaultValue: () => undefined
})
