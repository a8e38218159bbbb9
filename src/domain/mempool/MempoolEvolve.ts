/**
 * The mempool's rules, second step: `evolve(state, event, decision)` applies what `decide`
 * (MempoolDecide.ts) made of a logged mempool event and returns the next state. It judges
 * nothing: every check was the decision's; here are only the state's mechanics (positions,
 * digests, outcomes, the live set).
 *
 * Position (receive-order fairness): an order, commitment or time-locked order gets, at the
 * moment it is folded, the open batch's number and the next position in it. A BatchSealed
 * from the instance closes the open batch: exactly the entries appended before the seal's
 * record and after the previous seal. Positions follow log offsets, which are unique, so two
 * entries never tie; the full rule is in docs/mempool.md.
 */
import { HashMap, Option } from "effect"
import type { EntrySteps, MempoolDecision, ProposalRefusal } from "./MempoolDecide.ts"
import {
  type Batch,
  type Entry,
  type MempoolEvent,
  type MempoolState,
  type Transition,
  EMPTY_DIGEST,
  PENDING_MODULUS_CHECK,
  chainDigest,
  isTerminal,
  transitioned
} from "./MempoolFold.ts"

const get = <K, V>(m: HashMap.HashMap<K, V>, k: K): V | undefined => Option.getOrUndefined(HashMap.get(m, k))

/** Record the event's own outcome: accepted when `reason` is null. */
const note = (state: MempoolState, e: MempoolEvent, target: string | null, reason: string | null): MempoolState => ({
  ...state,
  outcomes: HashMap.set(state.outcomes, e.id, { type: e.type, offset: e.offset, target, accepted: reason === null, reason })
})

const putEntry = (state: MempoolState, entry: Entry): MempoolState => ({
  ...state,
  entries: HashMap.set(state.entries, entry.id, entry),
  live: isTerminal(entry.status) ? HashMap.remove(state.live, entry.id) : state.live
})

/** Apply a transition to the entry it names (decide named only entries it found). */
const step = (state: MempoolState, e: MempoolEvent, t: Transition): MempoolState => {
  const entry = get(state.entries, t.id)
  return entry === undefined ? state : putEntry(state, transitioned(entry, t, e.offset))
}

/** A match proposal's refusal as its own outcome. */
const refuseProposal = (state: MempoolState, e: MempoolEvent, r: ProposalRefusal): MempoolState => ({
  ...state,
  outcomes: HashMap.set(state.outcomes, r.proposal, { type: "MatchProposal", offset: e.offset, target: e.id, accepted: false, reason: r.reason })
})

const admit = (state: MempoolState, e: MempoolEvent, d: Extract<MempoolDecision, { _tag: "Admitted" }>): MempoolState => {
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
    mode: d.mode,
    order: d.order,
    commitment: d.commitment,
    round: d.round
  }
  return {
    ...state,
    entries: HashMap.set(state.entries, e.id, entry),
    open: HashMap.set(state.open, position, e.id),
    openDigest: chainDigest(state.openDigest, e.id),
    live: HashMap.set(state.live, e.id, true),
    puzzles: d.puzzle === null ? state.puzzles : HashMap.set(state.puzzles, e.id, d.puzzle)
  }
}

const seal = (state: MempoolState, e: MempoolEvent, d: Extract<MempoolDecision, { _tag: "Sealed" }>): MempoolState => {
  const refused = d.refused.reduce((s, t) => step(s, e, t), state)
  const batch: Batch = {
    batch: d.batch,
    sealId: e.id,
    sealOffset: e.offset,
    sealedAt: d.sealedAt,
    beaconRound: d.beaconRound,
    count: HashMap.size(state.open),
    digest: state.openDigest
  }
  return {
    ...note(refused, e, null, null),
    batch: state.batch + 1,
    open: HashMap.empty(),
    openDigest: EMPTY_DIGEST,
    batches: HashMap.set(state.batches, d.batch, batch),
    seats: HashMap.set(state.seats, d.batch, state.open)
  }
}

/** Expiries, decryptions, a fill: each step, the puzzles done with, the debts; the outcome lists what was skipped. */
const steps = (state: MempoolState, e: MempoolEvent, d: EntrySteps): MempoolState => {
  const stepped = d.steps.reduce((s, t) => step(s, e, t), state)
  const reason = d.skipped.length === 0 ? null : `skipped ${d.skipped.length}: ${d.skipped.slice(0, 8).join("; ")}`.slice(0, 1000)
  return {
    ...note(stepped, e, null, reason),
    puzzles: d.opened.reduce((p, id) => HashMap.remove(p, id), stepped.puzzles),
    debts: d.debts.reduce((m, [sender, debt]) => HashMap.set(m, sender, debt), stepped.debts)
  }
}

const modulusChecked = (state: MempoolState, e: MempoolEvent, d: Extract<MempoolDecision, { _tag: "ModulusChecked" }>): MempoolState => {
  const next: MempoolState = {
    ...state,
    pendingModuli: HashMap.remove(state.pendingModuli, d.registrationId),
    outcomes: HashMap.set(state.outcomes, d.registrationId, {
      type: "RswModulusRegistration",
      offset: d.modulus.offset,
      target: null,
      accepted: d.ok,
      reason: d.reason
    }),
    moduli: d.ok ? HashMap.set(state.moduli, d.registrationId, d.modulus) : state.moduli,
    debts: d.debt === null ? state.debts : HashMap.set(state.debts, d.modulus.sender, d.debt)
  }
  return note(next, e, d.registrationId, null)
}

const match = (state: MempoolState, e: MempoolEvent, d: Extract<MempoolDecision, { _tag: "Matched" }>): MempoolState => {
  let s = state
  let count = state.processedCount
  let processing = state.processing
  for (const id of d.orderIds) {
    const entry = get(s.entries, id)
    if (entry === undefined) continue // unreachable: decide matched only known entries
    processing = HashMap.set(processing, count, id)
    s = putEntry(s, { ...transitioned(entry, { id, status: "matched" }, e.offset), processed: count++ })
  }
  return note({ ...s, processing, processedCount: count }, e, d.proposal, null)
}

/** The state after `event`, given what `decide` made of it in `state`. */
export const evolve = (state: MempoolState, e: MempoolEvent, d: MempoolDecision): MempoolState => {
  switch (d._tag) {
    case "Refused": {
      const noted = note(state, e, d.target, d.reason)
      return d.proposal === null ? noted : refuseProposal(noted, e, d.proposal)
    }
    case "Admitted":
      return admit(state, e, d)
    case "ModulusQueued":
      return { ...note(state, e, null, PENDING_MODULUS_CHECK), pendingModuli: HashMap.set(state.pendingModuli, e.id, d.modulus) }
    case "ModulusChecked":
      return modulusChecked(state, e, d)
    case "Revealed":
      return step(note(state, e, d.commitmentId, null), e, { id: d.commitmentId, status: "revealed", order: d.order })
    case "Cancelled":
      return step(note(state, e, d.orderId, null), e, { id: d.orderId, status: "cancelled" })
    case "Sealed":
      return seal(state, e, d)
    case "Expired":
    case "Decrypted":
    case "Filled":
      return steps(state, e, d)
    case "Matched":
      return match(state, e, d)
    case "ProposalRefused":
      return refuseProposal(note(state, e, d.proposal, null), e, d)
  }
}
