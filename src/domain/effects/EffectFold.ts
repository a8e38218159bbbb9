/**
 * The effect tracker's state and its pure fold (docs/effects.md). An effect is something that
 * happened on a chain and matters elsewhere; here, an EVM log matched by a watch. Its status
 * moves only by events in the log, each with the evidence that moved it:
 *
 * - `included` (finality `latest`): an `EffectsObserved` message whose header hashes to a
 *   header the chain's owner published as verified (ChainHeadVerified) at that height, and
 *   whose receipt proofs verify against that header's receipts root. The fold re-checks every
 *   proof itself: an author's word moves nothing.
 * - finality `safe` / `finalized`: the chain's ChainSafe / ChainFinalized marks reaching the
 *   effect's height (the mark's message is the evidence).
 * - `retracted`: a ChainReorged whose fork point is below the effect's block: the block left
 *   the canonical chain. Every effect that depends on it is flagged.
 * - bridge deposits (journeys): `delivered` / `settled` by a fill, `refunded` by a refund,
 *   `expired` once every fill chain of the route is scanned past its deadline with no fill.
 *
 * An effect whose receipt comes with its transaction's proof (the transactions trie under the
 * header's transactionsRoot, same key) is aliased by that transaction's hash: keccak256 of the
 * proven encoding. A transaction proof that fails costs the alias only: the receipt is proven.
 *
 * Ids are derived from the chain: `evm-log:{chain}:{blockHash}:{transactionIndex}:{logIndex}`
 * (logIndex: the log's position in its transaction's receipt, which is what the receipt proof
 * proves; the block-wide index is kept as `blockLogIndex` when known).
 *
 * Bounded: at most `maxEffects` (MAX_EFFECTS unless configured) effects are kept (the oldest
 * are dropped first, into `evicted` as they were last, which the projection drains to disk:
 * retention by count), MAX_HISTORY moves per effect, RETAINED_HEADERS header hashes per
 * chain, MAX_WATCHES watches, MAX_FILLS fills and refunds per journey; the deadline and
 * expired lists hold only kept effects.
 */
import { keccak_256 } from "@noble/hashes/sha3.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { HashMap, Option, Result } from "effect"
import type { ChainFinalized, ChainHeadVerified, ChainReorged, ChainSafe } from "../chain/ChainMessages.ts"
import { parentHashOfHeader, timestampOfHeader } from "../chain/EvmHeader.ts"
import { receiptsRootOfHeader, verifyReceiptInclusion, type ConsensusLog } from "../verify/EvmReceipts.ts"
import { transactionsRootOfHeader, verifyTransactionInclusion } from "../verify/EvmTransactions.ts"
import type { Correlation, EffectsObserved, EffectWatchAdded, EvmLogFilter, LogWord } from "./EffectMessages.ts"
import type { DeadlinePassed, EffectBackfill, EffectStatus, EffectWatch, EffectWatchView, EvidenceRef, Finality, IbcPacketEffect, TrackedEffect } from "./EffectShapes.ts"

/** Most effects kept by default (`--max-effects`); the oldest are dropped first. */
export const MAX_EFFECTS = 50_000
/** Most status moves kept per effect. */
export const MAX_HISTORY = 32
/** Header hashes kept per chain, below the newest. */
export const RETAINED_HEADERS = 1024
/** Most active watches. */
export const MAX_WATCHES = 1024
/** Most fills (and most refunds) held per journey. */
export const MAX_FILLS = 16

export type { EffectBackfill, EffectStatus, EffectWatch, EvidenceRef, Finality, Move, Origin, TrackedEffect } from "./EffectShapes.ts"

/** A journey's legs as known: a fill or a refund may come before its deposit. */
export interface Journey {
  readonly deposit: string | null
  readonly fills: ReadonlyArray<string>
  readonly refunds: ReadonlyArray<string>
}

/** What the fold keeps per chain. */
export interface ChainTrack {
  /** Verified header hashes by height (the newest RETAINED_HEADERS). */
  readonly headers: HashMap.HashMap<number, string>
  readonly head: number | null
  readonly safe: number | null
  readonly finalized: number | null
  /** The last block scanned completely, the message that closed it, and its header's time (Unix seconds, decimal; absent after a reorg reset it). */
  readonly scanned: { readonly height: number; readonly hash: string; readonly id: string; readonly time?: string } | null
  /** Ids of effects on this chain not yet finalized nor retracted, by ascending height. */
  readonly pending: ReadonlyArray<string>
}

