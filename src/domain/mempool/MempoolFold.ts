/**
 * The mempool's rules as a pure fold: `evolveMempool(state, rules, event, authority)` takes one log
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
import { HashMap, Option, Result } from "effect"
import { type AuthorityState, heeds } from "../cluster/Authority.ts"
import type { MessageType, PayloadOf } from "../MessageTypes.ts"
import type { MessageId } from "../Primitives.ts"
import { MODULUS_PROOF_ROUNDS, type RswLimits, type RswPuzzle, defaultLimits, verifyProof, verifyPuzzle, verifySolution } from "../timelock/Rsw.ts"
import type {
  BatchSealed,
  CommitmentExpired,
  OrderExpired,
  OrderFilled,
  OrderReveal,
  OrdersMatched,
  RswDecrypted,
  RswLock,
  RswModulusRegistration,
  RswModulusVerified,
  TlockDecrypted,
  UserOrder,
  UserOrderCancellation
} from "./MempoolMessages.ts"
import type { MatchRefused } from "../settlement/SettlementMessages.ts"
import { commitmentOf, orderFromBytes } from "./OrderBytes.ts"
import type { Batch, Entry, MessageOutcome, Status, Step, StoredStatus } from "./MempoolShapes.ts"
import { modulusOfRegistration, puzzleOfLock, solutionOf } from "./RswOrders.ts"

export type { Batch, Entry, MessageOutcome, Mode, Status, Step, StoredStatus } from "./MempoolShapes.ts"

/** Statuses after which nothing changes an entry. */
export const isTerminal = (s: StoredStatus): boolean => s === "filled" || s === "expired" || s === "cancelled" || s === "refused"

/** An RSW modulus: registered (the instance's RswModulusVerified said its proof holds) or awaiting that check. */
export interface Modulus {
  readonly sender: string
  /** N, lowercase hex. */
  readonly n: string
  readonly offset: number
}

/** An RSW entry's puzzle, kept until it is opened or refused (the projection checks the solution against it). */
export interface Puzzle {
  readonly modulusId: string
  readonly t: number
  readonly seed: string
  readonly ciphertext: string
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
  readonly outcomes: HashMap.HashMap<string, MessageOutcome>
  readonly debts: HashMap.HashMap<string, Debt>
  /** Registered RSW moduli by their registration's id. */
  readonly moduli: HashMap.HashMap<string, Modulus>
  /** Registrations whose modulus proof awaits the instance's check (RswModulusVerified), by id. */
  readonly pendingModuli: HashMap.HashMap<string, Modulus>
  /** Puzzles of RSW entries not yet opened, by entry id. */
  readonly puzzles: HashMap.HashMap<string, Puzzle>
  /** Matched ids in processing order. */
  readonly processing: HashMap.HashMap<number, string>
  readonly processedCount: number
}

/** The parameters of the mempool's rules (fixed for a deployment's log: changing them changes replay). */
export interface MempoolRules {
  /** A sender whose expired-commitment debt reaches this has new commitments and time-locked orders refused. */
  readonly maxExpiryDebt: number
  /** One unit of debt is forgiven per this many sealed batches. */
  readonly debtDecayBatches: number
  /** What an RSW puzzle and modulus must be: modulus size, squarings range, plaintext size. */
  readonly rsw: RswLimits
  /** Most RSW moduli one sender may register or have awaiting their check (each check costs the instance ~1 s of a worker thread at 2,048 bits). */
  readonly maxModuliPerSender: number
  /** Most registrations awaiting the instance's check at once, all senders together: more are refused (no debt; resubmit later). */
  readonly maxPendingModuli: number
}

/** Default rule parameters. */
export const defaultRules = { maxExpiryDebt: 4, debtDecayBatches: 10, rsw: defaultLimits, maxModuliPerSender: 2, maxPendingModuli: 16 } as const

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
  moduli: HashMap.empty(),
  pendingModuli: HashMap.empty(),
  puzzles: HashMap.empty(),
  processing: HashMap.empty(),
  processedCount: 0
}

