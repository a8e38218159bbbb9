/**
 * The operators projection: computation intents (plain and commit-reveal) and the sealed-bid
 * MEV auction of each batch, folded from the log. The rules are pure functions in
 * src/domain/operators/Intents.ts and Auction.ts; this module decodes records, keeps the log's
 * time and batch count, and encodes the state. Time advances only with the instance's
 * BatchSealed events (their `sealedAt`), never with a clock (docs/operators.md).
 *
 * It also folds the operator registry (src/domain/operators/OperatorRegistry.ts): the
 * authority's OperatorRegistered and OperatorRemoved. An intent or commitment from a sender
 * that is not an operator at its place in the log is ignored (ingest refuses them; one in the
 * log was let through before a removal was folded, or by a version without the rule), and
 * one beyond the operator's MAX_OPEN_INTENTS open ones is recorded refused.
 *
 * And it marks operators' misbehaviour on their scores (src/domain/senders/SenderScore.ts):
 * a proposal or fill report the authority refused (MatchRefused, FillRefused; the proposer is
 * known from the proposal it kept while awaiting the verdict), an intent commitment left
 * unrevealed when its round settled, and a held intent that expired without any of its orders
 * named by an OrdersMatched of the authority while it held them.
 */
import { HashMap, HashSet, Option, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import {
  type Auction,
  type AuctionsState,
  type Bid,
  commitBid,
  emptyAuctions,
  revealBid,
  sealAuctions
} from "../../domain/operators/Auction.ts"
import {
  type Intent,
  type IntentsState,
  commitIntent,
  addHolder,
  emptyIntents,
  revealIntent,
  sealIntents,
  submitIntent
} from "../../domain/operators/Intents.ts"
import { IntentBody } from "../../domain/operators/OperatorMessages.ts"
import {
  emptyRegistry,
  isOperator,
  MAX_OPEN_INTENTS,
  type OperatorRegistryState,
  type OperatorSpan,
  registerOperator,
  type RegisteredOperator,
  removeOperator
} from "../../domain/operators/OperatorRegistry.ts"
import type { LogRecord } from "../../ports/CausalLog.ts"
import { type AuthorityConfig, type AuthorityState, heeds } from "../../domain/cluster/Authority.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import type { Projection } from "../Projection.ts"
import { payloadOf } from "../RecordEvents.ts"
import { charge, encodeTally, type Misbehaviour, prune, SCORE_DECAY_BATCHES, type Tally, TallyJson, tallyOf, emptyTally } from "../../domain/senders/SenderScore.ts"

/** Why the projection refused a message that names something (a reveal, a bid). */
export interface Refusal {
  readonly type: string
  readonly offset: number
  readonly reason: string
}

/** A proposal or fill report from an operator, kept until the authority's verdict names it. */
export interface Awaiting {
  readonly sender: string
  /** What its refusal marks. */
  readonly kind: Extract<Misbehaviour, "refusedProposal" | "refusedFillReport">
  /** The open batch when it was folded: one left without a verdict for SCORE_DECAY_BATCHES seals is dropped. */
  readonly batch: number
}

/** The operators state. */
export interface OperatorsState {
  /** The batch bids are taken for: the number of seals folded. */
  readonly openBatch: number
  /** The log's time: the latest seal's `sealedAt` (never decreasing), 0 before the first. */
  readonly now: number
  /** The id of the latest seal. */
  readonly lastSeal: string | null
  readonly intents: IntentsState
  readonly auctions: AuctionsState
  /** Refused reveals and bids, by message id. */
  readonly refusals: HashMap.HashMap<string, Refusal>
  /** The registered operators. */
  readonly registry: OperatorRegistryState
  /** Proposals and fill reports awaiting the authority's verdict, by id. */
  readonly awaiting: HashMap.HashMap<string, Awaiting>
  /** Held intents an OrdersMatched of the authority named one of the orders of (not marked when they expire). */
  readonly used: HashSet.HashSet<string>
  /** Operators' score marks. */
  readonly scores: Tally
}

const initialState: OperatorsState = {
  openBatch: 0,
  now: 0,
  lastSeal: null,
  intents: emptyIntents,
  auctions: emptyAuctions,
  refusals: HashMap.empty(),
  registry: emptyRegistry,
  awaiting: HashMap.empty(),
  used: HashSet.empty(),
  scores: emptyTally
}

/** The message types the projection reads. */
export const operatorTypes: ReadonlySet<string> = new Set([
  "BatchSealed",
  "ComputationIntent",
  "IntentCommitment",
  "IntentReveal",
  "AuctionBidCommitment",
  "AuctionBidReveal",
  "OperatorRegistered",
  "OperatorRemoved",
  "MatchProposal",
  "FillReport",
  "MatchRefused",
  "FillRefused",
  "OrdersMatched",
  "OrderFilled"
])

const refuse = (state: OperatorsState, record: LogRecord, reason: string | null): OperatorsState["refusals"] =>
  reason === null ? state.refusals : HashMap.set(state.refusals, record.id, { type: record.type, offset: record.offset, reason })

/**
 * The marks a seal makes (held intents expired unused, commitments settled unrevealed), the
 * proposals and reports dropped unanswered, and the marks that decayed away.
 */
const scoreSeal = (before: OperatorsState, after: OperatorsState): OperatorsState => {
  const marks: Array<readonly [string, Misbehaviour]> = []
  let used = after.used
  for (const id of before.intents.active) {
    if (HashSet.has(after.intents.active, id)) continue
    const intent = Option.getOrUndefined(HashMap.get(after.intents.intents, id))
    if (intent !== undefined && !HashSet.has(used, id)) marks.push([intent.operator, "unmatchedIntent"])
    used = HashSet.remove(used, id)
  }
  for (const id of before.intents.pending) {
    const intent = Option.getOrUndefined(HashMap.get(after.intents.intents, id))
    if (intent?.status === "unrevealed") marks.push([intent.operator, "unrevealedCommitment"])
  }
  let awaiting = after.awaiting
  for (const [id, a] of after.awaiting) if (a.batch + SCORE_DECAY_BATCHES <= after.openBatch) awaiting = HashMap.remove(awaiting, id)
  const scores = prune(marks.length === 0 ? after.scores : charge(after.scores, marks, before.openBatch), after.openBatch)
  return { ...after, used, awaiting, scores }
}

/** The authority's verdict on a proposal or report: it is no longer awaited, and a refusal marks its sender. */
const verdict = (state: OperatorsState, named: ReadonlyArray<string>, refused: boolean): OperatorsState => {
  let { awaiting, scores } = state
  for (const id of named) {
    const a = Option.getOrUndefined(HashMap.get(awaiting, id))
    if (a === undefined) continue
    awaiting = HashMap.remove(awaiting, id)
    if (refused) scores = charge(scores, [[a.sender, a.kind]], state.openBatch)
  }
  return awaiting === state.awaiting ? state : { ...state, awaiting, scores }
}

/** One record folded into the state, trusting BatchSealed only from the authority in force. */
export const evolveOperators = (state: OperatorsState, record: LogRecord, authority: AuthorityState): OperatorsState => {
  switch (record.type) {
    case "BatchSealed": {
      if (!heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "BatchSealed")
      // The mempool refuses a seal of any batch but the open one; so does this projection.
      if (p === undefined || p.batch !== state.openBatch) return state
      const now = Math.max(state.now, p.sealedAt)
      return scoreSeal(state, {
        ...state,
        openBatch: state.openBatch + 1,
        now,
        lastSeal: record.id,
        intents: sealIntents(state.intents, { batch: p.batch, sealedAt: now }),
        auctions: sealAuctions(state.auctions, { batch: p.batch, sealId: record.id })
      })
    }
    case "MatchProposal":
    case "FillReport": {
      // Ingest refuses them from keys that are not operators; one let through is not awaited.
      if (!isOperator(state.registry, authority, record.sender)) return state
      const kind = record.type === "MatchProposal" ? "refusedProposal" : "refusedFillReport"
      return { ...state, awaiting: HashMap.set(state.awaiting, record.id, { sender: record.sender, kind, batch: state.openBatch }) }
    }
    case "MatchRefused": {
      if (!heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "MatchRefused")
      return p === undefined ? state : verdict(state, [p.proposalId], true)
    }
    case "FillRefused": {
      if (!heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "FillRefused")
      return p === undefined ? state : verdict(state, [p.reportId], true)
    }
    case "OrderFilled":
      return heeds(authority, record.type, record.sender) ? verdict(state, record.deps, false) : state
    case "OrdersMatched": {
      if (!heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "OrdersMatched")
      if (p === undefined) return state
      let used = state.used
      for (const order of p.orderIds) {
        for (const id of Option.getOrElse(HashMap.get(state.intents.holders, order), () => HashSet.empty<string>())) used = HashSet.add(used, id)
      }
      return verdict(used === state.used ? state : { ...state, used }, record.deps, false)
    }
    case "ComputationIntent": {
      const p = payloadOf(record, "ComputationIntent")
      if (p === undefined || !isOperator(state.registry, authority, record.sender)) return state
      const input = { id: record.id, operator: record.sender, offset: record.offset, body: p }
      return { ...state, intents: submitIntent(state.intents, input, state.now, MAX_OPEN_INTENTS) }
    }
    case "IntentCommitment": {
      const p = payloadOf(record, "IntentCommitment")
      if (p === undefined || !isOperator(state.registry, authority, record.sender)) return state
      const input = { id: record.id, operator: record.sender, offset: record.offset, commitment: p.commitment }
      return { ...state, intents: commitIntent(state.intents, input, MAX_OPEN_INTENTS) }
    }
    case "OperatorRegistered": {
      if (!heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "OperatorRegistered")
      if (p === undefined) return state
      return { ...state, registry: registerOperator(state.registry, { operator: p.operator, name: p.name, id: record.id, offset: record.offset }) }
    }
    case "OperatorRemoved": {
      if (!heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "OperatorRemoved")
      if (p === undefined) return state
      return { ...state, registry: removeOperator(state.registry, p.operator, record.offset) }
    }
    case "IntentReveal": {
      const p = payloadOf(record, "IntentReveal")
      if (p === undefined) return state
      const step = revealIntent(state.intents, { revealId: record.id, operator: record.sender, commitmentId: p.commitmentId, body: p.intent, salt: p.salt }, state.now)
      return { ...state, intents: step.state, refusals: refuse(state, record, step.refused) }
    }
    case "AuctionBidCommitment": {
      const p = payloadOf(record, "AuctionBidCommitment")
      if (p === undefined) return state
      const step = commitBid(state.auctions, { id: record.id, bidder: record.sender, offset: record.offset, batch: p.batch, commitment: p.commitment }, state.openBatch)
      return { ...state, auctions: step.state, refusals: refuse(state, record, step.refused) }
    }
    case "AuctionBidReveal": {
      const p = payloadOf(record, "AuctionBidReveal")
      if (p === undefined) return state
      const step = revealBid(state.auctions, { revealId: record.id, bidder: record.sender, commitmentId: p.commitmentId, amount: BigInt(p.amount), salt: p.salt })
      return { ...state, auctions: step.state, refusals: refuse(state, record, step.refused) }
    }
    default:
      return state
  }
}

// ---------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------

const byOffset = <T extends { readonly offset: number; readonly id: string }>(a: T, b: T): number =>
  a.offset - b.offset || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

const intentsIn = (state: OperatorsState, ids: Option.Option<HashSet.HashSet<string>>): ReadonlyArray<Intent> =>
  Option.isNone(ids)
    ? []
    : [...ids.value].map((id) => Option.getOrThrow(HashMap.get(state.intents.intents, id))).sort(byOffset)

/** An intent by its id (the ComputationIntent's, or the IntentCommitment's). */
export const intentById = (state: OperatorsState, id: string): Intent | undefined =>
  Option.getOrUndefined(HashMap.get(state.intents.intents, id))

/** An operator's intents, in log order. */
export const intentsByOperator = (state: OperatorsState, operator: string): ReadonlyArray<Intent> =>
  intentsIn(state, HashMap.get(state.intents.byOperator, operator))

/** The intents naming an order (committed ones once revealed), in log order. */
export const intentsByOrder = (state: OperatorsState, orderId: string): ReadonlyArray<Intent> =>
  intentsIn(state, HashMap.get(state.intents.byOrder, orderId))

/** The auction of a batch with its bids in log order, if anyone bid for it. */
export const auctionOf = (state: OperatorsState, batch: number): { auction: Auction; bids: ReadonlyArray<Bid> } | undefined => {
  const found = HashMap.get(state.auctions.auctions, batch)
  if (Option.isNone(found)) return undefined
  const bids = [...HashMap.values(found.value.bids)].map((id) => Option.getOrThrow(HashMap.get(state.auctions.bids, id))).sort(byOffset)
  return { auction: found.value, bids }
}

/** Why a reveal or bid was refused, if it was. */
export const refusalOf = (state: OperatorsState, id: string): Refusal | undefined => Option.getOrUndefined(HashMap.get(state.refusals, id))

// ---------------------------------------------------------------------------------------
// Snapshot encoding: the digest covers exactly this JSON; indexes are rebuilt on decode.
// ---------------------------------------------------------------------------------------

const IntentJson = Schema.Struct({
  id: Schema.String,
  operator: Schema.String,
  via: Schema.Literals(["plain", "commit-reveal"]),
  offset: Schema.Number,
  commitment: Schema.NullOr(Schema.String),
  revealId: Schema.NullOr(Schema.String),
  body: Schema.NullOr(IntentBody),
  status: Schema.Literals(["pending", "held", "expired", "refused", "unrevealed"]),
  reason: Schema.NullOr(Schema.String),
  conflictWith: Schema.NullOr(Schema.String),
  heldFrom: Schema.NullOr(Schema.Number),
  settledInBatch: Schema.NullOr(Schema.Number),
  expiredInBatch: Schema.NullOr(Schema.Number)
})

const BidJson = Schema.Struct({
  id: Schema.String,
  bidder: Schema.String,
  batch: Schema.Number,
  offset: Schema.Number,
  commitment: Schema.String,
  status: Schema.Literals(["committed", "revealed", "forfeited"]),
  amount: Schema.NullOr(Schema.String),
  revealId: Schema.NullOr(Schema.String)
})

const AuctionJson = Schema.Struct({
  batch: Schema.Number,
  phase: Schema.Literals(["open", "revealing", "settled"]),
  closedBy: Schema.NullOr(Schema.String),
  settledBy: Schema.NullOr(Schema.String),
  winner: Schema.NullOr(Schema.String)
})

const Encoded = Schema.Struct({
  openBatch: Schema.Number,
  now: Schema.Number,
  lastSeal: Schema.NullOr(Schema.String),
  intents: Schema.Record(Schema.String, IntentJson),
  bids: Schema.Record(Schema.String, BidJson),
  auctions: Schema.Record(Schema.String, AuctionJson),
  refusals: Schema.Record(Schema.String, Schema.Struct({ type: Schema.String, offset: Schema.Number, reason: Schema.String })),
  operators: Schema.Record(Schema.String, Schema.Struct({
    operator: Schema.String,
    name: Schema.NullOr(Schema.String),
    id: Schema.String,
    offset: Schema.Number,
    since: Schema.Number
  })),
  pastOperators: Schema.Record(Schema.String, Schema.Array(Schema.Struct({ from: Schema.Number, to: Schema.Number }))),
  awaiting: Schema.Record(Schema.String, Schema.Struct({
    sender: Schema.String,
    kind: Schema.Literals(["refusedProposal", "refusedFillReport"]),
    batch: Schema.Number
  })),
  used: Schema.Array(Schema.String),
  scores: TallyJson
})
const decodeEncoded = Schema.decodeUnknownSync(Encoded)

const intentJson = (i: Intent): Json => ({
  id: i.id,
  operator: i.operator,
  via: i.via,
  offset: i.offset,
  commitment: i.commitment,
  revealId: i.revealId,
  body: i.body === null ? null : { orderIds: [...i.body.orderIds], windowStart: i.body.windowStart, windowEnd: i.body.windowEnd },
  status: i.status,
  reason: i.reason,
  conflictWith: i.conflictWith,
  heldFrom: i.heldFrom,
  settledInBatch: i.settledInBatch,
  expiredInBatch: i.expiredInBatch
})

const bidJson = (b: Bid): Json => ({ ...b })

const encode = (state: OperatorsState): Json => {
  const intents: Record<string, Json> = {}
  for (const [id, i] of state.intents.intents) intents[id] = intentJson(i)
  const bids: Record<string, Json> = {}
  for (const [id, b] of state.auctions.bids) bids[id] = bidJson(b)
  const auctions: Record<string, Json> = {}
  for (const [batch, a] of state.auctions.auctions) {
    auctions[String(batch)] = { batch: a.batch, phase: a.phase, closedBy: a.closedBy, settledBy: a.settledBy, winner: a.winner }
  }
  const refusals: Record<string, Json> = {}
  for (const [id, r] of state.refusals) refusals[id] = { ...r }
  const operators: Record<string, Json> = {}
  for (const [key, o] of state.registry.operators) operators[key] = { ...o }
  const pastOperators: Record<string, Json> = {}
  for (const [key, spans] of state.registry.past) pastOperators[key] = spans.map((span) => ({ ...span }))
  const awaiting: Record<string, Json> = {}
  for (const [id, a] of state.awaiting) awaiting[id] = { ...a }
  return {
    openBatch: state.openBatch,
    now: state.now,
    lastSeal: state.lastSeal,
    intents,
    bids,
    auctions,
    refusals,
    operators,
    pastOperators,
    awaiting,
    used: [...state.used].sort(),
    scores: encodeTally(state.scores)
  }
}

const addTo = (index: HashMap.HashMap<string, HashSet.HashSet<string>>, key: string, id: string) =>
  HashMap.set(index, key, HashSet.add(Option.getOrElse(HashMap.get(index, key), () => HashSet.empty<string>()), id))

const decode = (json: Json): OperatorsState => {
  const o = decodeEncoded(json)
  let intents: IntentsState = emptyIntents
  for (const i of Object.values(o.intents)) {
    intents = {
      intents: HashMap.set(intents.intents, i.id, i),
      pending: i.status === "pending" ? HashSet.add(intents.pending, i.id) : intents.pending,
      active: i.status === "held" ? HashSet.add(intents.active, i.id) : intents.active,
      holders: i.status === "held" ? addHolder(intents.holders, i) : intents.holders,
      byOperator: addTo(intents.byOperator, i.operator, i.id),
      byOrder: i.body === null ? intents.byOrder : i.body.orderIds.reduce((index, order) => addTo(index, order, i.id), intents.byOrder)
    }
  }
  let auctions: AuctionsState = emptyAuctions
  for (const a of Object.values(o.auctions)) {
    auctions = {
      ...auctions,
      auctions: HashMap.set(auctions.auctions, a.batch, { ...a, bids: HashMap.empty() }),
      open: a.phase === "open" ? HashSet.add(auctions.open, a.batch) : auctions.open,
      revealing: a.phase === "revealing" ? HashSet.add(auctions.revealing, a.batch) : auctions.revealing
    }
  }
  for (const b of Object.values(o.bids)) {
    const a = Option.getOrThrow(HashMap.get(auctions.auctions, b.batch))
    auctions = {
      ...auctions,
      auctions: HashMap.set(auctions.auctions, b.batch, { ...a, bids: HashMap.set(a.bids, b.bidder, b.id) }),
      bids: HashMap.set(auctions.bids, b.id, b)
    }
  }
  return {
    openBatch: o.openBatch,
    now: o.now,
    lastSeal: o.lastSeal,
    intents,
    auctions,
    refusals: HashMap.fromIterable(Object.entries(o.refusals)),
    registry: {
      operators: HashMap.fromIterable(Object.entries(o.operators).map(([key, e]): [string, RegisteredOperator] => [key, e])),
      past: HashMap.fromIterable(Object.entries(o.pastOperators).map(([key, spans]): [string, ReadonlyArray<OperatorSpan>] => [key, spans]))
    },
    awaiting: HashMap.fromIterable(Object.entries(o.awaiting)),
    used: HashSet.fromIterable(o.used),
    scores: tallyOf(o.scores)
  }
}

/** The operators projection for a deployment: seals count from its authority (the instance, or the cluster's leader). */
export const makeOperators = (context: AuthorityConfig): Projection<WithAuthority<OperatorsState>> =>
  authorized(context, {
    name: "operators",
    // 2: seals count from the authority at their place in the log (cluster leader terms).
    // 3: the operator registry; intents only from operators, at most MAX_OPEN_INTENTS open.
    // 4: operators' score marks (refused proposals and fill reports, intents unrevealed or unmatched).
    version: 4,
    handles: operatorTypes,
    initialState,
    evolve: evolveOperators,
    encode,
    decode
  })

/** The projection's name, for looking its state up without the instance key. */
export const OPERATORS = "operators"