/** The effect tracker's state. */
export interface EffectsState {
  readonly watches: HashMap.HashMap<string, EffectWatch>
  readonly chains: HashMap.HashMap<string, ChainTrack>
  readonly effects: HashMap.HashMap<string, TrackedEffect>
  /** Effect ids in the order they were first tracked (oldest first). */
  readonly order: ReadonlyArray<string>
  /** Journeys by correlation (`{route}:{0x id}`): the deposit, once seen, and the fills seen. */
  readonly journeys: HashMap.HashMap<string, Journey>
  /** Effect ids by their proven transaction hash (0x lowercase), in log order: derived from the effects' origins. */
  readonly transactions: HashMap.HashMap<string, ReadonlyArray<string>>
  /** Events read but not folded (a header not held, a proof that fails, a repeat). */
  readonly ignored: number
  /** IBC packets (src/domain/effects/IbcPacketFold.ts), by effect id. */
  readonly packets: HashMap.HashMap<string, IbcPacketEffect>
  /** Packet ids in the order they were first tracked (oldest first). */
  readonly packetOrder: ReadonlyArray<string>
  /** Verified CometBFT headers of each chain by height (the newest RETAINED_HEADERS): what IBC proofs are bound to. */
  readonly cosmosHeaders: HashMap.HashMap<string, HashMap.HashMap<number, CosmosHeader>>
  /** Back-fill cursors of EVM log watches, by watch id (at most one per watch: MAX_WATCHES). */
  readonly backfills: HashMap.HashMap<string, EffectBackfill>
  /**
   * Journey deposits with a deadline that may expire, by ascending deadline: each was
   * `included` when listed (one that moved since is dropped when next met). At most one entry per effect kept.
   */
  readonly deadlines: ReadonlyArray<string>
  /** Deposits that expired, which a reorg of a fill chain may un-expire (one that moved since is dropped when next met). */
  readonly expired: ReadonlyArray<string>
  /** Effects and packets the bound dropped since the projection last drained it, as they were last (never in a snapshot). */
  readonly evicted: ReadonlyArray<TrackedEffect | IbcPacketEffect>
  /** The bound: most EVM effects kept in memory, and most packets (the deployment's `--max-effects`, default MAX_EFFECTS). */
  readonly maxEffects: number
}

/** A verified CometBFT header as the IBC fold keeps it. */
export interface CosmosHeader {
  readonly hash: string
  readonly appHash: string
  /** Unix ms. */
  readonly time: number
}

export const initialEffectsState: EffectsState = {
  watches: HashMap.empty(),
  chains: HashMap.empty(),
  effects: HashMap.empty(),
  order: [],
  journeys: HashMap.empty(),
  transactions: HashMap.empty(),
  ignored: 0,
  packets: HashMap.empty(),
  packetOrder: [],
  cosmosHeaders: HashMap.empty(),
  backfills: HashMap.empty(),
  deadlines: [],
  expired: [],
  evicted: [],
  maxEffects: MAX_EFFECTS
}

const newTrack: ChainTrack = { headers: HashMap.empty(), head: null, safe: null, finalized: null, scanned: null, pending: [] }

/** The id of an EVM log effect. */
export const evmLogEffectId = (chain: string, blockHash: string, transactionIndex: number, logIndex: number): string =>
  `evm-log:${chain}:${blockHash}:${transactionIndex}:${logIndex}`

/** Does a log match an EVM log filter (eth_getLogs semantics)? */
export const matchesEvmFilter = (filter: EvmLogFilter, log: ConsensusLog): boolean => {
  if (filter.address !== undefined && log.address !== `0x${filter.address}`) return false
  const topics = filter.topics ?? []
  for (let i = 0; i < topics.length; i++) {
    const want = topics[i]
    if (want === null || want === undefined) continue
    if (log.topics[i] !== `0x${want}`) return false
  }
  return true
}

/** The active EVM log watches of a chain. */
export const evmWatchesOf = (state: EffectsState, chain: string): ReadonlyArray<EffectWatch> =>
  [...HashMap.values(state.watches)].filter((w) => w.chain === chain && w.kind === "evm-log").sort((a, b) => (a.id < b.id ? -1 : 1))

const trackOf = (state: EffectsState, chain: string): ChainTrack => Option.getOrElse(HashMap.get(state.chains, chain), () => newTrack)
const withTrack = (state: EffectsState, chain: string, track: ChainTrack): EffectsState => ({ ...state, chains: HashMap.set(state.chains, chain, track) })
const ignore = (state: EffectsState): EffectsState => ({ ...state, ignored: state.ignored + 1 })

const finalityAt = (track: ChainTrack, height: number): Finality =>
  track.finalized !== null && track.finalized >= height ? "finalized" : track.safe !== null && track.safe >= height ? "safe" : "latest"

const move = (effect: TrackedEffect, status: EffectStatus, finality: Finality, lamport: number, evidence: EvidenceRef): TrackedEffect => ({
  ...effect,
  status,
  finality,
  evidence,
  history: [...effect.history, { status, finality, lamport, evidence }].slice(-MAX_HISTORY)
})

/** Meta of the record being folded. */
export interface RecordMeta {
  readonly id: string
  readonly lamport: number
}

// ---------------------------------------------------------------------------------------------
// Watches

/**
 * Fold a watch decision. An EVM log watch whose first block is at or below the chain's scan
 * position is back-filled: the forward scan covers it above the scan position, and a cursor
 * walks down from the scan position's block (scanned before the watch existed) to its first block.
 */
export const onWatchAdded = (state: EffectsState, p: EffectWatchAdded, meta: RecordMeta): EffectsState => {
  if (HashMap.size(state.watches) >= MAX_WATCHES) return ignore(state)
  const next = { ...state, watches: HashMap.set(state.watches, meta.id, { id: meta.id, ...p }) }
  const scanned = trackOf(state, p.chain).scanned
  if (p.kind !== "evm-log" || p.fromHeight === undefined || scanned === null || p.fromHeight > scanned.height) return next
  return withBackfill(next, { watch: meta.id, chain: p.chain, next: scanned.height, hash: scanned.hash, until: p.fromHeight })
}

