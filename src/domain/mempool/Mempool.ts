/**
 * The mempool's rules as a pure fold: `evolveMempool(state, rules, event)` takes one log
 * record's decoded mempool message and returns the next state. No clock, no randomness, no
 * I/O: time enters only through the instance's own events (a seal's `sealedAt`), so a log
 * always folds to the same state.
 *
 * Position (receive-order fairness): an order, commitment or time-locked order gets, at the
 * moment it is folded, the open batch's number and the next position in it. A BatchSealed
 * from the instance closes the open batch: exactly the entries appended before the seal's
 * record and after the previous seal. Positions follow log offsets, which are unique, so two
 * entries never tie; the full rule is in docs/mempool.md.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js"
import { HashMap, Option } from "effect"
import type { MessageId } from "../Primitives.ts"
import type {
  BatchDecrypted,
  BatchSealed,
  CommitmentExpired,
  OrderCommitment,
  OrderExpired,
  OrderFilled,
  OrderReveal,
  OrdersMatched,
  TimelockedOrder,
  UserOrder,
  UserOrderCancellation
} from "./MempoolMessages.ts"
import { commitmentOf } from "./OrderBytes.ts"

/** How an order entered the mempool. */
export type Mode = "plain" | "commit" | "tlock"

/**
 * The status an entry's own events gave it. What clients see (`statusOf`) adds "sequenced"
 * once the entry's batch is sealed.
 */
export type StoredStatus = "committed" | "revealed" | "matched" | "filled" | "expired" | "cancelled" | "refused"

/** The statuses clients see. */
export type Status = StoredStatus | "sequenced"

/** Statuses after which nothing changes an entry. */
export const isTerminal = (s: StoredStatus): boolean => s === "filled" || s === "expired" || s === "cancelled" || s === "refused"

/** One step of an entry's life: its status and the offset of the record that caused it. */
export interface Step {
  readonly status: Status
  readonly offset: number
  readonly reason?: string
}

/** An order, commitment or time-locked order that holds a position. */
export interface Entry {
  readonly id: string
  readonly mode: Mode
  readonly sender: string
  readonly offset: number
  readonly lamport: number
  /** The envelope's expiry (Unix ms) or null: the order's deadline. */
  readonly expiry: number | null
  readonly batch: number
  readonly position: number
  readonly status: StoredStatus
  /** The order's content, once disclosed (plain orders: from the start, served once sealed). */
  readonly order: UserOrder | null
  /** Commit mode: the commitment hash. */
  readonly commitment: string | null
  /** Time-lock mode: the beacon round it is locked to. */
  readonly round: number | null
  /** Matched orders: their place in the processing order (0-based). */
  readonly processed: number | null
  readonly history: ReadonlyArray<Step>
}

/** A sealed batch. */
export interface Batch {
  readonly batch: number
  /** Id and offset of the BatchSealed record. */
  readonly sealId: string
  readonly sealOffset: number
  readonly sealedAt: number
  readonly beaconRound: number | null
  /** Entries in the batch (positions 0..count-1). */
  readonly count: number
  /** SHA-256 chain over the entries' ids in position order (docs/mempool.md). */
  readonly digest: string
}

/** What happened to a message that is not itself an entry (a reveal, a cancellation, a refused order, a decision). */
export interface Outcome {
  readonly type: string
  readonly offset: number
  /** The entry it acted on, if any. */
  readonly target: string | null
  readonly accepted: boolean
  readonly reason: string | null
}

/** A sender's debt of expired commitments, as of a batch number. */
export interface Debt {
  readonly debt: number
  readonly since: number
}

