/**
 * The chain-observer projection: per chain, the latest verified header, the safe and
 * finalized heights, the recent headers, the reorg history and the state values proven
 * against those headers (LightClientProof). It folds only messages the instance authored
 * (sender = the instance key): anyone can submit these types, only the instance's are facts.
 *
 * A ChainReorged message rolls back everything derived above its fork point (headers,
 * safe and finalized marks, proven values), so the new branch's headers link again from
 * the fork point and a replay of the log rebuilds the same state. A message that does not
 * fit what is known (a header that does not link to the head, a finality mark above the
 * head or on another branch, a proof of a header not held) is counted as ignored, not folded.
 *
 * Misbehaviour reports (ChainMisbehaviourDetected) are held per chain, each once; a report
 * about a chain never announced is ignored (it stays in the log).
 *
 * Bounded: the last RETAINED_HEADERS heights per chain, the last MAX_REORGS reorgs (and their
 * total), the last MAX_PROOF_HISTORY proven values per key, the last MAX_MISBEHAVIOURS reports.
 *
 * Retention (issue #14): a key whose newest proven value was checked against a header that fell
 * out of the kept window (RETAINED_HEADERS below the head) leaves memory with its values; the
 * runner keeps them on disk under `p:<chain length>:<chain>:<key>`, where GET
 * /v1/chains/{chain}/proven finds them. A watched key is proven again at the next head.
 */
