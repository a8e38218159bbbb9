/**
 * The mempool's rules, first step: `decide(state, rules, event, authority)` says what one
 * logged mempool message amounts to in `state` — admitted, refused and why, a sealed batch,
 * a reveal, a cancellation, expiries, decryptions, a modulus check, a match, a fill — and
 * changes nothing. `evolve` (MempoolEvolve.ts) applies the decision. The event arrives typed
 * (its payload decoded once, src/projections/RecordEvents.ts); what is checked here is only
 * what depends on the state: which entry it names, whose it is, what became of it.
 */
import { HashMap, Option, Result } from "effect"
import { type AuthorityState, heeds } from "../cluster/Authority.ts"
import type { MessageId } from "../Primitives.ts"
import { MODULUS_PROOF_ROUNDS, verifyProof, verifyPuzzle, verifySolution } from "../timelock/Rsw.ts"
import {
  type Debt,
  type Entry,
  type EventHeader,
  type MempoolEvent,
  type MempoolRules,
  type MempoolState,
  type Modulus,
  type Puzzle,
  type Transition,
  debtAt,
  debtOf,
  isSealed,
  isTerminal,
  puzzleOf,
  statusOf,
  transitioned
} from "./MempoolFold.ts"
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
import type { Mode } from "./MempoolShapes.ts"
import type { MatchRefused } from "../settlement/SettlementMessages.ts"
import { commitmentOf, orderFromBytes } from "./OrderBytes.ts"
import { type Misbehaviour, prune } from "../senders/SenderScore.ts"
import { modulusOfRegistration, puzzleOfLock, solutionOf } from "./RswOrders.ts"

/** A match proposal's refusal, recorded as the proposal's own outcome (it holds no position). */
export interface ProposalRefusal {
  readonly proposal: string
  readonly reason: string
}

/** Per-entry steps of an instance decision naming many entries (expiries, decryptions, a fill). */
export interface EntrySteps {
  readonly steps: ReadonlyArray<Transition>
  /** `<id>: <why>` for each named id the decision leaves alone (the outcome lists them). */
  readonly skipped: ReadonlyArray<string>
  /** Senders' debts after the decision's charges, one per sender charged. */
  readonly debts: ReadonlyArray<readonly [string, Debt]>
  /** RSW entries whose puzzles are done with (opened or refused). */
  readonly opened: ReadonlyArray<string>
  /** Misbehaviour to mark on senders' scores (src/domain/senders/SenderScore.ts), in order. */
  readonly marks: ReadonlyArray<readonly [string, Misbehaviour]>
}

/** What one mempool message amounts to. */
export type MempoolDecision =
  /** Nothing changes but the message's outcome; `target` is the id it named. */
  | {
    readonly _tag: "Refused"
    readonly target: string | null
    readonly reason: string
    readonly proposal: ProposalRefusal | null
    /** Misbehaviour the refusal marks on the message's sender's score (a refused reveal), or null. */
    readonly mark: Misbehaviour | null
  }
  /** An order, commitment or time-locked order takes the open batch's next position. */
  | {
    readonly _tag: "Admitted"
    readonly mode: Mode
    readonly order: UserOrder | null
    readonly commitment: string | null
    readonly round: number | null
    /** An RSW entry's puzzle, kept until it is opened. */
    readonly puzzle: Puzzle | null
  }
  /** A modulus registration waits for the instance's check of its proof. */
  | { readonly _tag: "ModulusQueued"; readonly modulus: Modulus }
  /** The instance's verdict on a pending registration; a failed proof costs its sender `debt`. */
  | {
    readonly _tag: "ModulusChecked"
    readonly registrationId: string
    readonly modulus: Modulus
    readonly ok: boolean
    readonly reason: string | null
    /** A failed proof's debt, and its mark (badProof) on the sender's score. */
    readonly debt: Debt | null
  }
  | { readonly _tag: "Revealed"; readonly commitmentId: string; readonly order: UserOrder }
  | { readonly _tag: "Cancelled"; readonly orderId: string }
  /**
   * The open batch closes; `refused`: time-locked entries whose round was already out;
   * `retire`: the retention batches whose keys leave memory now; `forgiven`: senders whose
   * debts are fully forgiven once this batch is sealed; `cleared`: senders whose score marks
   * have all decayed once it is sealed (dropped from the tally).
   */
  | {
    readonly _tag: "Sealed"
    readonly batch: number
    readonly sealedAt: number
    readonly beaconRound: number | null
    readonly refused: ReadonlyArray<Transition>
    readonly retire: ReadonlyArray<number>
    readonly forgiven: ReadonlyArray<string>
    readonly cleared: ReadonlyArray<string>
  }
  | ({ readonly _tag: "Expired" } & EntrySteps)
  | ({ readonly _tag: "Decrypted" } & EntrySteps)
  | ({ readonly _tag: "Filled" } & EntrySteps)
  /** The orders are matched in this processing order. */
  | { readonly _tag: "Matched"; readonly proposal: string | null; readonly orderIds: ReadonlyArray<string> }
  /** Settlement's refusal of a match proposal is recorded. */
  | ({ readonly _tag: "ProposalRefused" } & ProposalRefusal)