/** The mempool state. */
export interface MempoolState {
  readonly entries: HashMap.HashMap<string, Entry>
  /** The open batch's number (= number of sealed batches). */
  readonly batch: number
  /** The open batch's entries by position. */
  readonly open: HashMap.HashMap<number, string>
  readonly openDigest: string
  readonly batches: HashMap.HashMap<number, Batch>
  /** Each sealed batch's entries by position (derived from the entries; not encoded). */
  readonly seats: HashMap.HashMap<number, HashMap.HashMap<number, string>>
  /** Ids of entries not in a terminal status, for sweeps and the pending query. */
  readonly live: HashMap.HashMap<string, true>
  readonly outcomes: HashMap.HashMap<string, Outcome>
  readonly debts: HashMap.HashMap<string, Debt>
  /** Matched ids in processing order. */
  readonly processing: HashMap.HashMap<number, string>
  readonly processedCount: number
}

/** The parameters of the mempool's rules (fixed for a deployment's log: changing them changes replay). */
export interface MempoolRules {
  /** The instance's public key: only its decision events are heeded. */
  readonly instanceKey: string
  /** A sender whose expired-commitment debt reaches this has new commitments and time-locked orders refused. */
  readonly maxExpiryDebt: number
  /** One unit of debt is forgiven per this many sealed batches. */
  readonly debtDecayBatches: number
}

/** Default rule parameters (with the instance key filled in by the caller). */
export const defaultRules = { maxExpiryDebt: 4, debtDecayBatches: 10 } as const

/** The digest chain's start: 32 zero bytes. */
export const EMPTY_DIGEST = "00".repeat(32)

/** The next link of a batch's id chain: SHA-256(previous ‖ id). */
export const chainDigest = (previous: string, id: string): string =>
  bytesToHex(sha256(concatBytes(hexToBytes(previous), hexToBytes(id))))

/** The empty mempool. */
export const initialMempool: MempoolState = {
  entries: HashMap.empty(),
  batch: 0,
  open: HashMap.empty(),
  openDigest: EMPTY_DIGEST,
  batches: HashMap.empty(),
  seats: HashMap.empty(),
  live: HashMap.empty(),
  outcomes: HashMap.empty(),
  debts: HashMap.empty(),
  processing: HashMap.empty(),
  processedCount: 0
}

/** One record of the log, as the mempool sees it: header fields and the decoded payload. */
export type MempoolEvent = EventHeader & (
  | { readonly type: "UserOrder"; readonly payload: UserOrder }
  | { readonly type: "UserOrderCancellation"; readonly payload: typeof UserOrderCancellation.Type }
  | { readonly type: "OrderCommitment"; readonly payload: typeof OrderCommitment.Type }
  | { readonly type: "OrderReveal"; readonly payload: typeof OrderReveal.Type }
  | { readonly type: "TimelockedOrder"; readonly payload: typeof TimelockedOrder.Type }
  | { readonly type: "BatchSealed"; readonly payload: typeof BatchSealed.Type }
  | { readonly type: "CommitmentExpired"; readonly payload: typeof CommitmentExpired.Type }
  | { readonly type: "OrderExpired"; readonly payload: typeof OrderExpired.Type }
  | { readonly type: "BatchDecrypted"; readonly payload: typeof BatchDecrypted.Type }
  | { readonly type: "OrdersMatched"; readonly payload: typeof OrdersMatched.Type }
  | { readonly type: "OrderFilled"; readonly payload: typeof OrderFilled.Type }
)

/** The header fields of a record the rules read. */
export interface EventHeader {
  readonly id: string
  readonly offset: number
  readonly lamport: number
  readonly sender: string
  readonly deps: ReadonlyArray<MessageId>
  readonly expiry: number | null
}

/** The mempool message types (the projection skips every other record). */
export const mempoolTypes: ReadonlySet<string> = new Set([
  "UserOrder",
  "UserOrderCancellation",
  "OrderCommitment",
  "OrderReveal",
  "TimelockedOrder",
  "BatchSealed",
  "CommitmentExpired",
  "OrderExpired",
  "BatchDecrypted",
  "OrdersMatched",
  "OrderFilled"
])

const get = <K, V>(m: HashMap.HashMap<K, V>, k: K): V | undefined => Option.getOrUndefined(HashMap.get(m, k))