/** The mempool message types (the projection skips every other record). */
const MEMPOOL_TYPES = [
  "UserOrder",
  "UserOrderCancellation",
  "OrderCommitment",
  "OrderReveal",
  "TimelockedOrder",
  "RswModulusRegistration",
  "RswModulusVerified",
  "BatchSealed",
  "CommitmentExpired",
  "OrderExpired",
  "BatchDecrypted",
  "OrdersMatched",
  "OrderFilled",
  "MatchRefused"
] as const satisfies ReadonlyArray<MessageType>
type MempoolType = (typeof MEMPOOL_TYPES)[number]

/** One record of the log, as the mempool sees it: header fields and the decoded payload. */
export type MempoolEvent = EventHeader & { readonly [T in MempoolType]: { readonly type: T; readonly payload: PayloadOf<T> } }[MempoolType]

/** The header fields of a record the rules read. */
export interface EventHeader {
  readonly id: string
  readonly offset: number
  readonly lamport: number
  readonly sender: string
  readonly deps: ReadonlyArray<MessageId>
  readonly expiry: number | null
}

/** The mempool message types, as a set. */
export const mempoolTypes: ReadonlySet<string> = new Set(MEMPOOL_TYPES)

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

/** The puzzle of an RSW entry not yet opened. */
export const puzzleOf = (state: MempoolState, id: string): RswPuzzle | undefined => {
  const p = get(state.puzzles, id)
  const m = p === undefined ? undefined : get(state.moduli, p.modulusId)
  return p === undefined || m === undefined ? undefined : puzzleOfLock(m.n, p)
}

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

/**
 * Why the mempool refuses a reveal by `sender` naming `deps`, in `state` (the state before the
 * reveal), or null if it takes it. Ingest asks the same question before a reveal is written
 * (src/services/SealGuard.ts): the log is public, so a reveal this would refuse for its
 * seal, its sender or its content is never logged. Those answers cannot change from "take"
 * to "refuse" for a later state except by status (expired, revealed, cancelled), which
 * discloses nothing new.
 */
export const revealRefusal = (
  state: MempoolState,
  e: { readonly sender: string; readonly deps: ReadonlyArray<MessageId> },
  p: typeof OrderReveal.Type
): string | null => {
  const target = get(state.entries, p.commitmentId)
  if (target === undefined || target.mode !== "commit") return "no commitment with that id"
  if (target.sender !== e.sender) return "only the commitment's sender may reveal it"
  const batch = get(state.batches, target.batch)
  if (batch === undefined) return "the commitment's batch is not sealed yet: reveal after its BatchSealed"
  if (!e.deps.includes(batch.sealId as MessageId)) {
    return `a reveal must name its commitment's BatchSealed (${batch.sealId}) among its deps`
  }
  if (target.status === "expired") return "the commitment expired: the reveal window is over"
  if (target.status !== "committed") return `the commitment is already ${target.status}`
  if (commitmentOf(p.order, p.salt) !== target.commitment) return "order and salt do not match the commitment"
  return null
}