const get = <K, V>(m: HashMap.HashMap<K, V>, k: K): V | undefined => Option.getOrUndefined(HashMap.get(m, k))

const refused = (target: string | null, reason: string, proposal: ProposalRefusal | null = null, mark: Misbehaviour | null = null): MempoolDecision => ({
  _tag: "Refused",
  target,
  reason,
  proposal,
  mark
})

const noSteps: EntrySteps = { steps: [], skipped: [], debts: [], opened: [], marks: [] }

/** Each charged sender marked with `kind`, in order. */
const marked = (senders: ReadonlyArray<string>, kind: Misbehaviour): Array<readonly [string, Misbehaviour]> => senders.map((s) => [s, kind] as const)

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

/** Senders' debts after one more unit each, in order (a sender charged twice pays twice). */
const charges = (state: MempoolState, rules: MempoolRules, senders: ReadonlyArray<string>): Array<readonly [string, Debt]> => {
  let debts = state.debts
  const after = new Map<string, Debt>()
  for (const sender of senders) {
    const debt: Debt = { debt: debtOf({ ...state, debts }, rules, sender) + 1, since: state.batch }
    debts = HashMap.set(debts, sender, debt)
    after.set(sender, debt)
  }
  return [...after]
}

/**
 * Judge each named id in turn: `step` gives its transition or why not. A later id sees the
 * entry as the earlier steps left it (an id named twice is judged twice).
 */
const each = (
  state: MempoolState,
  e: EventHeader,
  ids: ReadonlyArray<string>,
  step: (entry: Entry) => Transition | string
): { readonly steps: Array<Transition>; readonly skipped: Array<string>; readonly entries: ReadonlyMap<string, Entry> } => {
  const entries = new Map<string, Entry>()
  const steps: Array<Transition> = []
  const skipped: Array<string> = []
  for (const id of ids) {
    const entry = entries.get(id) ?? get(state.entries, id)
    const next = entry === undefined ? "unknown order" : step(entry)
    if (typeof next === "string") skipped.push(`${id}: ${next}`)
    else if (entry !== undefined) {
      steps.push(next)
      entries.set(id, transitioned(entry, next, e.offset))
    }
  }
  return { steps, skipped, entries }
}

const admit = (
  state: MempoolState,
  rules: MempoolRules,
  e: EventHeader,
  fields: { readonly mode: Mode; readonly order: UserOrder | null; readonly commitment: string | null; readonly round: number | null },
  puzzle: Puzzle | null
): MempoolDecision => {
  if (fields.mode !== "plain" && debtOf(state, rules, e.sender) >= rules.maxExpiryDebt) {
    return refused(null, `the sender has ${debtOf(state, rules, e.sender)} unrevealed expired commitments (limit ${rules.maxExpiryDebt}); wait for them to be forgiven`)
  }
  return { _tag: "Admitted", ...fields, puzzle }
}