/** An entry by id. */
export const entryOf = (state: MempoolState, id: string): Entry | undefined => get(state.entries, id)

/** A sealed batch by number. */
export const batchOf = (state: MempoolState, batch: number): Batch | undefined => get(state.batches, batch)

/** Is the entry's batch sealed (its position final and public)? */
export const isSealed = (state: MempoolState, e: Entry): boolean => e.batch < state.batch

/** The status a client sees: "sequenced" for a sealed entry whose content is not yet disclosed. */
export const statusOf = (state: MempoolState, e: Entry): Status => {
  if (e.status !== "committed") return e.status
  if (!isSealed(state, e)) return "committed"
  return e.mode === "plain" ? "revealed" : "sequenced"
}

/** The content a client may see: only once the entry's batch is sealed. */
export const visibleOrder = (state: MempoolState, e: Entry): UserOrder | null => (isSealed(state, e) ? e.order : null)

/** A sender's debt now, after decay. */
export const debtOf = (state: MempoolState, rules: MempoolRules, sender: string): number => {
  const d = get(state.debts, sender)
  if (d === undefined) return 0
  return Math.max(0, d.debt - Math.floor((state.batch - d.since) / rules.debtDecayBatches))
}

const note = (state: MempoolState, e: EventHeader, type: string, target: string | null, reason: string | null): MempoolState => ({
  ...state,
  outcomes: HashMap.set(state.outcomes, e.id, { type, offset: e.offset, target, accepted: reason === null, reason })
})

const withStatus = (entry: Entry, status: StoredStatus, offset: number, reason?: string): Entry => ({
  ...entry,
  status,
  history: [...entry.history, reason === undefined ? { status, offset } : { status, offset, reason }]
})

const putEntry = (state: MempoolState, entry: Entry): MempoolState => ({
  ...state,
  entries: HashMap.set(state.entries, entry.id, entry),
  live: isTerminal(entry.status) ? HashMap.remove(state.live, entry.id) : state.live
})

const admitEntry = (
  state: MempoolState,
  rules: MempoolRules,
  e: EventHeader,
  type: string,
  fields: Pick<Entry, "mode" | "order" | "commitment" | "round">
): MempoolState => {
  if (fields.mode !== "plain" && debtOf(state, rules, e.sender) >= rules.maxExpiryDebt) {
    return note(state, e, type, null, `the sender has ${debtOf(state, rules, e.sender)} unrevealed expired commitments (limit ${rules.maxExpiryDebt}); wait for them to be forgiven`)
  }
  const position = HashMap.size(state.open)
  const entry: Entry = {
    id: e.id,
    sender: e.sender,
    offset: e.offset,
    lamport: e.lamport,
    expiry: e.expiry,
    batch: state.batch,
    position,
    status: "committed",
    processed: null,
    history: [{ status: "committed", offset: e.offset }],
    ...fields
  }
  return {
    ...state,
    entries: HashMap.set(state.entries, e.id, entry),
    open: HashMap.set(state.open, position, e.id),
    openDigest: chainDigest(state.openDigest, e.id),
    live: HashMap.set(state.live, e.id, true)
  }
}

const seal = (state: MempoolState, e: EventHeader, p: typeof BatchSealed.Type): MempoolState => {
  if (p.batch !== state.batch) return note(state, e, "BatchSealed", null, `batch ${p.batch} is not the open batch ${state.batch}`)
  const count = HashMap.size(state.open)
  let entries = state.entries
  let live = state.live
  // A time-locked order whose round was already out when its batch closed could have been
  // read before its position was final: it is refused, never processed.
  if (p.beaconRound !== null) {
    for (let i = 0; i < count; i++) {
      const id = get(state.open, i) as string
      const entry = get(entries, id)
      if (entry?.mode === "tlock" && entry.status === "committed" && (entry.round ?? 0) <= p.beaconRound) {
        entries = HashMap.set(entries, id, withStatus(entry, "refused", e.offset, `locked to round ${entry.round}, already public at sealing (round ${p.beaconRound})`))
        live = HashMap.remove(live, id)
      }
    }
  }
  const batch: Batch = {
    batch: p.batch,
    sealId: e.id,
    sealOffset: e.offset,
    sealedAt: p.sealedAt,
    beaconRound: p.beaconRound,
    count,
    digest: state.openDigest
  }
  return {
    ...note(state, e, "BatchSealed", null, null),
    entries,
    live,
    batch: state.batch + 1,
    open: HashMap.empty(),
    openDigest: EMPTY_DIGEST,
    batches: HashMap.set(state.batches, p.batch, batch),
    seats: HashMap.set(state.seats, p.batch, state.open)
  }
}