/** Fold a watch's removal: its back-fill stops. */
export const onWatchRemoved = (state: EffectsState, watch: string): EffectsState =>
  HashMap.has(state.watches, watch) ? { ...state, watches: HashMap.remove(state.watches, watch), backfills: HashMap.remove(state.backfills, watch) } : ignore(state)

/** Set a back-fill cursor, or drop it once it is below its last block. */
export const withBackfill = (state: EffectsState, cursor: EffectBackfill): EffectsState => ({
  ...state,
  backfills: cursor.next < cursor.until ? HashMap.remove(state.backfills, cursor.watch) : HashMap.set(state.backfills, cursor.watch, cursor)
})

/**
 * The first block scanned on a chain (`p`, its last message): every watch of the chain whose
 * first block is below it (its header no longer held when the scan began) is back-filled
 * from its parent down.
 */
const backfillBelowFirstScan = (state: EffectsState, p: EffectsObserved, headerRlp: Uint8Array): EffectsState => {
  const parent = parentHashOfHeader(headerRlp)
  if (parent === undefined) return state
  let out = state
  for (const w of evmWatchesOf(state, p.chain)) {
    if (w.kind === "evm-log" && w.fromHeight !== undefined && w.fromHeight < p.height) {
      out = withBackfill(out, { watch: w.id, chain: p.chain, next: p.height - 1, hash: parent, until: w.fromHeight })
    }
  }
  return out
}

/** The back-fill cursors of a chain, by watch id. */
export const backfillsOf = (state: EffectsState, chain: string): ReadonlyArray<EffectBackfill> =>
  [...HashMap.values(state.backfills)].filter((c) => c.chain === chain).sort((a, b) => (a.watch < b.watch ? -1 : 1))

// ---------------------------------------------------------------------------------------------
// Chain events

/** A verified header (from the chain's owner): its hash at its height. */
export const onHead = (state: EffectsState, p: ChainHeadVerified): EffectsState => {
  const track = trackOf(state, p.chain)
  let headers = HashMap.set(track.headers, p.height, p.hash)
  const floor = p.height - RETAINED_HEADERS
  if (track.head !== null && floor > 0) {
    for (let h = Math.max(0, floor - (p.height - track.head)); h <= floor; h++) headers = HashMap.remove(headers, h)
  }
  return withTrack(state, p.chain, { ...track, headers, head: track.head === null ? p.height : Math.max(track.head, p.height) })
}

/** The chain was replaced above the fork point: headers above it are void, and every effect held there is retracted. */
export const onReorg = (state: EffectsState, p: ChainReorged, meta: RecordMeta): EffectsState => {
  const track = trackOf(state, p.chain)
  let headers = track.headers
  for (const h of [...HashMap.keys(headers)]) if (h > p.forkHeight) headers = HashMap.remove(headers, h)
  const evidence: EvidenceRef = { kind: "chain-reorged", message: meta.id, header: { height: p.forkHeight, hash: p.forkHash } }
  let effects = state.effects
  const retracted: Array<string> = []
  const pending: Array<string> = []
  const back: Array<string> = []
  for (const id of track.pending) {
    const e = Option.getOrUndefined(HashMap.get(effects, id))
    if (e === undefined) continue
    if (e.origin.height > p.forkHeight) {
      effects = HashMap.set(effects, id, move(e, "retracted", e.finality, meta.lamport, evidence))
      const undone = undeliver(effects, e, meta.lamport, evidence)
      effects = undone.effects
      back.push(...undone.included)
      retracted.push(id)
    } else {
      pending.push(id)
    }
  }
  effects = flagDependents(effects, retracted)
  // An expired deposit whose evidence on this chain (its block past the deadline) left the
  // canonical chain is included again: it expires again once the new branch passes the deadline.
  const expired: Array<string> = []
  for (const id of state.expired) {
    const d = get(effects, id)
    if (d?.status !== "expired" || d.deadline === undefined) continue
    if (!d.deadline.passed.some((x) => x.chain === p.chain && x.height > p.forkHeight)) {
      expired.push(id)
      continue
    }
    effects = HashMap.set(effects, id, move({ ...d, deadline: { ...d.deadline, passed: [] } }, "included", d.finality, meta.lamport, { ...evidence, chain: p.chain }))
    back.push(id)
  }
  let deadlines = state.deadlines
  for (const id of back) deadlines = withDeadline(deadlines, effects, id)
  // Scanning resumes on the new branch, after the fork point.
  const scanned = track.scanned !== null && track.scanned.height > p.forkHeight ? { height: p.forkHeight, hash: p.forkHash, id: meta.id } : track.scanned
  const next: EffectsState = {
    ...state,
    effects,
    deadlines,
    expired,
    chains: HashMap.set(state.chains, p.chain, { ...track, headers, head: p.forkHeight, scanned, pending })
  }
  // A back-fill above the fork point was walking the dropped branch: it resumes at the fork
  // point (the forward scan covers the new branch above it, with every watch).
  let out = next
  for (const c of backfillsOf(next, p.chain)) if (c.next > p.forkHeight) out = withBackfill(out, { ...c, next: p.forkHeight, hash: p.forkHash })
  return out
}