/** An RSW time-locked order: over the sender's own registered modulus, within the deployment's limits. */
const admitPuzzle = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof RswLock.Type): MempoolDecision => {
  const modulus = get(state.moduli, p.modulusId)
  if (modulus === undefined) {
    return refused(p.modulusId, get(state.pendingModuli, p.modulusId) === undefined ? "no registered RSW modulus with that id" : "the modulus awaits the instance's check of its proof (RswModulusVerified)")
  }
  if (modulus.sender !== e.sender) return refused(p.modulusId, "a puzzle must be over its sender's own registered modulus")
  const form = verifyPuzzle(puzzleOfLock(modulus.n, p), rules.rsw)
  if (Result.isFailure(form)) return refused(p.modulusId, `malformed puzzle: ${form.failure.reason}`)
  const puzzle: Puzzle = { modulusId: p.modulusId, t: p.t, seed: p.seed, ciphertext: p.ciphertext }
  return admit(state, rules, e, { mode: "rsw", order: null, commitment: null, round: null }, puzzle)
}

/**
 * A sender registers an RSW modulus. Only cheap checks run here (debt, count, queue, size,
 * encoding): the modulus proof (~1 s at 2,048 bits) is never checked in the fold. An
 * admissible registration waits until the instance's RswModulusVerified names it; the
 * instance checks it on a worker thread (docs/mempool.md).
 */
const registerModulus = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof RswModulusRegistration.Type): MempoolDecision => {
  const debt = debtOf(state, rules, e.sender)
  if (debt >= rules.maxExpiryDebt) return refused(null, `the sender has ${debt} units of expiry debt (limit ${rules.maxExpiryDebt}); wait for them to be forgiven`)
  let owned = 0
  for (const m of HashMap.values(state.moduli)) if (m.sender === e.sender) owned++
  for (const m of HashMap.values(state.pendingModuli)) if (m.sender === e.sender) owned++
  if (owned >= rules.maxModuliPerSender) return refused(null, `the sender already registered ${owned} moduli (limit ${rules.maxModuliPerSender})`)
  if (BigInt(`0x${p.n}`).toString(2).length !== rules.rsw.modulusBits) {
    return refused(null, `the modulus must have exactly ${rules.rsw.modulusBits} bits`)
  }
  if (p.ab.length !== MODULUS_PROOF_ROUNDS) return refused(null, `the proof must answer ${MODULUS_PROOF_ROUNDS} challenges`)
  const decoded = modulusOfRegistration(p)
  if (Result.isFailure(decoded)) return refused(null, decoded.failure)
  const queued = HashMap.size(state.pendingModuli)
  if (queued >= rules.maxPendingModuli) {
    return refused(null, `${queued} modulus registrations already await the instance's check (limit ${rules.maxPendingModuli}); resubmit later`)
  }
  return { _tag: "ModulusQueued", modulus: { sender: e.sender, n: p.n, offset: e.offset } }
}

/**
 * The instance's verdict on a pending registration's proof: `ok` registers the modulus; a
 * failure refuses the registration and charges its sender one unit of debt, so a sender
 * cannot make the instance check proofs without end.
 */
const modulusVerified = (state: MempoolState, rules: MempoolRules, p: typeof RswModulusVerified.Type): MempoolDecision => {
  const id = p.registrationId as string
  const pending = get(state.pendingModuli, id)
  if (pending === undefined) {
    return refused(id, get(state.moduli, id) !== undefined ? "the modulus is already registered" : "no registration awaiting its check with that id")
  }
  const debt = p.ok ? null : charges(state, rules, [pending.sender])[0]?.[1] ?? null
  return {
    _tag: "ModulusChecked",
    registrationId: id,
    modulus: pending,
    ok: p.ok,
    reason: p.ok ? null : `modulus proof: ${p.reason ?? "does not verify"}`,
    debt
  }
}