const reveal = (state: MempoolState, e: EventHeader, p: typeof OrderReveal.Type): MempoolState => {
  const target = get(state.entries, p.commitmentId)
  const refuse = (reason: string) => note(state, e, "OrderReveal", p.commitmentId, reason)
  if (target === undefined || target.mode !== "commit") return refuse("no commitment with that id")
  if (target.sender !== e.sender) return refuse("only the commitment's sender may reveal it")
  const batch = get(state.batches, target.batch)
  if (batch === undefined) return refuse("the commitment's batch is not sealed yet: reveal after its BatchSealed")
  if (!e.deps.includes(batch.sealId as MessageId)) {
    return refuse(`a reveal must name its commitment's BatchSealed (${batch.sealId}) among its deps`)
  }
  if (target.status === "expired") return refuse("the commitment expired: the reveal window is over")
  if (target.status !== "committed") return refuse(`the commitment is already ${target.status}`)
  if (commitmentOf(p.order, p.salt) !== target.commitment) return refuse("order and salt do not match the commitment")
  const revealed: Entry = { ...withStatus(target, "revealed", e.offset), order: p.order }
  return putEntry(note(state, e, "OrderReveal", p.commitmentId, null), revealed)
}

const cancel = (state: MempoolState, e: EventHeader, p: typeof UserOrderCancellation.Type): MempoolState => {
  const target = get(state.entries, p.orderId)
  const refuse = (reason: string) => note(state, e, "UserOrderCancellation", p.orderId, reason)
  if (target === undefined) return refuse("no order with that id")
  if (target.sender !== e.sender) return refuse("only the order's sender may cancel it")
  if (target.status !== "committed" && target.status !== "revealed") return refuse(`the order is already ${target.status}`)
  return putEntry(note(state, e, "UserOrderCancellation", p.orderId, null), withStatus(target, "cancelled", e.offset))
}

/** Apply a decision to each id: `step` gives the new entry or why not; skipped ids are noted. */
const decideEach = (
  state: MempoolState,
  e: EventHeader,
  type: string,
  ids: ReadonlyArray<string>,
  step: (s: MempoolState, entry: Entry) => Entry | string
): MempoolState => {
  let s = state
  const skipped: Array<string> = []
  for (const id of ids) {
    const entry = get(s.entries, id)
    const next = entry === undefined ? "unknown order" : step(s, entry)
    if (typeof next === "string") skipped.push(`${id}: ${next}`)
    else s = putEntry(s, next)
  }
  return note(s, e, type, null, skipped.length === 0 ? null : `skipped ${skipped.length}: ${skipped.slice(0, 8).join("; ")}`.slice(0, 1000))
}

const expireCommitments = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof CommitmentExpired.Type) => {
  let debts = state.debts
  const next = decideEach(state, e, "CommitmentExpired", p.commitmentIds, (s, entry) => {
    if (entry.mode !== "commit") return "not a commitment"
    if (!isSealed(s, entry)) return "its batch is not sealed"
    if (entry.status !== "committed") return `already ${entry.status}`
    const debt = debtOf({ ...s, debts }, rules, entry.sender) + 1
    debts = HashMap.set(debts, entry.sender, { debt, since: s.batch })
    return withStatus(entry, "expired", e.offset, "not revealed within the reveal window")
  })
  return { ...next, debts }
}

