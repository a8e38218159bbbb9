/**
 * Typed read services over the runner's projections: a reader asks for `MempoolView` and gets
 * the mempool's state, typed, instead of rebuilding the projection to look its state up by
 * name and casting it. Built once over the runner (`layer`), beside it in the composition
 * root; the lookup by name and the one cast live here.
 */
import { Context, Effect, Layer, type Option, Stream } from "effect"
import type { Json } from "../domain/CanonicalJson.ts"
import type { EffectsState } from "../domain/effects/EffectFold.ts"
import type { MempoolState } from "../domain/mempool/MempoolFold.ts"
import { authorityConfig, type InstanceKey } from "../ports/InstanceKey.ts"
import { type AssetsState, makeAssets } from "./Assets/Assets.ts"
import type { WithAuthority } from "./Authorized.ts"
import { type ChainState, makeChainState } from "./ChainState/ChainState.ts"
import { type ChainWatchesState, makeChainWatches } from "./ChainWatches/ChainWatches.ts"
import { type ClusterState, makeCluster } from "./Cluster/Cluster.ts"
import { makeEffects } from "./Effects/Effects.ts"
import { LogIndex, type LogIndexState } from "./LogIndex/LogIndex.ts"
import { makeMempool } from "./Mempool/Mempool.ts"
import { makeOperators, type OperatorsState } from "./Operators/Operators.ts"
import type { Projection } from "./Projection.ts"
import { makeRegisters, type RegistersProjectionState } from "./Registers/Registers.ts"
import { makeSequences, type SequencesProjectionState } from "./Sequences/Sequences.ts"
import { makeProofs, type ProofsProjectionState } from "./Proofs/Proofs.ts"
import { Projections, type ProjectionsService } from "./ProjectionRunner.ts"
import type { SenderStanding } from "../domain/senders/SenderScore.ts"
import { standingIn } from "./SenderScores.ts"

/** A projection's state as the runner holds it now. */
export interface View<S> {
  /** The state with the offset it covers (every record below it is folded in). */
  readonly current: Effect.Effect<{ readonly offset: number; readonly state: S }>
  /** The state alone. */
  readonly state: Effect.Effect<S>
  /** The state and offset now and after each fold step, the latest only (ProjectionsService.changes). */
  readonly changes: Stream.Stream<{ readonly offset: number; readonly state: S }>
  /** An entry the projection dropped from memory (retention), as it is kept on disk. */
  readonly archived: (key: string) => Effect.Effect<Option.Option<Json>>
  /** The entries the projection archived under keys starting with `prefix`, in key order, at most `limit`. */
  readonly archivedRange: (prefix: string, limit: number) => Effect.Effect<ReadonlyArray<{ readonly key: string; readonly value: Json }>>
}

/** The mempool's state. */
export class MempoolView extends Context.Service<MempoolView, View<WithAuthority<MempoolState>>>()("causeway/MempoolView") {}
/** The operators' state (intents, auctions, refusals). */
export class OperatorsView extends Context.Service<OperatorsView, View<WithAuthority<OperatorsState>>>()("causeway/OperatorsView") {}
/** The chain-observer state (verified headers, marks, reorgs, proven values). */
export class ChainStateView extends Context.Service<ChainStateView, View<WithAuthority<ChainState>>>()("causeway/ChainStateView") {}
/** The chain watches. */
export class ChainWatchesView extends Context.Service<ChainWatchesView, View<WithAuthority<ChainWatchesState>>>()("causeway/ChainWatchesView") {}
/** The effect tracker's state (effects, their evidence, the watches). */
export class EffectsView extends Context.Service<EffectsView, View<WithAuthority<EffectsState>>>()("causeway/EffectsView") {}
/** The cluster's authority and the foreign decisions seen. */
export class ClusterStateView extends Context.Service<ClusterStateView, View<ClusterState>>()("causeway/ClusterStateView") {}
/** The asset registry (the authority's AssetMappingRegistered decisions). */
export class AssetsView extends Context.Service<AssetsView, View<WithAuthority<AssetsState>>>()("causeway/AssetsView") {}
/** The registers (RegisterUpdated, with the proofs they wait on). */
export class RegistersView extends Context.Service<RegistersView, View<WithAuthority<RegistersProjectionState>>>()("causeway/RegistersView") {}
/** The execution sequences (announcements, claims, results, the authority's outcomes). */
export class SequencesView extends Context.Service<SequencesView, View<WithAuthority<SequencesProjectionState>>>()("causeway/SequencesView") {}
/** The proofs: verification keys, announced proofs, their shares and verdicts. */
export class ProofsView extends Context.Service<ProofsView, View<WithAuthority<ProofsProjectionState>>>()("causeway/ProofsView") {}
/** Senders' standings: the score marks of the mempool, operators and proofs combined (SenderScores.ts). */
export interface SenderScoresService {
  /** A lookup over the projections' current states (each sender: a few map reads). */
  readonly current: Effect.Effect<(sender: string) => SenderStanding>
}
/** Senders' standings. */
export class SenderScoresView extends Context.Service<SenderScoresView, SenderScoresService>()("causeway/SenderScoresView") {}
/** The log index (counts by type and sender). */
export class IndexView extends Context.Service<IndexView, View<LogIndexState>>()("causeway/IndexView") {}

/** Every view. */
export type Views =
  | MempoolView
  | OperatorsView
  | ChainStateView
  | ChainWatchesView
  | EffectsView
  | ClusterStateView
  | IndexView
  | AssetsView
  | RegistersView
  | SequencesView
  | ProofsView
  | SenderScoresView

// A projection the runner does not run is a wiring bug, not a condition to handle.
const viewOf = <S>(runner: ProjectionsService, p: Projection<S>): View<S> => {
  const current = runner.state(p).pipe(Effect.orDie)
  return {
    current,
    state: Effect.map(current, (c) => c.state),
    changes: runner.changes(p).pipe(Stream.orDie),
    archived: (key) => runner.archived(p, key).pipe(Effect.orDie),
    archivedRange: (prefix, limit) => runner.archivedRange(p, prefix, limit).pipe(Effect.orDie)
  }
}

/** The views over the runner in context (its projections built for the deployment's authority). */
export const layer: Layer.Layer<Views, never, Projections | InstanceKey> = Layer.effectContext(
  Effect.gen(function*() {
    const runner = yield* Projections
    const context = yield* authorityConfig
    const mempool = viewOf(runner, makeMempool(context))
    const operators = viewOf(runner, makeOperators(context))
    const proofs = viewOf(runner, makeProofs(context))
    const scores: SenderScoresService = {
      current: Effect.map(Effect.all([mempool.state, operators.state, proofs.state]), ([m, o, p]) => standingIn({ mempool: m, operators: o, proofs: p }))
    }
    return Context.make(MempoolView, mempool).pipe(
      Context.add(OperatorsView, operators),
      Context.add(ChainStateView, viewOf(runner, makeChainState(context))),
      Context.add(ChainWatchesView, viewOf(runner, makeChainWatches(context))),
      Context.add(EffectsView, viewOf(runner, makeEffects(context))),
      Context.add(ClusterStateView, viewOf(runner, makeCluster(context))),
      Context.add(IndexView, viewOf(runner, LogIndex)),
      Context.add(AssetsView, viewOf(runner, makeAssets(context))),
      Context.add(RegistersView, viewOf(runner, makeRegisters(context))),
      Context.add(SequencesView, viewOf(runner, makeSequences(context))),
      Context.add(ProofsView, proofs),
      Context.add(SenderScoresView, scores)
    )
  })
)