const cancel = (state: MempoolState, e: EventHeader, p: typeof UserOrderCancellation.Type): MempoolDecision => {
  const target = get(state.entries, p.orderId)
  if (target === undefined) return refused(p.orderId, "no order with that id")
  if (target.sender !== e.sender) return refused(p.orderId, "only the order's sender may cancel it")
  if (target.status !== "committed" && target.status !== "revealed") return refused(p.orderId, `the order is already ${target.status}`)
  return { _tag: "Cancelled", orderId: p.orderId }
}

/**
 * Retention (docs/mempool.md): keys recorded while batch `b` was open leave memory at the
 * first seal whose `sealedAt` is at least `retentionMs` after batch `b`'s own seal. Time is
 * the instance's, in the log (each BatchSealed's `sealedAt`), never this process's clock.
 */
const retireAt = (state: MempoolState, rules: MempoolRules, p: typeof BatchSealed.Type): Array<number> => {
  const horizon = p.sealedAt - rules.retentionMs
  const due: Array<number> = []
  for (const b of HashMap.keys(state.retiring)) {
    const sealedAt = b === p.batch ? p.sealedAt : get(state.batches, b)?.sealedAt
    if (sealedAt !== undefined && sealedAt <= horizon) due.push(b)
  }
  return due.sort((a, b) => a - b)
}

/** Senders whose debt is all forgiven once `batch` batches are sealed (their record is dropped). */
const forgivenAt = (state: MempoolState, rules: MempoolRules, batch: number): Array<string> => {
  const out: Array<string> = []
  for (const [sender, d] of state.debts) if (debtAt(d, rules, batch) === 0) out.push(sender)
  return out.sort()
}

/** Senders whose score marks have all decayed once `batch` batches are sealed. */
const clearedAt = (state: MempoolState, batch: number): Array<string> => {
  const left = prune(state.scores, batch)
  const out: Array<string> = []
  for (const sender of HashMap.keys(state.scores)) if (!HashMap.has(left, sender)) out.push(sender)
  return out.sort()
}

const seal = (state: MempoolState, rules: MempoolRules, p: typeof BatchSealed.Type): MempoolDecision => {
  if (p.batch !== state.batch) return refused(null, `batch ${p.batch} is not the open batch ${state.batch}`)
  const refusedAtSeal: Array<Transition> = []
  // A time-locked order whose round was already out when its batch closed could have been
  // read before its position was final: it is refused, never processed.
  if (p.beaconRound !== null) {
    for (let i = 0; i < HashMap.size(state.open); i++) {
      const id = get(state.open, i) as string
      const entry = get(state.entries, id)
      if (entry?.mode === "tlock" && entry.status === "committed" && (entry.round ?? 0) <= p.beaconRound) {
        refusedAtSeal.push({ id, status: "refused", reason: `locked to round ${entry.round}, already public at sealing (round ${p.beaconRound})` })
      }
    }
  }
  return {
    _tag: "Sealed",
    batch: p.batch,
    sealedAt: p.sealedAt,
    beaconRound: p.beaconRound,
    refused: refusedAtSeal,
    retire: retireAt(state, rules, p),
    forgiven: forgivenAt(state, rules, p.batch + 1),
    cleared: clearedAt(state, p.batch + 1)
  }
}

const expireCommitments = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof CommitmentExpired.Type): MempoolDecision => {
  const charged: Array<string> = []
  const { steps, skipped } = each(state, e, p.commitmentIds, (entry) => {
    if (entry.mode !== "commit") return "not a commitment"
    if (!isSealed(state, entry)) return "its batch is not sealed"
    if (entry.status !== "committed") return `already ${entry.status}`
    charged.push(entry.sender)
    return { id: entry.id, status: "expired", reason: "not revealed within the reveal window" }
  })
  return { _tag: "Expired", steps, skipped, debts: charges(state, rules, charged), opened: [], marks: marked(charged, "unrevealedCommitment") }
}