const expireOrders = (state: MempoolState, e: EventHeader, p: typeof OrderExpired.Type) =>
  decideEach(state, e, "OrderExpired", p.orderIds, (_s, entry) =>
    entry.status === "committed" || entry.status === "revealed"
      ? withStatus(entry, "expired", e.offset, "reached its expiry unfilled")
      : `already ${entry.status}`)

const decrypted = (state: MempoolState, e: EventHeader, p: typeof BatchDecrypted.Type) => {
  if (get(state.batches, p.batch) === undefined) return note(state, e, "BatchDecrypted", null, `batch ${p.batch} is not sealed`)
  const byId = new Map(p.results.map((r) => [r.orderId as string, r]))
  return decideEach(state, e, "BatchDecrypted", [...byId.keys()], (_s, entry) => {
    const r = byId.get(entry.id)
    if (r === undefined) return "no result" // unreachable: ids come from the results
    if (entry.mode !== "tlock") return "not a time-locked order"
    if (entry.batch !== p.batch) return `in batch ${entry.batch}, not ${p.batch}`
    if (entry.round !== p.round) return `locked to round ${entry.round}, not ${p.round}`
    if (entry.order !== null || entry.status === "refused") return "already decrypted"
    if ("failure" in r) return withStatus(entry, "refused", e.offset, `undecryptable: ${r.failure}`)
    // A cancelled or expired order keeps its status; its content is disclosed all the same.
    const opened = { ...entry, order: r.order }
    return isTerminal(entry.status) ? opened : withStatus(opened, "revealed", e.offset)
  })
}

const matched = (state: MempoolState, e: EventHeader, p: typeof OrdersMatched.Type) => {
  let processing = state.processing
  let count = state.processedCount
  const next = decideEach(state, e, "OrdersMatched", p.orderIds, (s, entry) => {
    if (statusOf(s, entry) !== "revealed") return `not revealed and sealed (${statusOf(s, entry)})`
    processing = HashMap.set(processing, count, entry.id)
    return { ...withStatus(entry, "matched", e.offset), processed: count++ }
  })
  return { ...next, processing, processedCount: count }
}

const filled = (state: MempoolState, e: EventHeader, p: typeof OrderFilled.Type) =>
  decideEach(state, e, "OrderFilled", [p.orderId], (_s, entry) =>
    entry.status === "matched" ? withStatus(entry, "filled", e.offset) : `not matched (${entry.status})`)

const instanceOnly = new Set(["BatchSealed", "CommitmentExpired", "OrderExpired", "BatchDecrypted", "OrdersMatched", "OrderFilled"])

/** Fold one mempool event into the state. */
export const evolveMempool = (state: MempoolState, rules: MempoolRules, e: MempoolEvent): MempoolState => {
  if (instanceOnly.has(e.type) && e.sender !== rules.instanceKey) {
    return note(state, e, e.type, null, "only the instance may author this event")
  }
  switch (e.type) {
    case "UserOrder":
      return admitEntry(state, rules, e, e.type, { mode: "plain", order: e.payload, commitment: null, round: null })
    case "OrderCommitment":
      return admitEntry(state, rules, e, e.type, { mode: "commit", order: null, commitment: e.payload.commitment, round: null })
    case "TimelockedOrder":
      return admitEntry(state, rules, e, e.type, { mode: "tlock", order: null, commitment: null, round: e.payload.round })
    case "OrderReveal":
      return reveal(state, e, e.payload)
    case "UserOrderCancellation":
      return cancel(state, e, e.payload)
    case "BatchSealed":
      return seal(state, e, e.payload)
    case "CommitmentExpired":
      return expireCommitments(state, rules, e, e.payload)
    case "OrderExpired":
      return expireOrders(state, e, e.payload)
    case "BatchDecrypted":
      return decrypted(state, e, e.payload)
    case "OrdersMatched":
      return matched(state, e, e.payload)
    case "OrderFilled":
      return filled(state, e, e.payload)
  }
}