const flagDependents = (effects: HashMap.HashMap<string, TrackedEffect>, retracted: ReadonlyArray<string>): HashMap.HashMap<string, TrackedEffect> => {
  let out = effects
  const queue = [...retracted]
  const visited = new Set(queue)
  while (queue.length > 0) {
    const id = queue.shift() as string
    const e = Option.getOrUndefined(HashMap.get(out, id))
    if (e === undefined) continue
    for (const d of e.causalDependents) {
      const dep = Option.getOrUndefined(HashMap.get(out, d))
      if (dep === undefined || dep.dependencyRetracted) continue
      out = HashMap.set(out, d, { ...dep, dependencyRetracted: true })
      if (!visited.has(d)) {
        visited.add(d)
        queue.push(d)
      }
    }
  }
  return out
}

/** A safe or finalized mark: every pending effect at or below it moves to that finality. */
export const onMark = (state: EffectsState, mark: "safe" | "finalized", p: ChainSafe | ChainFinalized, meta: RecordMeta): EffectsState => {
  const track = trackOf(state, p.chain)
  const current = mark === "safe" ? track.safe : track.finalized
  if (current !== null && p.height <= current) return state
  const next: ChainTrack = mark === "safe" ? { ...track, safe: p.height } : { ...track, finalized: p.height }
  const evidence: EvidenceRef = { kind: mark === "safe" ? "chain-safe" : "chain-finalized", message: meta.id, header: { height: p.height, hash: p.hash } }
  let effects = state.effects
  const pending: Array<string> = []
  for (const id of track.pending) {
    const e = Option.getOrUndefined(HashMap.get(effects, id))
    if (e === undefined) continue
    const finality = finalityAt(next, e.origin.height)
    if (finality !== e.finality) {
      const moved = move(e, e.status, finality, meta.lamport, evidence)
      effects = HashMap.set(effects, id, moved)
      if (finality === "finalized") effects = settleSource(effects, moved, meta.lamport, evidence)
    }
    if (finality !== "finalized") pending.push(id)
  }
  return { ...state, effects, chains: HashMap.set(state.chains, p.chain, { ...next, pending }) }
}

// ---------------------------------------------------------------------------------------------
// Journeys

/** The 32-byte word a log carries where `at` says (0x hex), if it has one there. */
const wordOf = (at: LogWord, log: ConsensusLog): string | undefined => {
  if ("topic" in at) return log.topics[at.topic]
  const start = 2 + 64 * at.dataWord
  return log.data.length >= start + 64 ? `0x${log.data.slice(start, start + 64)}` : undefined
}

/** The correlation id a log carries where the watch says (`{route}:{0x id}`), if it has one there. */
export const correlationKey = (c: Correlation, log: ConsensusLog): string | undefined => {
  const id = wordOf(c.id, log)
  return id === undefined ? undefined : `${c.route}:${id}`
}

/** A deposit's deadline (Unix seconds, decimal) where its watch says the log carries it, if it does. */
const deadlineOf = (c: Correlation, log: ConsensusLog): string | undefined => {
  if (c.role !== "deposit" || c.deadline === undefined) return undefined
  const word = wordOf(c.deadline, log)
  return word === undefined ? undefined : BigInt(word).toString()
}

/** The route of a journey key `{route}:{0x id}` (a route may hold ':', the id never does). */
const routeOfKey = (key: string): string => key.slice(0, key.lastIndexOf(":"))

type Effects = HashMap.HashMap<string, TrackedEffect>
const get = (effects: Effects, id: string): TrackedEffect | undefined => Option.getOrUndefined(HashMap.get(effects, id))

/** The evidence of another leg, as evidence for this one. */
const legEvidence = (leg: TrackedEffect, evidence: EvidenceRef): EvidenceRef => ({ ...evidence, effect: leg.id, chain: leg.origin.chain })

/** A deposit leaving `expired` no longer holds the blocks that expired it. */
const unexpired = (d: TrackedEffect): TrackedEffect =>
  d.status === "expired" && d.deadline !== undefined ? { ...d, deadline: { ...d.deadline, passed: [] } } : d

/**
 * Link a deposit and a fill (`target`) or a refund (`refund`). A fill included delivers a
 * deposit included or expired (and one finalized settles it); a refund included refunds it.
 * A deposit already delivered or refunded keeps its status: the journey shows both legs.
 */
const link = (effects: Effects, depositId: string, legId: string, role: "target" | "refund", lamport: number): Effects => {
  const d = get(effects, depositId)
  const f = get(effects, legId)
  if (d === undefined || f === undefined || f.status === "retracted" || d.status === "retracted") return effects
  let deposit: TrackedEffect = {
    ...d,
    causalDependents: [...d.causalDependents, legId],
    journeys: [...d.journeys, { role, effect: legId }]
  }
  const leg: TrackedEffect = {
    ...f,
    causalDependencies: [...f.causalDependencies, depositId],
    journeys: [...f.journeys, { role: "source", effect: depositId }]
  }
  const open = deposit.status === "included" || deposit.status === "expired"
  if (open && role === "refund") deposit = move(unexpired(deposit), "refunded", deposit.finality, lamport, legEvidence(leg, leg.evidence))
  if (open && role === "target") deposit = move(unexpired(deposit), "delivered", deposit.finality, lamport, legEvidence(leg, leg.evidence))
  if (role === "target" && deposit.status === "delivered" && leg.finality === "finalized") deposit = move(deposit, "settled", deposit.finality, lamport, legEvidence(leg, leg.evidence))
  return HashMap.set(HashMap.set(effects, depositId, deposit), legId, leg)
}

