/**
 * The asset registry projection: the chain-local denoms and addresses the deployment's
 * authority mapped to canonical assets (AssetMappingRegistered), folded into the registry
 * resolveAssetReference reads (src/domain/assets/AssetResolver.ts). Only the leader's
 * mappings count (the instance of a deployment of one), judged at each record's place in the
 * log, so a replay folds the same registry; a later mapping of a chain-local asset replaces
 * the earlier one (counted in `replaced`).
 */
import { HashMap, Schema } from "effect"
import { AssetMapping, localKey } from "../../domain/assets/AssetMessages.ts"
import { type AssetRegistry, registryOf } from "../../domain/assets/AssetResolver.ts"
import type { Json } from "../../domain/CanonicalJson.ts"
import { type AuthorityConfig, heeds } from "../../domain/cluster/Authority.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import type { Projection } from "../Projection.ts"
import { payloadOf } from "../RecordEvents.ts"

/** A mapping in force and the message that registered it. */
export interface MappingEntry {
  readonly mapping: AssetMapping
  /** The AssetMappingRegistered message's id and offset. */
  readonly id: string
  readonly offset: number
}

/** The projection's state: each chain-local asset's mapping, by `localKey`. */
export interface AssetsState {
  readonly mappings: HashMap.HashMap<string, MappingEntry>
  /** Mappings that replaced an earlier mapping of the same chain-local asset. */
  readonly replaced: number
}

const initialState: AssetsState = { mappings: HashMap.empty(), replaced: 0 }

/** Fold one registration (already known to come from the authority). */
export const evolveAssets = (state: AssetsState, mappings: ReadonlyArray<AssetMapping>, id: string, offset: number): AssetsState => {
  let next = state.mappings
  let replaced = state.replaced
  for (const mapping of mappings) {
    const key = localKey(mapping.chain, mapping.local)
    if (HashMap.has(next, key)) replaced += 1
    next = HashMap.set(next, key, { mapping, id, offset })
  }
  return { mappings: next, replaced }
}

const byKey = (a: readonly [string, MappingEntry], b: readonly [string, MappingEntry]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)

/** The mappings in force, sorted by chain and local name. */
export const mappingsOf = (state: AssetsState): ReadonlyArray<MappingEntry> => [...state.mappings].sort(byKey).map(([, e]) => e)

// A state's mappings never change (folds make new maps): its registry is built once per map.
const registries = new WeakMap<HashMap.HashMap<string, MappingEntry>, AssetRegistry>()

/** The registry resolveAssetReference reads, of this state. */
export const registryOfState = (state: AssetsState): AssetRegistry => {
  let registry = registries.get(state.mappings)
  if (registry === undefined) {
    registry = registryOf(mappingsOf(state).map((e) => e.mapping))
    registries.set(state.mappings, registry)
  }
  return registry
}

const StateJson = Schema.Struct({
  mappings: Schema.Array(Schema.Struct({ mapping: AssetMapping, id: Schema.String, offset: Schema.Number })),
  replaced: Schema.Number
})
const decodeStateJson = Schema.decodeUnknownSync(StateJson)
const encodeMapping = Schema.encodeSync(AssetMapping)

const encode = (state: AssetsState): Json => ({
  mappings: mappingsOf(state).map((e) => ({ mapping: encodeMapping(e.mapping) as unknown as Json, id: e.id, offset: e.offset })),
  replaced: state.replaced
})

const decode = (json: Json): AssetsState => {
  const s = decodeStateJson(json, { onExcessProperty: "error" })
  return {
    replaced: s.replaced,
    mappings: HashMap.fromIterable(s.mappings.map((e) => [localKey(e.mapping.chain, e.mapping.local), e] as const))
  }
}

/** The projection's name. */
export const ASSETS = "assets"

/** The asset registry projection: mappings count from the leader (the instance of a deployment of one). */
export const makeAssets = (context: AuthorityConfig): Projection<WithAuthority<AssetsState>> =>
  authorized(context, {
    name: ASSETS,
    version: 1,
    needsLinks: true,
    handles: new Set(["AssetMappingRegistered"]),
    initialState,
    evolve: (state, record, authority) => {
      if (record.type !== "AssetMappingRegistered" || !heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "AssetMappingRegistered")
      // The log holds only payloads decoded at ingest: a failure is a corrupt record.
      if (p === undefined) return state
      return evolveAssets(state, p.mappings, record.id, record.offset)
    },
    encode,
    decode
  })