const reveal = (state: MempoolState, e: EventHeader, p: typeof OrderReveal.Type): MempoolState => {
  const refusal = revealRefusal(state, e, p)
  if (refusal !== null) return note(state, e, "OrderReveal", p.commitmentId, refusal)
  const target = get(state.entries, p.commitmentId) as Entry
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

/** One more unit of expiry debt for a sender (an unrevealed commitment, a puzzle or modulus that does not hold). */
const charge = (state: MempoolState, rules: MempoolRules, sender: string): MempoolState => ({
  ...state,
  debts: HashMap.set(state.debts, sender, { debt: debtOf(state, rules, sender) + 1, since: state.batch })
})

/** The outcome a registration shows while its proof awaits the instance's check. */
export const PENDING_MODULUS_CHECK = "pending: awaiting the instance's check of the modulus proof (RswModulusVerified)"

/**
 * A sender registers an RSW modulus. Only cheap checks run here (debt, count, queue, size,
 * encoding): the modulus proof (~1 s at 2,048 bits) is never checked in the fold. An
 * admissible registration waits in `pendingModuli` until the instance's RswModulusVerified
 * names it; the instance checks it on a worker thread (docs/mempool.md).
 */
const registerModulus = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof RswModulusRegistration.Type): MempoolState => {
  const refuse = (reason: string) => note(state, e, "RswModulusRegistration", null, reason)
  const debt = debtOf(state, rules, e.sender)
  if (debt >= rules.maxExpiryDebt) return refuse(`the sender has ${debt} units of expiry debt (limit ${rules.maxExpiryDebt}); wait for them to be forgiven`)
  let owned = 0
  for (const m of HashMap.values(state.moduli)) if (m.sender === e.sender) owned++
  for (const m of HashMap.values(state.pendingModuli)) if (m.sender === e.sender) owned++
  if (owned >= rules.maxModuliPerSender) return refuse(`the sender already registered ${owned} moduli (limit ${rules.maxModuliPerSender})`)
  if (BigInt(`0x${p.n}`).toString(2).length !== rules.rsw.modulusBits) {
    return refuse(`the modulus must have exactly ${rules.rsw.modulusBits} bits`)
  }
  if (p.ab.length !== MODULUS_PROOF_ROUNDS) return refuse(`the proof must answer ${MODULUS_PROOF_ROUNDS} challenges`)
  const decoded = modulusOfRegistration(p)
  if (Result.isFailure(decoded)) return refuse(decoded.failure)
  const queued = HashMap.size(state.pendingModuli)
  if (queued >= rules.maxPendingModuli) {
    return refuse(`${queued} modulus registrations already await the instance's check (limit ${rules.maxPendingModuli}); resubmit later`)
  }
  return {
    ...note(state, e, "RswModulusRegistration", null, PENDING_MODULUS_CHECK),
    pendingModuli: HashMap.set(state.pendingModuli, e.id, { sender: e.sender, n: p.n, offset: e.offset })
  }
}

/**
 * The instance's verdict on a pending registration's proof: `ok` registers the modulus; a
 * failure refuses the registration and charges its sender one unit of debt, so a sender
 * cannot make the instance check proofs without end.
 */
const modulusVerified = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof RswModulusVerified.Type): MempoolState => {
  const id = p.registrationId as string
  const pending = get(state.pendingModuli, id)
  if (pending === undefined) {
    const reason = get(state.moduli, id) !== undefined ? "the modulus is already registered" : "no registration awaiting its check with that id"
    return note(state, e, "RswModulusVerified", id, reason)
  }
  const decided: MempoolState = {
    ...state,
    pendingModuli: HashMap.remove(state.pendingModuli, id),
    outcomes: HashMap.set(state.outcomes, id, {
      type: "RswModulusRegistration",
      offset: pending.offset,
      target: null,
      accepted: p.ok,
      reason: p.ok ? null : `modulus proof: ${p.reason ?? "does not verify"}`
    })
  }
  const next = p.ok ? { ...decided, moduli: HashMap.set(decided.moduli, id, pending) } : charge(decided, rules, pending.sender)
  return note(next, e, "RswModulusVerified", id, null)
}

/** An RSW time-locked order: over the sender's own registered modulus, within the deployment's limits. */
const admitPuzzle = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof RswLock.Type): MempoolState => {
  const refuse = (reason: string) => note(state, e, "TimelockedOrder", p.modulusId, reason)
  const modulus = get(state.moduli, p.modulusId)
  if (modulus === undefined) {
    return refuse(get(state.pendingModuli, p.modulusId) === undefined ? "no registered RSW modulus with that id" : "the modulus awaits the instance's check of its proof (RswModulusVerified)")
  }
  if (modulus.sender !== e.sender) return refuse("a puzzle must be over its sender's own registered modulus")
  const form = verifyPuzzle(puzzleOfLock(modulus.n, p), rules.rsw)
  if (Result.isFailure(form)) return refuse(`malformed puzzle: ${form.failure.reason}`)
  const next = admitEntry(state, rules, e, "TimelockedOrder", { mode: "rsw", order: null, commitment: null, round: null })
  if (get(next.entries, e.id) === undefined) return next // refused (debt)
  return { ...next, puzzles: HashMap.set(next.puzzles, e.id, { modulusId: p.modulusId, t: p.t, seed: p.seed, ciphertext: p.ciphertext }) }
}

/**
 * The instance's solutions of a sealed batch's puzzles. A result whose proof does not verify
 * is skipped (the entry stays sequenced; the outcome names it). A proven solution that does
 * not open the ciphertext to an order refuses the entry and charges its sender: the creator
 * sealed something else.
 */