const expireOrders = (state: MempoolState, e: EventHeader, p: typeof OrderExpired.Type): MempoolDecision => {
  const { steps, skipped } = each(state, e, p.orderIds, (entry) =>
    entry.status === "committed" || entry.status === "revealed"
      ? { id: entry.id, status: "expired", reason: "reached its expiry unfilled" }
      : `already ${entry.status}`)
  return { _tag: "Expired", ...noSteps, steps, skipped }
}

/** A disclosed order: revealed, or (cancelled, expired) its status kept and its content disclosed all the same. */
const disclosed = (entry: Entry, order: UserOrder): Transition =>
  isTerminal(entry.status) ? { id: entry.id, status: null, order } : { id: entry.id, status: "revealed", order }

/**
 * The instance's solutions of a sealed batch's puzzles. A result whose proof does not verify
 * is skipped (the entry stays sequenced; the outcome names it). A proven solution that does
 * not open the ciphertext to an order refuses the entry and charges its sender: the creator
 * sealed something else.
 */
const solved = (state: MempoolState, rules: MempoolRules, e: EventHeader, p: typeof RswDecrypted.Type): MempoolDecision => {
  if (get(state.batches, p.batch) === undefined) return refused(null, `batch ${p.batch} is not sealed`)
  const byId = new Map(p.results.map((r) => [r.orderId as string, r]))
  const charged: Array<string> = []
  const { steps, skipped, entries } = each(state, e, [...byId.keys()], (entry) => {
    const r = byId.get(entry.id)
    if (r === undefined) return "no result" // unreachable: ids come from the results
    if (entry.mode !== "rsw") return "not an RSW time-locked order"
    if (entry.batch !== p.batch) return `in batch ${entry.batch}, not ${p.batch}`
    const puzzle = puzzleOf(state, entry.id)
    if (puzzle === undefined || entry.order !== null || entry.status === "refused") return "already opened"
    const solution = solutionOf(r)
    const proven = verifyProof(puzzle, solution)
    if (Result.isFailure(proven)) return `forged solution: ${proven.failure.reason}`
    const opened = verifySolution(puzzle, solution)
    const order = Result.isSuccess(opened) ? orderFromBytes(opened.success) : Result.fail(opened.failure.reason)
    if (Result.isFailure(order)) {
      charged.push(entry.sender)
      return { id: entry.id, status: "refused", reason: `undecryptable: ${order.failure}` }
    }
    return disclosed(entry, order.success)
  })
  const opened = [...byId.keys()].filter((id) => {
    const entry = entries.get(id) ?? get(state.entries, id)
    return HashMap.has(state.puzzles, id) && entry !== undefined && (entry.order !== null || entry.status === "refused")
  })
  return { _tag: "Decrypted", steps, skipped, debts: charges(state, rules, charged), opened, marks: marked(charged, "unrevealedCommitment") }
}