/** A new deposit, fill or refund joins its journey: linked now if the deposit side is known, held until it comes otherwise. */
const joinJourney = (
  effects: Effects,
  journeys: HashMap.HashMap<string, Journey>,
  key: string,
  role: Correlation["role"],
  id: string,
  lamport: number
): { readonly effects: Effects; readonly journeys: HashMap.HashMap<string, Journey> } => {
  const journey = Option.getOrElse(HashMap.get(journeys, key), (): Journey => ({ deposit: null, fills: [], refunds: [] }))
  if (role === "fill" || role === "refund") {
    const next = role === "fill" ? { ...journey, fills: [...journey.fills, id].slice(-MAX_FILLS) } : { ...journey, refunds: [...journey.refunds, id].slice(-MAX_FILLS) }
    const linked = journey.deposit === null ? effects : link(effects, journey.deposit, id, role === "fill" ? "target" : "refund", lamport)
    return { effects: linked, journeys: HashMap.set(journeys, key, next) }
  }
  // A second deposit with the same id is only an alias, unless the first was retracted (its block reorged out).
  const current = journey.deposit === null ? undefined : get(effects, journey.deposit)
  if (current !== undefined && current.status !== "retracted") return { effects, journeys }
  let out = effects
  for (const fill of journey.fills) out = link(out, id, fill, "target", lamport)
  for (const refund of journey.refunds) out = link(out, id, refund, "refund", lamport)
  return { effects: out, journeys: HashMap.set(journeys, key, { ...journey, deposit: id }) }
}

/** A fill became final: its deposit, delivered, is settled. */
const settleSource = (effects: Effects, fill: TrackedEffect, lamport: number, evidence: EvidenceRef): Effects => {
  let out = effects
  for (const leg of fill.journeys) {
    if (leg.role !== "source") continue
    const d = get(out, leg.effect)
    // A refund's deposit is not settled by it: only a fill (a target leg of the deposit) settles.
    if (d?.status !== "delivered" || !d.journeys.some((j) => j.role === "target" && j.effect === fill.id)) continue
    out = HashMap.set(out, d.id, move(d, "settled", d.finality, lamport, legEvidence(fill, evidence)))
  }
  return out
}

/**
 * A fill or refund was retracted: its deposit falls back on what its other legs still prove
 * (a live refund: refunded; a live fill: delivered; neither: included). `included`: the
 * deposits that went back to included.
 */
const undeliver = (effects: Effects, gone: TrackedEffect, lamport: number, evidence: EvidenceRef): { readonly effects: Effects; readonly included: ReadonlyArray<string> } => {
  let out = effects
  const included: Array<string> = []
  for (const leg of gone.journeys) {
    if (leg.role !== "source") continue
    const d = get(out, leg.effect)
    if (d === undefined) continue
    const as = d.journeys.find((j) => j.effect === gone.id)?.role
    const proves = as === "refund" ? d.status === "refunded" : d.status === "delivered" || d.status === "settled"
    if (!proves) continue
    const live = (role: "target" | "refund") => d.journeys.find((j) => j.role === role && j.effect !== gone.id && get(out, j.effect)?.status === "included")
    if (live(as === "refund" ? "refund" : "target") !== undefined) continue
    const fill = as === "refund" ? live("target") : undefined
    const refund = as === "refund" ? undefined : live("refund")
    const status: EffectStatus = refund !== undefined
      ? "refunded"
      : fill === undefined
      ? "included"
      : get(out, fill.effect)?.finality === "finalized"
      ? "settled"
      : "delivered"
    out = HashMap.set(out, d.id, move(d, status, d.finality, lamport, legEvidence(gone, evidence)))
    if (status === "included") included.push(d.id)
  }
  return { effects: out, included }
}

// ---------------------------------------------------------------------------------------------
// Deadlines

/** List a deposit that may expire (included, with a deadline), by ascending deadline; already listed or not such a deposit: unchanged. */
const withDeadline = (deadlines: ReadonlyArray<string>, effects: Effects, id: string): ReadonlyArray<string> => {
  const d = get(effects, id)
  if (d?.status !== "included" || d.deadline === undefined || deadlines.includes(id)) return deadlines
  const at = BigInt(d.deadline.time)
  let i = deadlines.length
  while (i > 0) {
    const prev = get(effects, deadlines[i - 1] as string)?.deadline
    if (prev === undefined || BigInt(prev.time) <= at) break
    i--
  }
  return [...deadlines.slice(0, i), id, ...deadlines.slice(i)]
}

/**
 * Chain `chain` was scanned through a block whose header time is `time` (the message `meta`,
 * `p`): every listed deposit with a deadline below it, of a route this chain has a fill watch
 * for, expires if every chain with a fill watch of its route was scanned past its deadline and
 * no fill watch of the route is back-filling (a fill below the scan position may still come).
 * A route with no fill watch expires nothing: no chain can show the fill's absence.
 */