import { HashMap, Option, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import { ChainFinalized, ChainHeadVerified, ChainMisbehaviourDetected, ChainReorged, ChainSafe } from "../../domain/chain/ChainMessages.ts"
import { LightClientProof } from "../../domain/MessageTypes.ts"
import type { LogRecord } from "../../ports/CausalLog.ts"
import type { FollowCursor, VerifiedHeader } from "../../ports/ChainObserver.ts"
import { type AuthorityConfig, heedsChain, isMember } from "../../domain/cluster/Authority.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import { type Archived, drainEvicted, type Projection } from "../Projection.ts"
import { eventOf } from "../RecordEvents.ts"

/** Heights kept per chain (headers below head - this are dropped). */
export const RETAINED_HEADERS = 1024
/** Reorgs kept per chain (the total is counted). */
export const MAX_REORGS = 64
/** Proven values kept per key. */
export const MAX_PROOF_HISTORY = 8
/** Misbehaviour reports kept per chain. */
export const MAX_MISBEHAVIOURS = 16

/** A height and its header's hash. */
export interface Point {
  readonly height: number
  readonly hash: string
}

/** A verified header as held, with the id of the message that announced it. */
export interface HeaderEntry extends Point {
  readonly parentHash: string
  readonly stateRoot: string
  readonly time: number
  readonly id: string
}

/** A reorg as held. */
export interface ReorgEntry {
  readonly forkHeight: number
  readonly forkHash: string
  readonly oldHead: Point
  readonly newHead: Point
  /** Headers of the old branch dropped: oldHead.height - forkHeight. */
  readonly depth: number
  /** The fork point was below the finalized height: finality was violated. */
  readonly finalityViolated: boolean
  readonly id: string
}

/** A proven value as held. */
export interface ProofEntry {
  readonly height: number
  readonly headerHash: string
  readonly kind: string
  /** Empty for a proven absence. */
  readonly value: string
  /** The LightClientProof message (its proof bytes are there). */
  readonly id: string
}

/** A misbehaviour report as held: two valid headers for one height. */
export interface MisbehaviourEntry {
  readonly height: number
  readonly commonHeight: number
  readonly commonHash: string
  readonly primaryHash: string
  readonly witnessHash: string
  /** The ChainMisbehaviourDetected message (both headers are there). */
  readonly id: string
}

/** One chain's state. */
export interface ChainEntry {
  readonly kind: "evm" | "cosmos"
  readonly head: Point | null
  readonly headers: HashMap.HashMap<number, HeaderEntry>
  readonly safe: Point | null
  readonly finalized: Point | null
  readonly reorgs: ReadonlyArray<ReorgEntry>
  readonly reorgCount: number
  /** Proven values by key, ascending by height. */
  readonly proofs: HashMap.HashMap<string, ReadonlyArray<ProofEntry>>
  /** Conflicting headers reported, oldest first (each once). */
  readonly misbehaviours: ReadonlyArray<MisbehaviourEntry>
  /** Messages about this chain that did not fit what was known. */
  readonly ignored: number
}

/** The projection's state. */
export interface ChainState {
  readonly chains: HashMap.HashMap<string, ChainEntry>
  /** Trusted chain messages about a chain never announced. */
  readonly ignored: number
  /** Keys whose proven values left memory since the projection last drained them, as they were last (never in a snapshot). */
  readonly evicted: ReadonlyArray<ProvenArchived>
}

/** A key's proven values as they left memory. */
export interface ProvenArchived {
  readonly chain: string
  readonly key: string
  readonly proofs: ReadonlyArray<ProofEntry>
}

const initialState: ChainState = { chains: HashMap.empty(), ignored: 0, evicted: [] }

// ---------------------------------------------------------------------------------------
// Reading records
// ---------------------------------------------------------------------------------------

const payloadSchemas = { ChainHeadVerified, ChainReorged, ChainFinalized, ChainSafe, ChainMisbehaviourDetected, LightClientProof } as const
type ChainMessageType = keyof typeof payloadSchemas
type Payload<T extends ChainMessageType> = (typeof payloadSchemas)[T]["Type"]

/** A chain message the projection folds. */
export type ChainEvent =
  | { readonly type: "ChainHeadVerified"; readonly payload: Payload<"ChainHeadVerified"> }
  | { readonly type: "ChainReorged"; readonly payload: Payload<"ChainReorged"> }
  | { readonly type: "ChainFinalized"; readonly payload: Payload<"ChainFinalized"> }
  | { readonly type: "ChainSafe"; readonly payload: Payload<"ChainSafe"> }
  | { readonly type: "ChainMisbehaviourDetected"; readonly payload: Payload<"ChainMisbehaviourDetected"> }
  | { readonly type: "LightClientProof"; readonly payload: Payload<"LightClientProof"> }

const isChainType = (type: string): type is ChainMessageType => Object.hasOwn(payloadSchemas, type)

/** The message types the projection reads. */
const chainTypes: ReadonlySet<string> = new Set(Object.keys(payloadSchemas))

/** The chain event a record carries, if it is one of the types folded here (sender not checked). */
export const chainEventOf = (record: LogRecord): ChainEvent | undefined => {
  if (!isChainType(record.type)) return undefined
  // The log holds only envelopes whose payload was decoded at ingest: a failure is a corrupt record.
  const event = eventOf(record)
  return event === undefined ? undefined : ({ type: record.type, payload: event.payload } as ChainEvent)
}

// ---------------------------------------------------------------------------------------
// Folding
// ---------------------------------------------------------------------------------------

const newChain = (kind: ChainEntry["kind"]): ChainEntry => ({
  kind,
  head: null,
  headers: HashMap.empty(),
  safe: null,
  finalized: null,
  reorgs: [],
  reorgCount: 0,
  proofs: HashMap.empty(),
  misbehaviours: [],
  ignored: 0
})

const ignore = (c: ChainEntry): ChainEntry => ({ ...c, ignored: c.ignored + 1 })

const headerAt = (c: ChainEntry, height: number): HeaderEntry | undefined => Option.getOrUndefined(HashMap.get(c.headers, height))

/** Does `p` contradict a held header (same height, other hash)? */
const contradicts = (c: ChainEntry, p: Point): boolean => {
  const held = headerAt(c, p.height)
  return held !== undefined && held.hash !== p.hash
}

// Drop headers that fell out of the window when the head moved from `from` to `to`.
const trim = (headers: HashMap.HashMap<number, HeaderEntry>, from: number, to: number): HashMap.HashMap<number, HeaderEntry> => {
  const cutoff = to - RETAINED_HEADERS
  if (to - from >= RETAINED_HEADERS) return HashMap.filter(headers, (_, h) => h > cutoff)
  return HashMap.mutate(headers, (m) => {
    for (let h = from - RETAINED_HEADERS + 1; h <= cutoff; h++) HashMap.remove(m, h)
  })
}

const onHead = (c: ChainEntry, p: Payload<"ChainHeadVerified">, id: string): ChainEntry => {
  if (p.kind !== c.kind) return ignore(c)
  if (c.head !== null) {
    if (p.height <= c.head.height) return ignore(c)
    if (p.height === c.head.height + 1 && p.parentHash !== c.head.hash) return ignore(c)
  }
  const entry: HeaderEntry = { height: p.height, hash: p.hash, parentHash: p.parentHash, stateRoot: p.stateRoot, time: p.time, id }
  const headers = HashMap.set(c.headers, p.height, entry)
  return {
    ...c,
    head: { height: p.height, hash: p.hash },
    headers: c.head === null ? headers : trim(headers, c.head.height, p.height)
  }
}

const rollBack = (mark: Point | null, fork: Point): Point | null => (mark !== null && mark.height > fork.height ? fork : mark)

const onReorg = (c: ChainEntry, p: Payload<"ChainReorged">, id: string): ChainEntry => {
  const fork: Point = { height: p.forkHeight, hash: p.forkHash }
  if (c.head === null || p.forkHeight >= c.head.height || contradicts(c, fork)) return ignore(c)
  const reorg: ReorgEntry = {
    forkHeight: p.forkHeight,
    forkHash: p.forkHash,
    oldHead: c.head,
    newHead: p.newHead,
    depth: c.head.height - p.forkHeight,
    finalityViolated: c.finalized !== null && c.finalized.height > p.forkHeight,
    id
  }
  const proofs = HashMap.mutate(c.proofs, (m) => {
    for (const [key, entries] of c.proofs) {
      const kept = entries.filter((e) => proofHeaderHeight(e) <= p.forkHeight)
      if (kept.length === entries.length) continue
      if (kept.length === 0) HashMap.remove(m, key)
      else HashMap.set(m, key, kept)
    }
  })
  return {
    ...c,
    head: fork,
    headers: HashMap.filter(c.headers, (_, h) => h <= p.forkHeight),
    safe: rollBack(c.safe, fork),
    finalized: rollBack(c.finalized, fork),
    reorgs: [...c.reorgs, reorg].slice(-MAX_REORGS),
    reorgCount: c.reorgCount + 1,
    proofs
  }
}

const onMark = (c: ChainEntry, which: "safe" | "finalized", p: Point): ChainEntry => {
  const current = c[which]
  if (c.head === null || p.height > c.head.height || (current !== null && p.height <= current.height) || contradicts(c, p)) {
    return ignore(c)
  }
  return { ...c, [which]: { height: p.height, hash: p.hash } }
}

/**
 * The height of the header a proof was checked against: the proof's own height, except
 * for ICS23 where the state after block h is committed to by header h + 1's app hash.
 */
export const proofHeaderHeight = (p: { readonly height: number; readonly kind: string }): number =>
  p.kind === "ics23" ? p.height + 1 : p.height

const onProof = (c: ChainEntry, p: Payload<"LightClientProof">, id: string): ChainEntry => {
  const header = headerAt(c, proofHeaderHeight(p))
  if (header === undefined || header.hash !== p.headerHash) return ignore(c)
  const entry: ProofEntry = { height: p.height, headerHash: p.headerHash, kind: p.kind, value: p.value, id }
  const before = Option.getOrElse(HashMap.get(c.proofs, p.key), (): ReadonlyArray<ProofEntry> => [])
  const entries = [...before.filter((e) => e.height !== p.height), entry].sort((a, b) => a.height - b.height).slice(-MAX_PROOF_HISTORY)
  return { ...c, proofs: HashMap.set(c.proofs, p.key, entries) }
}

const onMisbehaviour = (c: ChainEntry, p: Payload<"ChainMisbehaviourDetected">, id: string): ChainEntry => {
  const entry: MisbehaviourEntry = {
    height: p.height,
    commonHeight: p.commonHeight,
    commonHash: p.commonHash,
    primaryHash: p.primary.hash,
    witnessHash: p.witness.hash,
    id
  }
  const same = (m: MisbehaviourEntry) => m.height === entry.height && m.primaryHash === entry.primaryHash && m.witnessHash === entry.witnessHash
  if (c.misbehaviours.some(same)) return ignore(c)
  return { ...c, misbehaviours: [...c.misbehaviours, entry].slice(-MAX_MISBEHAVIOURS) }
}

/** The keys whose newest value was proven against a header at or below `cutoff` (out of the window), sorted by key. */
const outOfWindow = (c: ChainEntry, cutoff: number): Array<readonly [string, ReadonlyArray<ProofEntry>]> => {
  const out: Array<readonly [string, ReadonlyArray<ProofEntry>]> = []
  for (const [key, entries] of c.proofs) {
    const last = entries.at(-1)
    if (last === undefined || proofHeaderHeight(last) <= cutoff) out.push([key, entries])
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

/** Fold one chain event (already known to come from the instance) into the state. */
export const evolveChainState = (state: ChainState, event: ChainEvent, id: string): ChainState => {
  const chain = event.payload.chain
  const existing = Option.getOrUndefined(HashMap.get(state.chains, chain))
  if (existing === undefined && event.type !== "ChainHeadVerified") return { ...state, ignored: state.ignored + 1 }
  const c = existing ?? newChain((event.payload as Payload<"ChainHeadVerified">).kind)
  let next: ChainEntry
  switch (event.type) {
    case "ChainHeadVerified": {
      next = onHead(c, event.payload, id)
      const gone = next.head === null || next.head === c.head ? [] : outOfWindow(next, next.head.height - RETAINED_HEADERS)
      if (gone.length > 0) {
        next = { ...next, proofs: HashMap.removeMany(next.proofs, gone.map(([key]) => key)) }
        const evicted = [...state.evicted, ...gone.map(([key, proofs]) => ({ chain, key, proofs }))]
        return { ...state, chains: HashMap.set(state.chains, chain, next), evicted }
      }
      break
    }
    case "ChainReorged":
      next = onReorg(c, event.payload, id)
      break
    case "ChainFinalized":
      next = onMark(c, "finalized", event.payload)
      break
    case "ChainSafe":
      next = onMark(c, "safe", event.payload)
      break
    case "ChainMisbehaviourDetected":
      next = onMisbehaviour(c, event.payload, id)
      break
    case "LightClientProof":
      next = onProof(c, event.payload, id)
      break
  }
  return { ...state, chains: HashMap.set(state.chains, chain, next) }
}

// ---------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------

/** A chain's state, if it was ever announced. */
export const chainOf = (state: ChainState, chain: string): ChainEntry | undefined =>
  Option.getOrUndefined(HashMap.get(state.chains, chain))

/** The chains announced, sorted by name. */
export const chainNames = (state: ChainState): ReadonlyArray<string> => [...HashMap.keys(state.chains)].sort()

/** The held header at a height (undefined above the head, below the window, or never seen). */
export const headerOf = (c: ChainEntry, height: number): HeaderEntry | undefined => headerAt(c, height)

/** Held headers, ascending. */
export const headersOf = (c: ChainEntry): ReadonlyArray<HeaderEntry> =>
  [...HashMap.values(c.headers)].sort((a, b) => a.height - b.height)

/** The latest proven value of every key, sorted by key. */
export const latestProofs = (c: ChainEntry): ReadonlyArray<{ readonly key: string } & ProofEntry> =>
  [...HashMap.entries(c.proofs)]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([key, entries]) => {
      const last = entries.at(-1)
      return last === undefined ? [] : [{ key, ...last }]
    })

/** Where an observer should resume following this chain: the last `depth` held headers and the marks. */
export const followCursor = (state: ChainState, chain: string, depth = 256): FollowCursor | undefined => {
  const c = chainOf(state, chain)
  if (c === undefined || c.head === null) return undefined
  const headers: Array<VerifiedHeader> = headersOf(c)
    .filter((h) => h.height > c.head!.height - depth)
    .map((h) => ({ chain, height: h.height, hash: h.hash, parentHash: h.parentHash, stateRoot: h.stateRoot, time: h.time }))
  // After a reorg whose fork header fell out of the window, the head is only a point: resume from nothing.
  if (headers.at(-1)?.hash !== c.head.hash) return undefined
  return {
    headers,
    ...(c.finalized === null ? {} : { finalizedHeight: c.finalized.height }),
    ...(c.safe === null ? {} : { safeHeight: c.safe.height })
  }
}

// ---------------------------------------------------------------------------------------
// Snapshot encoding: the digest covers exactly this JSON.
// ---------------------------------------------------------------------------------------

const PointJson = Schema.Struct({ height: Schema.Number, hash: Schema.String })
const HeaderJson = Schema.Struct({
  height: Schema.Number,
  hash: Schema.String,
  parentHash: Schema.String,
  stateRoot: Schema.String,
  time: Schema.Number,
  id: Schema.String
})
const ReorgJson = Schema.Struct({
  forkHeight: Schema.Number,
  forkHash: Schema.String,
  oldHead: PointJson,
  newHead: PointJson,
  depth: Schema.Number,
  finalityViolated: Schema.Boolean,
  id: Schema.String
})
const ProofJson = Schema.Struct({
  height: Schema.Number,
  headerHash: Schema.String,
  kind: Schema.String,
  value: Schema.String,
  id: Schema.String
})
const MisbehaviourJson = Schema.Struct({
  height: Schema.Number,
  commonHeight: Schema.Number,
  commonHash: Schema.String,
  primaryHash: Schema.String,
  witnessHash: Schema.String,
  id: Schema.String
})
const ChainJson = Schema.Struct({
  kind: Schema.Literals(["evm", "cosmos"]),
  head: Schema.NullOr(PointJson),
  headers: Schema.Array(HeaderJson),
  safe: Schema.NullOr(PointJson),
  finalized: Schema.NullOr(PointJson),
  reorgs: Schema.Array(ReorgJson),
  reorgCount: Schema.Number,
  proofs: Schema.Record(Schema.String, Schema.Array(ProofJson)),
  misbehaviours: Schema.Array(MisbehaviourJson),
  ignored: Schema.Number
})
const StateJson = Schema.Struct({ chains: Schema.Record(Schema.String, ChainJson), ignored: Schema.Number })
const decodeStateJson = Schema.decodeUnknownSync(StateJson)
const decodeArchivedProven = Schema.decodeUnknownSync(Schema.Struct({ chain: Schema.String, key: Schema.String, proofs: Schema.Array(ProofJson) }))

const encode = (state: ChainState): Json => {
  const chains: Record<string, Json> = {}
  for (const name of chainNames(state)) {
    const c = chainOf(state, name)!
    const proofs: Record<string, Json> = {}
    for (const [key, entries] of HashMap.entries(c.proofs)) proofs[key] = entries.map((e) => ({ ...e }))
    chains[name] = {
      kind: c.kind,
      head: c.head === null ? null : { ...c.head },
      headers: headersOf(c).map((h) => ({ ...h })),
      safe: c.safe === null ? null : { ...c.safe },
      finalized: c.finalized === null ? null : { ...c.finalized },
      reorgs: c.reorgs.map((r) => ({ ...r, oldHead: { ...r.oldHead }, newHead: { ...r.newHead } })),
      reorgCount: c.reorgCount,
      proofs,
      misbehaviours: c.misbehaviours.map((m) => ({ ...m })),
      ignored: c.ignored
    }
  }
  return { chains, ignored: state.ignored }
}

const decode = (json: Json): ChainState => {
  const s = decodeStateJson(json)
  return {
    ignored: s.ignored,
    evicted: [],
    chains: HashMap.fromIterable(
      Object.entries(s.chains).map(([name, c]) => [name, {
        kind: c.kind,
        head: c.head,
        headers: HashMap.fromIterable(c.headers.map((h) => [h.height, h] as const)),
        safe: c.safe,
        finalized: c.finalized,
        reorgs: c.reorgs,
        reorgCount: c.reorgCount,
        proofs: HashMap.fromIterable(Object.entries(c.proofs)),
        misbehaviours: c.misbehaviours,
        ignored: c.ignored
      }] as const)
    )
  }
}

/** An archived key's entry: by chain (its length first: a name may hold colons), then the key. */
export const archivedProvenKey = (chain: string, key: string): string => `p:${chain.length}:${chain}:${key}`

/** What retention dropped, as kept on disk: each key's proven values under its chain and key. */
const drain = <S extends ChainState>(state: S): { readonly state: S; readonly archived: ReadonlyArray<Archived> } =>
  drainEvicted(state, (x) => [{ key: archivedProvenKey(x.chain, x.key), value: { chain: x.chain, key: x.key, proofs: x.proofs.map((e) => ({ ...e })) } }])

/** A key's proven values as the archive holds them (undefined for a value this projection cannot have written). */
export const archivedProvenOf = (json: Json): ProvenArchived | undefined => {
  try {
    return decodeArchivedProven(json)
  } catch {
    return undefined
  }
}

/** What the projection is built with: who decides (the instance, or a cluster admin). */
export type ChainStateContext = AuthorityConfig

/** The projection's name (also how the runner finds its state). */
export const CHAIN_STATE = "chain-state"

/**
 * The chain-observer projection: a chain's observations count from its owner at their place
 * in the log (a deployment of one: the instance), proofs from any member
 * (each is checked against a header the owner published).
 */
export const makeChainState = (context: ChainStateContext): Projection<WithAuthority<ChainState>> =>
  authorized(context, {
    name: CHAIN_STATE,
    // 3: observations count from the authority at their place in the log (cluster leader terms).
    // 4: ... from the chain's owner (ChainOwnersAssigned).
    // 5: retention: a key whose newest proof's header left the window leaves memory.
    version: 5,
    needsLinks: true,
    handles: chainTypes,
    initialState,
    evolve: (state, record, authority) => {
      if (!isChainType(record.type) || !isMember(authority, record.sender)) return state
      const event = chainEventOf(record)
      if (event === undefined) return state
      // Observations count from the chain's owner at this point of the log (assigned by the
      // leader by rendezvous hashing); proofs from any member.
      if (event.type !== "LightClientProof" && !heedsChain(authority, event.payload.chain, record.sender)) return state
      return evolveChainState(state, event, record.id)
    },
    encode,
    decode,
    drain
  })
