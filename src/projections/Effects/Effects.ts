/**
 * The effects projection: the effect tracker's state (src/domain/effects/EffectFold.ts) folded
 * from the log. Chain observations and EffectsObserved count from the chain's owner at their
 * place in the log (a deployment of one: the instance), watches from any member, as for the
 * chain-state and chain-watches projections; the fold re-checks every receipt proof itself.
 * IbcPacketEvidence and IbcPacketEvidenceV2 count from the owner of the chain the leg is proven on
 * (src/domain/effects/IbcPacketFold.ts, IbcPacketV2Fold.ts).
 *
 * Retention (issue #14) is by count: past `maxEffects` effects (`--max-effects`, default
 * MAX_EFFECTS; as many packets) the oldest leave memory, and the runner keeps each on disk as
 * it was last, under `e:<id>`, and its id under each alias (`a:<alias length>:<alias>:<Lamport
 * first tracked>:<id>`), where GET /v1/effects/{id} finds it.
 */
import { HashMap, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import { type AuthorityConfig, heeds, heedsChain, isMember } from "../../domain/cluster/Authority.ts"
import {
  type ChainTrack,
  type EffectsState,
  initialEffectsState,
  MAX_EFFECTS,
  onHead,
  onMark,
  onObserved,
  onReorg,
  onWatchAdded,
  onWatchRemoved
} from "../../domain/effects/EffectFold.ts"
import { onBackfillObserved } from "../../domain/effects/EffectBackfill.ts"
import { type AnyEffect, EffectBackfill, EffectWatch, IbcPacketEffect, TrackedEffect } from "../../domain/effects/EffectShapes.ts"
import { onIbcEvidence, onIbcHead, onIbcReorg } from "../../domain/effects/IbcPacketFold.ts"
import { onIbcEvidenceV2 } from "../../domain/effects/IbcPacketV2Fold.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import { type Archived, drainEvicted, type Projection } from "../Projection.ts"
import { payloadOf } from "../RecordEvents.ts"

/** The projection's name. */
export const EFFECTS = "effects"

/** The message types the effects projection reads. */
export const effectsTypes: ReadonlySet<string> = new Set([
  "ChainHeadVerified",
  "ChainReorged",
  "ChainSafe",
  "ChainFinalized",
  "EffectWatchAdded",
  "EffectWatchRemoved",
  "EffectsObserved",
  "IbcPacketEvidence",
  "IbcPacketEvidenceV2"
])

const NullableNumber = Schema.NullOr(Schema.Number)
const TrackJson = Schema.Struct({
  headers: Schema.Array(Schema.Tuple([Schema.Number, Schema.String])),
  head: NullableNumber,
  safe: NullableNumber,
  finalized: NullableNumber,
  scanned: Schema.NullOr(Schema.Struct({ height: Schema.Number, hash: Schema.String, id: Schema.String, time: Schema.optional(Schema.String) })),
  pending: Schema.Array(Schema.String)
})
const StateJson = Schema.Struct({
  watches: Schema.Array(EffectWatch),
  chains: Schema.Record(Schema.String, TrackJson),
  effects: Schema.Array(TrackedEffect),
  journeys: Schema.Array(
    Schema.Tuple([Schema.String, Schema.Struct({ deposit: Schema.NullOr(Schema.String), fills: Schema.Array(Schema.String), refunds: Schema.Array(Schema.String) })])
  ),
  ignored: Schema.Number,
  packets: Schema.optional(Schema.Array(IbcPacketEffect)),
  cosmosHeaders: Schema.optional(Schema.Record(Schema.String, Schema.Array(Schema.Tuple([Schema.Number, Schema.String, Schema.String, Schema.Number])))),
  backfills: Schema.Array(EffectBackfill),
  deadlines: Schema.Array(Schema.String),
  expired: Schema.Array(Schema.String),
  maxEffects: Schema.Number
})
const encodeStateJson = Schema.encodeSync(StateJson)
const decodeStateJson = Schema.decodeUnknownSync(StateJson)

const byKey = <A>(entries: Iterable<readonly [string, A]>): Array<readonly [string, A]> => [...entries].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

const encode = (state: EffectsState): Json => {
  const chains: Record<string, typeof TrackJson.Type> = {}
  for (const [chain, t] of byKey(HashMap.entries(state.chains))) {
    chains[chain] = {
      headers: [...HashMap.entries(t.headers)].sort((a, b) => a[0] - b[0]),
      head: t.head,
      safe: t.safe,
      finalized: t.finalized,
      scanned: t.scanned,
      pending: t.pending
    }
  }
  const effects: Array<TrackedEffect> = []
  for (const id of state.order) {
    const e = HashMap.get(state.effects, id)
    if (e._tag === "Some") effects.push(e.value)
  }
  const packets: Array<IbcPacketEffect> = []
  for (const id of state.packetOrder) {
    const e = HashMap.get(state.packets, id)
    if (e._tag === "Some") packets.push(e.value)
  }
  const cosmosHeaders: Record<string, Array<readonly [number, string, string, number]>> = {}
  for (const [chain, headers] of byKey(HashMap.entries(state.cosmosHeaders))) {
    cosmosHeaders[chain] = [...HashMap.entries(headers)].sort((a, b) => a[0] - b[0]).map(([h, x]) => [h, x.hash, x.appHash, x.time] as const)
  }
  const json: Json = encodeStateJson({
    watches: byKey(HashMap.entries(state.watches)).map(([, w]) => w),
    chains,
    effects,
    journeys: byKey(HashMap.entries(state.journeys)),
    ignored: state.ignored,
    packets,
    cosmosHeaders,
    backfills: byKey(HashMap.entries(state.backfills)).map(([, c]) => c),
    deadlines: state.deadlines,
    expired: state.expired,
    maxEffects: state.maxEffects
  })
  return json
}

// The transaction index is derived: rebuilt from the effects' proven transaction hashes, in their order.
const transactionsOf = (effects: ReadonlyArray<TrackedEffect>): HashMap.HashMap<string, ReadonlyArray<string>> => {
  const index = new Map<string, Array<string>>()
  for (const e of effects) {
    const tx = e.origin.transactionHash
    if (tx === undefined) continue
    const ids = index.get(tx)
    if (ids === undefined) index.set(tx, [e.id])
    else ids.push(e.id)
  }
  return HashMap.fromIterable(index)
}

const decodeWith = (maxEffects: number) => (json: Json): EffectsState => {
  const s = decodeStateJson(json)
  // A snapshot folded under another bound dropped other effects: it is rebuilt from the log.
  if (s.maxEffects !== maxEffects) throw new Error(`the snapshot was folded with a bound of ${s.maxEffects} effects, not ${maxEffects}`)
  return {
    maxEffects,
    watches: HashMap.fromIterable(s.watches.map((w) => [w.id, w] as const)),
    chains: HashMap.fromIterable(Object.entries(s.chains).map(([chain, t]) => [chain, { ...t, headers: HashMap.fromIterable(t.headers) } satisfies ChainTrack] as const)),
    effects: HashMap.fromIterable(s.effects.map((e) => [e.id, e] as const)),
    order: s.effects.map((e) => e.id),
    journeys: HashMap.fromIterable(s.journeys),
    transactions: transactionsOf(s.effects),
    ignored: s.ignored,
    packets: HashMap.fromIterable((s.packets ?? []).map((e) => [e.id, e] as const)),
    packetOrder: (s.packets ?? []).map((e) => e.id),
    cosmosHeaders: HashMap.fromIterable(
      Object.entries(s.cosmosHeaders ?? {}).map(([chain, hs]) => [chain, HashMap.fromIterable(hs.map(([h, hash, appHash, time]) => [h, { hash, appHash, time }] as const))] as const)
    ),
    backfills: HashMap.fromIterable(s.backfills.map((c) => [c.watch, c] as const)),
    deadlines: s.deadlines,
    expired: s.expired,
    evicted: []
  }
}

const encodeTracked = Schema.encodeSync(TrackedEffect)
const encodePacket = Schema.encodeSync(IbcPacketEffect)
const decodeArchived = Schema.decodeUnknownSync(Schema.Union([TrackedEffect, IbcPacketEffect]))

/** An effect as the archive holds it, decoded (undefined for a value this projection cannot have written). */
export const archivedEffectOf = (json: Json): AnyEffect | undefined => {
  try {
    return decodeArchived(json)
  } catch {
    return undefined
  }
}

/** An archived effect's key. */
export const archivedEffectKey = (id: string): string => `e:${id}`

/** The prefix of the archived ids under an alias (its length first: an alias may hold colons). */
export const archivedAliasPrefix = (alias: string): string => `a:${alias.length}:${alias}:`

/** What the bound dropped, as kept on disk: each effect under its id, its id under each alias (oldest first by the Lamport time it was first tracked). */
const drain = <S extends EffectsState>(state: S): { readonly state: S; readonly archived: ReadonlyArray<Archived> } =>
  drainEvicted(state, (e) => {
    const tracked = String(e.history[0]?.lamport ?? 0).padStart(16, "0")
    return [
      { key: archivedEffectKey(e.id), value: (e.kind === "evm-log" ? encodeTracked(e) : encodePacket(e)) as Json },
      ...[...new Set(e.aliases)].map((alias): Archived => ({ key: `${archivedAliasPrefix(alias)}${tracked}:${e.id}`, value: e.id }))
    ]
  })

/** The effects projection, keeping at most `maxEffects` effects and as many packets in memory (default MAX_EFFECTS). */
export const makeEffects = (context: AuthorityConfig & { readonly maxEffects?: number | undefined }): Projection<WithAuthority<EffectsState>> => {
  const maxEffects = context.maxEffects ?? MAX_EFFECTS
  return authorized(context, {
    name: EFFECTS,
    // 6: the bound (`maxEffects`) is the deployment's and in the snapshot; what it drops goes to the archive.
    version: 6,
    needsLinks: true,
    handles: effectsTypes,
    initialState: { ...initialEffectsState, maxEffects },
    evolve: (state, record, authority) => {
      if (!isMember(authority, record.sender)) return state
      const meta = { id: record.id, lamport: record.lamport }
      switch (record.type) {
        case "EffectWatchAdded": {
          const p = payloadOf(record, "EffectWatchAdded")
          return p === undefined || !heeds(authority, record.type, record.sender) ? state : onWatchAdded(state, p, meta)
        }
        case "EffectWatchRemoved": {
          const p = payloadOf(record, "EffectWatchRemoved")
          return p === undefined || !heeds(authority, record.type, record.sender) ? state : onWatchRemoved(state, p.watch)
        }
        case "ChainHeadVerified": {
          const p = payloadOf(record, "ChainHeadVerified")
          return p === undefined || !heedsChain(authority, p.chain, record.sender) ? state : onIbcHead(onHead(state, p), p)
        }
        case "ChainReorged": {
          const p = payloadOf(record, "ChainReorged")
          return p === undefined || !heedsChain(authority, p.chain, record.sender) ? state : onIbcReorg(onReorg(state, p, meta), p, meta)
        }
        case "ChainSafe":
        case "ChainFinalized": {
          const p = payloadOf(record, record.type)
          return p === undefined || !heedsChain(authority, p.chain, record.sender) ? state : onMark(state, record.type === "ChainSafe" ? "safe" : "finalized", p, meta)
        }
        case "EffectsObserved": {
          const p = payloadOf(record, "EffectsObserved")
          if (p === undefined || !heedsChain(authority, p.chain, record.sender)) return state
          return p.backfill === undefined ? onObserved(state, p, meta) : onBackfillObserved(state, p, meta)
        }
        case "IbcPacketEvidence": {
          const p = payloadOf(record, "IbcPacketEvidence")
          return p === undefined || !heedsChain(authority, p.chain, record.sender) ? state : onIbcEvidence(state, p, meta)
        }
        case "IbcPacketEvidenceV2": {
          const p = payloadOf(record, "IbcPacketEvidenceV2")
          return p === undefined || !heedsChain(authority, p.chain, record.sender) ? state : onIbcEvidenceV2(state, p, meta)
        }
        default:
          return state
      }
    },
    encode,
    decode: decodeWith(maxEffects),
    drain
  })
}