const expireDeposits = (state: EffectsState, p: EffectsObserved, meta: RecordMeta, time: bigint): EffectsState => {
  if (state.deadlines.length === 0) return state
  const fillWatches = [...HashMap.values(state.watches)].filter((w) => w.kind === "evm-log" && w.correlate?.role === "fill")
  if (!fillWatches.some((w) => w.chain === p.chain)) return state
  // Per route: each fill chain's scanned block, or null when the route cannot show absence now.
  const routes = new Map<string, ReadonlyArray<{ readonly chain: string; readonly height: number; readonly hash: string; readonly id: string; readonly time: bigint }> | null>()
  const passedOf = (route: string) => {
    if (routes.has(route)) return routes.get(route) ?? null
    const watches = fillWatches.filter((w) => w.kind === "evm-log" && w.correlate?.route === route)
    let out: Array<{ readonly chain: string; readonly height: number; readonly hash: string; readonly id: string; readonly time: bigint }> | null = []
    if (!watches.some((w) => w.chain === p.chain) || watches.some((w) => HashMap.has(state.backfills, w.id))) out = null
    for (const chain of [...new Set(watches.map((w) => w.chain))].sort()) {
      const scanned = trackOf(state, chain).scanned
      if (out === null || scanned?.time === undefined) {
        out = null
        break
      }
      out.push({ ...scanned, chain, time: BigInt(scanned.time) })
    }
    routes.set(route, out)
    return out
  }
  const evidence: EvidenceRef = { kind: "deadline-passed", message: meta.id, header: { height: p.height, hash: p.hash }, chain: p.chain, time: time.toString() }
  let effects = state.effects
  const kept: Array<string> = []
  const expired = [...state.expired]
  let i = 0
  for (; i < state.deadlines.length; i++) {
    const id = state.deadlines[i] as string
    const d = get(effects, id)
    if (d?.status !== "included" || d.deadline === undefined) continue
    const at = BigInt(d.deadline.time)
    if (at >= time) break
    const key = d.aliases[0]
    const chains = key === undefined ? null : passedOf(routeOfKey(key))
    if (chains === null || chains.some((c) => c.time <= at)) {
      kept.push(id)
      continue
    }
    const passed: Array<DeadlinePassed> = chains.map((c) => ({ chain: c.chain, height: c.height, hash: c.hash, message: c.id, time: c.time.toString() }))
    effects = HashMap.set(effects, id, move({ ...d, deadline: { ...d.deadline, passed } }, "expired", d.finality, meta.lamport, evidence))
    expired.push(id)
  }
  if (kept.length === i) return state
  return { ...state, effects, expired, deadlines: [...kept, ...state.deadlines.slice(i)] }
}

// ---------------------------------------------------------------------------------------------
// Observations

/**
 * Logs found in a verified block, with their receipts' proofs. The whole message is ignored
 * when its header is not the verified one the log holds at that height or does not hash to
 * it, or when it is not the block after the last one scanned; a receipt whose proof fails is
 * skipped; a log no active watch matches is skipped.
 */
export const onObserved = (state: EffectsState, p: EffectsObserved, meta: RecordMeta): EffectsState => {
  const track = trackOf(state, p.chain)
  const held = Option.getOrUndefined(HashMap.get(track.headers, p.height))
  if (held !== p.hash) return ignore(state)
  // Blocks are scanned in order, none skipped: the next one after the last scanned (unless
  // the headers between them are no longer held), so a gap never hides a block's effects.
  if (track.scanned !== null) {
    const next = track.scanned.height + 1
    if (p.height < next) return ignore(state)
    for (let h = next; h < p.height; h++) if (HashMap.has(track.headers, h)) return ignore(state)
  }
  const headerRlp = hexToBytes(p.headerRlp)
  if (bytesToHex(keccak_256(headerRlp)) !== p.hash) return ignore(state)
  const root = receiptsRootOfHeader(headerRlp)
  if (root === undefined) return ignore(state)
  const folded = foldBlockLogs(state, track, p, meta, root, evmWatchesOf(state, p.chain), false)
  const time = timestampOfHeader(headerRlp)
  const scanned = p.last ? { height: p.height, hash: p.hash, id: meta.id, ...(time === undefined ? {} : { time: time.toString() }) } : track.scanned
  const next: EffectsState = { ...folded, chains: HashMap.set(folded.chains, p.chain, { ...trackOf(folded, p.chain), scanned }) }
  // The block closed: deposits whose deadline it passed may expire (if this chain fills their route).
  const expired = p.last && time !== undefined ? expireDeposits(next, p, meta, time) : next
  // The first block scanned on a chain: watches that start below it are back-filled from its parent down.
  return p.last && track.scanned === null ? backfillBelowFirstScan(expired, p, headerRlp) : expired
}

/**
 * Fold the logs of a block's message whose header was checked (its receipts root `root`): each
 * receipt's proof is verified against the root, each listed log matched against `watches`, and
 * each match not yet tracked becomes an effect. A log already tracked is skipped, unless
 * `addWatches`: then the watches that match it are added to its own. Skipped receipts and logs
 * count as ignored. The scan position and back-fill cursors are left to the caller.
 */