const solved = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof RswDecrypted.Type) => {
  if (get(state.batches, p.batch) === undefined) return note(state, e, "BatchDecrypted", null, `batch ${p.batch} is not sealed`)
  const byId = new Map(p.results.map((r) => [r.orderId as string, r]))
  let charged: Array<string> = []
  const next = decideEach(state, e, "BatchDecrypted", [...byId.keys()], (s, entry) => {
    const r = byId.get(entry.id)
    if (r === undefined) return "no result" // unreachable: ids come from the results
    if (entry.mode !== "rsw") return "not an RSW time-locked order"
    if (entry.batch !== p.batch) return `in batch ${entry.batch}, not ${p.batch}`
    const puzzle = puzzleOf(s, entry.id)
    if (puzzle === undefined || entry.order !== null || entry.status === "refused") return "already opened"
    const solution = solutionOf(r)
    const proven = verifyProof(puzzle, solution)
    if (Result.isFailure(proven)) return `forged solution: ${proven.failure.reason}`
    const opened = verifySolution(puzzle, solution)
    const order = Result.isSuccess(opened) ? orderFromBytes(opened.success) : Result.fail(opened.failure.reason)
    if (Result.isFailure(order)) {
      charged = [...charged, entry.sender]
      return withStatus(entry, "refused", e.offset, `undecryptable: ${order.failure}`)
    }
    const disclosed = { ...entry, order: order.success }
    return isTerminal(entry.status) ? disclosed : withStatus(disclosed, "revealed", e.offset)
  })
  let puzzles = next.puzzles
  for (const id of byId.keys()) {
    const entry = get(next.entries, id)
    if (entry !== undefined && (entry.order !== null || entry.status === "refused")) puzzles = HashMap.remove(puzzles, id)
  }
  return charged.reduce((s, sender) => charge(s, rules, sender), { ...next, puzzles })
}