const decrypted = (state: MempoolState, e: EventHeader, p: typeof TlockDecrypted.Type): MempoolDecision => {
  if (get(state.batches, p.batch) === undefined) return refused(null, `batch ${p.batch} is not sealed`)
  const byId = new Map(p.results.map((r) => [r.orderId as string, r]))
  const { steps, skipped } = each(state, e, [...byId.keys()], (entry) => {
    const r = byId.get(entry.id)
    if (r === undefined) return "no result" // unreachable: ids come from the results
    if (entry.mode !== "tlock") return "not a time-locked order"
    if (entry.batch !== p.batch) return `in batch ${entry.batch}, not ${p.batch}`
    if (entry.round !== p.round) return `locked to round ${entry.round}, not ${p.round}`
    if (entry.order !== null || entry.status === "refused") return "already decrypted"
    if ("failure" in r) return { id: entry.id, status: "refused", reason: `undecryptable: ${r.failure}` }
    return disclosed(entry, r.order)
  })
  return { _tag: "Decrypted", ...noSteps, steps, skipped }
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
const matched = (state: MempoolState, e: EventHeader, p: typeof OrdersMatched.Type): MempoolDecision => {
  const ids = new Set<string>(p.orderIds)
  const seen = new Set<string>()
  const failures: Array<string> = []
  for (const id of p.orderIds) {
    const why = unmatchable(state, ids, id, seen)
    if (why !== undefined) failures.push(`${id}: ${why}`)
    seen.add(id)
  }
  const proposal = e.deps.length === 1 ? e.deps[0] as string : null
  if (failures.length === 0) return { _tag: "Matched", proposal, orderIds: p.orderIds }
  const reason = `refused whole, nothing matched: ${failures.length} of ${p.orderIds.length} orders not matchable: ${failures.slice(0, 8).join("; ")}`.slice(0, 1000)
  // The proposal holds no position and the mempool has no outcome of it yet: record the refusal under its id.
  if (proposal === null || get(state.entries, proposal) !== undefined || get(state.outcomes, proposal) !== undefined) return refused(proposal, reason)
  return refused(proposal, reason, { proposal, reason: `its OrdersMatched ${e.id} was refused at the fold: ${reason}`.slice(0, 1000) })
}

/**
 * The instance's MatchRefused: settlement refused the proposal it names, which must be among
 * its deps (settlement publishes it so). The proposal holds no position, so the refusal is
 * recorded as the proposal's outcome (`type: "MatchProposal"`, `target` = the MatchRefused),
 * and the status views show it; nothing else changes. A proposal that already has an outcome
 * or names an entry keeps it, and the MatchRefused's own outcome says why.
 */
const matchRefused = (state: MempoolState, e: EventHeader, p: typeof MatchRefused.Type): MempoolDecision => {
  const proposal = p.proposalId as string
  if (!e.deps.includes(p.proposalId)) return refused(proposal, "the refused proposal must be among its deps")
  if (get(state.entries, proposal) !== undefined) return refused(proposal, "names an order, not a proposal")
  if (get(state.outcomes, proposal) !== undefined) return refused(proposal, "the proposal already has an outcome")
  return { _tag: "ProposalRefused", proposal, reason: `refused by settlement (MatchRefused ${e.id}): ${p.reason}`.slice(0, 1000) }
}

const filled = (state: MempoolState, e: EventHeader, p: typeof OrderFilled.Type): MempoolDecision => {
  const { steps, skipped } = each(state, e, [p.orderId], (entry) =>
    entry.status === "matched" ? { id: entry.id, status: "filled" } : `not matched (${entry.status})`)
  return { _tag: "Filled", ...noSteps, steps, skipped }
}

/**
 * What one mempool event amounts to in `state`. Decisions (seals, expiries, decryptions,
 * modulus checks, matches, fills, refusals) count only from whoever holds the right at this
 * point of the log (`authority`: the instance, or the cluster's leader of the current term).
 */
export const decide = (state: MempoolState, rules: MempoolRules, e: MempoolEvent, authority: AuthorityState): MempoolDecision => {
  if (!heeds(authority, e.type, e.sender)) {
    return refused(null, authority.instance !== null ? "only the instance may author this event" : "only the current term's leader may author this event")
  }
  switch (e.type) {
    case "UserOrder":
      return admit(state, rules, e, { mode: "plain", order: e.payload, commitment: null, round: null }, null)
    case "OrderCommitment":
      return admit(state, rules, e, { mode: "commit", order: null, commitment: e.payload.commitment, round: null }, null)
    case "TimelockedOrder":
      return e.payload.scheme === "rsw"
        ? admitPuzzle(state, rules, e, e.payload)
        : admit(state, rules, e, { mode: "tlock", order: null, commitment: null, round: e.payload.round }, null)
    case "RswModulusRegistration":
      return registerModulus(state, rules, e, e.payload)
    case "RswModulusVerified":
      return modulusVerified(state, rules, e.payload)
    case "OrderReveal": {
      const refusal = revealRefusal(state, e, e.payload)
      return refusal === null
        ? { _tag: "Revealed", commitmentId: e.payload.commitmentId, order: e.payload.order }
        : refused(e.payload.commitmentId, refusal, null, "refusedReveal")
    }
    case "UserOrderCancellation":
      return cancel(state, e, e.payload)
    case "BatchSealed":
      return seal(state, rules, e.payload)
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