export const foldBlockLogs = (
  state: EffectsState,
  track: ChainTrack,
  p: EffectsObserved,
  meta: RecordMeta,
  root: Uint8Array,
  watches: ReadonlyArray<EffectWatch>,
  addWatches: boolean
): EffectsState => {
  const transactionsRoot = p.receipts.some((r) => r.transactionProof !== undefined) ? transactionsRootOfHeader(hexToBytes(p.headerRlp)) : undefined
  const evidence: EvidenceRef = { kind: "evm-receipt", message: meta.id, header: { height: p.height, hash: p.hash }, receiptsRoot: bytesToHex(root) }
  const finality = finalityAt(track, p.height)
  let effects = state.effects
  let journeys = state.journeys
  let transactions = state.transactions
  let deadlines = state.deadlines
  const order = [...state.order]
  const added: Array<string> = []
  let skipped = 0
  const nodes = p.nodes.map((n) => hexToBytes(n))
  // The proofs share the root and the branches near it: each node of the table is hashed once.
  const hashes = new Map<Uint8Array, Uint8Array>()
  const hashOnce = (node: Uint8Array): Uint8Array => {
    let h = hashes.get(node)
    if (h === undefined) hashes.set(node, h = keccak_256(node))
    return h
  }
  for (const r of p.receipts) {
    const proof = r.proof.map((i) => nodes[i])
    const receipt = proof.every((n) => n !== undefined)
      ? verifyReceiptInclusion(root, r.transactionIndex, undefined, proof as ReadonlyArray<Uint8Array>, hashOnce)
      : undefined
    if (receipt === undefined || Result.isFailure(receipt)) {
      skipped++
      continue
    }
    const transactionHash = transactionHashOf(transactionsRoot, r.transactionIndex, r.transactionProof, nodes, hashOnce)
    for (const logIndex of r.logs) {
      const log = receipt.success.logs[logIndex]
      const matching = log === undefined ? [] : watches.filter((w) => w.kind === "evm-log" && matchesEvmFilter(w.filter, log))
      const matched = matching.map((w) => w.id)
      const id = evmLogEffectId(p.chain, p.hash, r.transactionIndex, logIndex)
      const known = get(effects, id)
      if (addWatches && known !== undefined && matched.some((w) => !known.watches.includes(w))) {
        effects = HashMap.set(effects, id, { ...known, watches: [...known.watches, ...matched.filter((w) => !known.watches.includes(w))] })
        continue
      }
      if (log === undefined || matched.length === 0 || known !== undefined) {
        skipped++
        continue
      }
      // The first matching watch that correlates decides the effect's journey.
      let correlation: { readonly key: string; readonly role: Correlation["role"]; readonly deadline: string | undefined } | undefined
      for (const w of matching) {
        const c = w.kind === "evm-log" ? w.correlate : undefined
        const key = c === undefined ? undefined : correlationKey(c, log)
        if (c !== undefined && key !== undefined) {
          correlation = { key, role: c.role, deadline: deadlineOf(c, log) }
          break
        }
      }
      const effect: TrackedEffect = {
        id,
        kind: "evm-log",
        origin: {
          chain: p.chain,
          height: p.height,
          blockHash: p.hash,
          lamport: meta.lamport,
          transactionIndex: r.transactionIndex,
          logIndex,
          ...(transactionHash === undefined ? {} : { transactionHash })
        },
        status: "included",
        finality,
        evidence,
        outcome: receipt.success.outcome,
        log,
        watches: matched,
        history: [{ status: "included", finality, lamport: meta.lamport, evidence }],
        aliases: [...(correlation === undefined ? [] : [correlation.key]), ...(transactionHash === undefined ? [] : [transactionHash])],
        journeys: [],
        ...(correlation?.deadline === undefined ? {} : { deadline: { time: correlation.deadline, passed: [] } }),
        causalDependencies: [],
        causalDependents: [],
        dependencyRetracted: false
      }
      effects = HashMap.set(effects, id, effect)
      order.push(id)
      if (transactionHash !== undefined) {
        transactions = HashMap.set(transactions, transactionHash, [...Option.getOrElse(HashMap.get(transactions, transactionHash), () => []), id])
      }
      if (finality !== "finalized") added.push(id)
      if (correlation !== undefined) {
        const joined = joinJourney(effects, journeys, correlation.key, correlation.role, id, meta.lamport)
        effects = joined.effects
        journeys = joined.journeys
        // The journey's deposit, with a deadline and no fill yet: it may expire.
        if (correlation.deadline !== undefined && Option.getOrUndefined(HashMap.get(journeys, correlation.key))?.deposit === id) deadlines = withDeadline(deadlines, effects, id)
      }
    }
  }
  // Oldest out first, past the bound.
  let dropped = 0
  const evicted: Array<TrackedEffect | IbcPacketEffect> = []
  while (order.length - dropped > state.maxEffects) {
    const id = order[dropped++] as string
    const gone = get(effects, id)
    if (gone !== undefined) evicted.push(gone)
    const tx = gone?.origin.transactionHash
    effects = HashMap.remove(effects, id)
    if (tx !== undefined) {
      const rest = Option.getOrElse(HashMap.get(transactions, tx), () => []).filter((x) => x !== id)
      transactions = rest.length === 0 ? HashMap.remove(transactions, tx) : HashMap.set(transactions, tx, rest)
    }
  }
  const kept = dropped === 0 ? order : order.slice(dropped)
  if (dropped > 0) deadlines = deadlines.filter((id) => HashMap.has(effects, id))
  const expired = dropped === 0 ? state.expired : state.expired.filter((id) => HashMap.has(effects, id))
  const pending = withPending(track.pending, added, p.height, effects)
  const livePending = dropped === 0 ? pending : pending.filter((id) => HashMap.has(effects, id))
  const next: EffectsState = {
    ...state,
    effects,
    journeys,
    transactions,
    deadlines,
    expired,
    order: kept,
    chains: HashMap.set(state.chains, p.chain, { ...track, pending: livePending }),
    evicted: evicted.length === 0 ? state.evicted : [...state.evicted, ...evicted]
  }
  return skipped === 0 ? next : { ...next, ignored: next.ignored + skipped }
}

