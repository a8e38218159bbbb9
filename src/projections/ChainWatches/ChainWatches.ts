/**
 * The chain-watches projection: the state keys the instance watches on each chain, as its
 * own ChainWatchAdded / ChainWatchRemoved messages decided them. The chain feed starts from
 * it, so a restarted or replayed instance watches exactly the keys the log says it watches.
 * Only messages the instance key signed are folded (anyone may submit the types); a
 * removal of a key not watched, or an addition of one already watched, is counted as
 * ignored. Each watch keeps its owner (the API token that asked for it), so a token's watches
 * are counted here.
 */
import { HashMap, Option, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import { type AuthorityConfig, heeds } from "../../domain/cluster/Authority.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import type { Projection } from "../Projection.ts"
import { payloadOf } from "../RecordEvents.ts"

/** A watch as the state keeps it: the ChainWatchAdded message that started it, and its owner (none: recorded without one). */
export interface WatchRecord {
  readonly id: string
  readonly owner?: string
}

/** A watched key: the ChainWatchAdded message that started the watch, and its owner. */
export interface WatchEntry extends WatchRecord {
  readonly key: string
}

/** The projection's state: per chain, its watched keys. */
export interface ChainWatchesState {
  readonly chains: HashMap.HashMap<string, HashMap.HashMap<string, WatchRecord>>
  readonly ignored: number
}

const initialState: ChainWatchesState = { chains: HashMap.empty(), ignored: 0 }

/** Most keys watched on one chain: each costs a proof at every head where it changed (the chain feed refuses more). */
export const MAX_CHAIN_WATCHES = 256

/** Fold one watch decision (already known to come from the instance). */
export const evolveWatches = (
  state: ChainWatchesState,
  event: { readonly type: "ChainWatchAdded" | "ChainWatchRemoved"; readonly chain: string; readonly key: string; readonly owner?: string | undefined },
  id: string
): ChainWatchesState => {
  const keys = Option.getOrElse(HashMap.get(state.chains, event.chain), () => HashMap.empty<string, WatchRecord>())
  const watched = HashMap.has(keys, event.key)
  if (event.type === "ChainWatchAdded" ? watched : !watched) return { ...state, ignored: state.ignored + 1 }
  if (event.type === "ChainWatchAdded" && HashMap.size(keys) >= MAX_CHAIN_WATCHES) return { ...state, ignored: state.ignored + 1 }
  const next = event.type === "ChainWatchAdded" ? HashMap.set(keys, event.key, recordOf(id, event.owner)) : HashMap.remove(keys, event.key)
  return { ...state, chains: HashMap.size(next) === 0 ? HashMap.remove(state.chains, event.chain) : HashMap.set(state.chains, event.chain, next) }
}

const recordOf = (id: string, owner: string | undefined): WatchRecord => (owner === undefined ? { id } : { id, owner })

/** The keys watched on a chain, sorted. */
export const watchesOf = (state: ChainWatchesState, chain: string): ReadonlyArray<WatchEntry> =>
  [...Option.getOrElse(HashMap.get(state.chains, chain), () => HashMap.empty<string, WatchRecord>())]
    .map(([key, w]) => ({ key, ...w }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))

/** How many watches an API token (its name) owns, on every chain. */
export const watchesOwnedBy = (state: ChainWatchesState, owner: string): number => {
  let n = 0
  for (const keys of HashMap.values(state.chains)) for (const w of HashMap.values(keys)) if (w.owner === owner) n++
  return n
}

/** The chains with at least one watch, sorted. */
export const watchedChains = (state: ChainWatchesState): ReadonlyArray<string> => [...HashMap.keys(state.chains)].sort()

const StateJson = Schema.Struct({
  chains: Schema.Record(Schema.String, Schema.Record(Schema.String, Schema.Struct({ id: Schema.String, owner: Schema.optionalKey(Schema.String) }))),
  ignored: Schema.Number
})
const decodeStateJson = Schema.decodeUnknownSync(StateJson)

const encode = (state: ChainWatchesState): Json => {
  const chains: Record<string, Json> = {}
  for (const chain of watchedChains(state)) {
    const keys: Record<string, Json> = {}
    for (const w of watchesOf(state, chain)) keys[w.key] = w.owner === undefined ? { id: w.id } : { id: w.id, owner: w.owner }
    chains[chain] = keys
  }
  return { chains, ignored: state.ignored }
}

const decode = (json: Json): ChainWatchesState => {
  const s = decodeStateJson(json)
  return {
    ignored: s.ignored,
    chains: HashMap.fromIterable(Object.entries(s.chains).map(([chain, keys]) => [chain, HashMap.fromIterable(Object.entries(keys))] as const))
  }
}

/** The projection's name. */
export const CHAIN_WATCHES = "chain-watches"

/** The chain-watches projection: watches count from any member (the instance of a deployment of one). */
export const makeChainWatches = (context: AuthorityConfig): Projection<WithAuthority<ChainWatchesState>> =>
  authorized(context, {
    name: CHAIN_WATCHES,
    // 2: watches count from the members at their place in the log; 3: with their owners.
    version: 3,
    needsLinks: true,
    handles: new Set(["ChainWatchAdded", "ChainWatchRemoved"]),
    initialState,
    evolve: (state, record, authority) => {
      if ((record.type !== "ChainWatchAdded" && record.type !== "ChainWatchRemoved") || !heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, record.type)
      // The log holds only payloads decoded at ingest: a failure is a corrupt record.
      if (p === undefined) return state
      return evolveWatches(state, { type: record.type, chain: p.chain, key: p.key, owner: "owner" in p ? p.owner : undefined }, record.id)
    },
    encode,
    decode
  })