const decrypted = (state: MempoolState, e: EventHeader, p: typeof TlockDecrypted.Type) => {
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

/** Why an order named by an OrdersMatched cannot be matched at the verdict's own offset, or undefined if it can. */
const unmatchable = (state: MempoolState, ids: ReadonlySet<string>, id: string, seen: ReadonlySet<string>): string | undefined => {
  if (seen.has(id)) return "named twice"
  const entry = get(state.entries, id)
  if (entry === undefined) return "unknown order"
  const status = statusOf(state, entry)
  if (status !== "revealed") return `not revealed and sealed (${status})`
  const missing = (entry.order?.bundle ?? []).filter((b) => !ids.has(b))
  if (missing.length > 0) return `its bundle is not all named (${missing.join(", ")})`
  return undefined
}

/**
 * The instance's OrdersMatched, all or nothing: every order it names must still be revealed
 * and sealed at the verdict's own offset (a cancellation or expiry folded between the
 * decision and the verdict wins), named once, with its whole bundle. If one is not, nothing
 * of it is applied: the verdict's outcome is refused with every failing order, in the
 * event's order, and the proposal it names (its one dep, as settlement publishes it) gets the
 * same refusal as its outcome, so the status views show it. Otherwise the orders are matched
 * in the event's order.
 */
const matched = (state: MempoolState, e: EventHeader, p: typeof OrdersMatched.Type): MempoolState => {
  const ids = new Set<string>(p.orderIds)
  const seen = new Set<string>()
  const failures: Array<string> = []
  for (const id of p.orderIds) {
    const why = unmatchable(state, ids, id, seen)
    if (why !== undefined) failures.push(`${id}: ${why}`)
    seen.add(id)
  }
  const proposal = e.deps.length === 1 ? e.deps[0] as string : null
  if (failures.length > 0) {
    const reason = `refused whole, nothing matched: ${failures.length} of ${p.orderIds.length} orders not matchable: ${failures.slice(0, 8).join("; ")}`.slice(0, 1000)
    const noted = note(state, e, "OrdersMatched", proposal, reason)
    // The proposal holds no position and the mempool has no outcome of it yet: record the refusal under its id.
    if (proposal === null || get(noted.entries, proposal) !== undefined || get(noted.outcomes, proposal) !== undefined) return noted
    return {
      ...noted,
      outcomes: HashMap.set(noted.outcomes, proposal, {
        type: "MatchProposal",
        offset: e.offset,
        target: e.id,
        accepted: false,
        reason: `its OrdersMatched ${e.id} was refused at the fold: ${reason}`.slice(0, 1000)
      })
    }
  }
  let s = state
  let count = state.processedCount
  let processing = state.processing
  for (const id of p.orderIds) {
    const entry = get(s.entries, id)
    if (entry === undefined) continue // unreachable: checked above
    processing = HashMap.set(processing, count, id)
    s = putEntry(s, { ...withStatus(entry, "matched", e.offset), processed: count++ })
  }
  return note({ ...s, processing, processedCount: count }, e, "OrdersMatched", proposal, null)
}

/**
 * The instance's MatchRefused: settlement refused the proposal it names, which must be among
 * its deps (settlement publishes it so). The proposal holds no position, so the refusal is
 * recorded as the proposal's outcome (`type: "MatchProposal"`, `target` = the MatchRefused),
 * and the status views show it; nothing else changes. A proposal that already has an outcome
 * or names an entry keeps it, and the MatchRefused's own outcome says why.
 */
const matchRefused = (state: MempoolState, e: EventHeader, p: typeof MatchRefused.Type): MempoolState => {
  const proposal = p.proposalId as string
  if (!e.deps.includes(p.proposalId)) return note(state, e, "MatchRefused", proposal, "the refused proposal must be among its deps")
  if (get(state.entries, proposal) !== undefined) return note(state, e, "MatchRefused", proposal, "names an order, not a proposal")
  if (get(state.outcomes, proposal) !== undefined) return note(state, e, "MatchRefused", proposal, "the proposal already has an outcome")
  const noted = note(state, e, "MatchRefused", proposal, null)
  return {
    ...noted,
    outcomes: HashMap.set(noted.outcomes, proposal, {
      type: "MatchProposal",
      offset: e.offset,
      target: e.id,
      accepted: false,
      reason: `refused by settlement (MatchRefused ${e.id}): ${p.reason}`.slice(0, 1000)
    })
  }
}

const filled = (state: MempoolState, e: EventHeader, p: typeof OrderFilled.Type) =>
  decideEach(state, e, "OrderFilled", [p.orderId], (_s, entry) =>
    entry.status === "matched" ? withStatus(entry, "filled", e.offset) : `not matched (${entry.status})`)

/**
 * Fold one mempool event into the state. Decisions (seals, expiries, decryptions, modulus
 * checks, matches, fills, refusals) count only from whoever holds the right at this point of
 * the log (`authority`: the instance, or the cluster's leader of the current term).
 */
export const evolveMempool = (state: MempoolState, rules: MempoolRules, e: MempoolEvent, authority: AuthorityState): MempoolState => {
  if (!heeds(authority, e.type, e.sender)) {
    return note(state, e, e.type, null, authority.instance !== null ? "only the instance may author this event" : "only the current term's leader may author this event")
  }
  switch (e.type) {
    case "UserOrder":
      return admitEntry(state, rules, e, e.type, { mode: "plain", order: e.payload, commitment: null, round: null })
    case "OrderCommitment":
      return admitEntry(state, rules, e, e.type, { mode: "commit", order: null, commitment: e.payload.commitment, round: null })
    case "TimelockedOrder":
      return e.payload.scheme === "rsw"
        ? admitPuzzle(state, rules, e, e.payload)
        : admitEntry(state, rules, e, e.type, { mode: "tlock", order: null, commitment: null, round: e.payload.round })
    case "RswModulusRegistration":
      return registerModulus(state, rules, e, e.payload)
    case "RswModulusVerified":
      return modulusVerified(state, rules, e, e.payload)
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
      return e.payload.scheme === "rsw" ? solved(state, rules, e, e.payload) : decrypted(state, e, e.payload)
    case "OrdersMatched":
      return matched(state, e, e.payload)
    case "OrderFilled":
      return filled(state, e, e.payload)
    case "MatchRefused":
      return matchRefused(state, e, e.payload)
  }
}