/** Pending ids with those of a block at `height` added, by ascending height (a back-filled block is below others). */
const withPending = (pending: ReadonlyArray<string>, added: ReadonlyArray<string>, height: number, effects: Effects): ReadonlyArray<string> => {
  if (added.length === 0) return pending
  let at = pending.length
  while (at > 0 && (get(effects, pending[at - 1] as string)?.origin.height ?? 0) > height) at--
  return at === pending.length ? [...pending, ...added] : [...pending.slice(0, at), ...added, ...pending.slice(at)]
}

/** The hash (0x lowercase) of the transaction a proof proves at `transactionIndex` under the transactions root, if it does. */
const transactionHashOf = (
  root: Uint8Array | undefined,
  transactionIndex: number,
  proof: ReadonlyArray<number> | undefined,
  nodes: ReadonlyArray<Uint8Array>,
  hash: (node: Uint8Array) => Uint8Array
): string | undefined => {
  if (root === undefined || proof === undefined) return undefined
  const path = proof.map((i) => nodes[i])
  if (!path.every((n) => n !== undefined)) return undefined
  const proven = verifyTransactionInclusion(root, transactionIndex, path as ReadonlyArray<Uint8Array>, hash)
  return Result.isSuccess(proven) ? `0x${bytesToHex(keccak_256(proven.success))}` : undefined
}

// ---------------------------------------------------------------------------------------------
// Queries

/** An effect by id. */
export const effectOf = (state: EffectsState, id: string): TrackedEffect | undefined => Option.getOrUndefined(HashMap.get(state.effects, id))

/**
 * The effects an id names: the effect of that id, else those that carry it as an alias (a
 * bridge's message id `{route}:{0x id}` names the deposit and its fills, oldest first; a
 * transaction hash names its matched logs' effects, in log order).
 */
export const resolveEffects = (state: EffectsState, idOrAlias: string): ReadonlyArray<TrackedEffect> => {
  const direct = effectOf(state, idOrAlias)
  if (direct !== undefined) return [direct]
  const journey = Option.getOrUndefined(HashMap.get(state.journeys, idOrAlias))
  const ids = journey === undefined
    ? Option.getOrElse(HashMap.get(state.transactions, idOrAlias.toLowerCase()), () => [])
    : [...(journey.deposit === null ? [] : [journey.deposit]), ...journey.fills]
  return ids.map((id) => effectOf(state, id)).filter((e): e is TrackedEffect => e !== undefined)
}

/** The effects of a transaction (its hash, 0x hex), in log order: those whose transaction proof verified. */
export const effectsOfTransaction = (state: EffectsState, transactionHash: string): ReadonlyArray<TrackedEffect> =>
  Option.getOrElse(HashMap.get(state.transactions, transactionHash.toLowerCase()), () => [])
    .map((id) => effectOf(state, id))
    .filter((e): e is TrackedEffect => e !== undefined)

/** Effects in the order they were tracked, filtered. `since`: a lamport time; only effects that moved after it. `transaction`: only that transaction's (its hash). */
export const listEffects = (
  state: EffectsState,
  query: { readonly chain?: string; readonly status?: EffectStatus; readonly since?: number; readonly transaction?: string; readonly limit: number }
): ReadonlyArray<TrackedEffect> => {
  const out: Array<TrackedEffect> = []
  const ids = query.transaction === undefined ? state.order : effectsOfTransaction(state, query.transaction).map((e) => e.id)
  for (const id of ids) {
    const e = Option.getOrUndefined(HashMap.get(state.effects, id))
    if (e === undefined) continue
    if (query.chain !== undefined && e.origin.chain !== query.chain) continue
    if (query.status !== undefined && e.status !== query.status) continue
    if (query.since !== undefined && (e.history.at(-1)?.lamport ?? 0) <= query.since) continue
    out.push(e)
    if (out.length >= query.limit) break
  }
  return out
}

/** The active watches by id, each with its back-fill's progress (null: none running). */
export const listWatches = (state: EffectsState): ReadonlyArray<EffectWatchView> =>
  [...HashMap.values(state.watches)].sort((a, b) => (a.id < b.id ? -1 : 1)).map((w) => {
    const c = Option.getOrUndefined(HashMap.get(state.backfills, w.id))
    return { ...w, backfill: c === undefined ? null : { next: c.next, until: c.until } }
  })

/** How many active watches an API token (its name) owns. */
export const watchesOwnedBy = (state: EffectsState, owner: string): number => {
  let n = 0
  for (const w of HashMap.values(state.watches)) if (w.owner === owner) n++
  return n
}

/** The chain's scan position and marks, as the effects fold holds them. */
export const trackOfChain = (state: EffectsState, chain: string): ChainTrack | undefined => Option.getOrUndefined(HashMap.get(state.chains, chain))
