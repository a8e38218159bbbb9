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
  type MessageOutcome,
  type MempoolEvent,
  type MempoolState,
  type Transition,
  EMPTY_DIGEST,
  PENDING_MODULUS_CHECK,
  chainDigest,
  isTerminal,
  transitioned
} from "./MempoolFold.ts"
import { charge } from "../senders/SenderScore.ts"

const get = <K, V>(m: HashMap.HashMap<K, V>, k: K): V | undefined => Option.getOrUndefined(HashMap.get(m, k))

/** Retention: `key` (`e:<id>` or `o:<id>`) leaves memory a retention window after the open batch's seal. */
const retiring = (state: MempoolState, key: string): HashMap.HashMap<number, HashMap.HashMap<string, true>> =>
  HashMap.set(state.retiring, state.batch, HashMap.set(get(state.retiring, state.batch) ?? HashMap.empty(), key, true))

/** Set an outcome (it is retired like a terminal entry). */
const putOutcome = (state: MempoolState, id: string, outcome: MessageOutcome): MempoolState => ({
  ...state,
  outcomes: HashMap.set(state.outcomes, id, outcome),
  retiring: retiring(state, `o:${id}`)
})

/** Record the event's own outcome: accepted when `reason` is null. */
const note = (state: MempoolState, e: MempoolEvent, target: string | null, reason: string | null): MempoolState =>
  putOutcome(state, e.id, { type: e.type, offset: e.offset, target, accepted: reason === null, reason })

/** Store an entry; one that has just reached a terminal status leaves the live set and starts retiring. */
const putEntry = (state: MempoolState, entry: Entry, before: Entry): MempoolState => {
  const ends = isTerminal(entry.status) && !isTerminal(before.status)
  return {
    ...state,
    entries: HashMap.set(state.entries, entry.id, entry),
    live: isTerminal(entry.status) ? HashMap.remove(state.live, entry.id) : state.live,
    retiring: ends ? retiring(state, `e:${entry.id}`) : state.retiring
  }
}

/** Apply a transition to the entry it names (decide named only entries it found). */
const step = (state: MempoolState, e: MempoolEvent, t: Transition): MempoolState => {
  const entry = get(state.entries, t.id)
  return entry === undefined ? state : putEntry(state, transitioned(entry, t, e.offset), entry)
}

/** A match proposal's refusal as its own outcome. */
const refuseProposal = (state: MempoolState, e: MempoolEvent, r: ProposalRefusal): MempoolState =>
  putOutcome(state, r.proposal, { type: "MatchProposal", offset: e.offset, target: e.id, accepted: false, reason: r.reason })

/**
 * Drop from memory what the seal retires: terminal entries (from the entries, the puzzles and
 * their batch's seats) and outcomes, in batch order, each added to `evicted` as it was last.
 */
const evict = (state: MempoolState, batches: ReadonlyArray<number>): MempoolState => {
  if (batches.length === 0) return state
  const evicted = [...state.evicted]
  let { entries, outcomes, live, puzzles, seats, retiring } = state
  for (const b of batches) {
    const keys = get(retiring, b)
    retiring = HashMap.remove(retiring, b)
    if (keys === undefined) continue
    for (const key of HashMap.keys(keys)) {
      const id = key.slice(2)
      if (key.startsWith("e:")) {
        const entry = get(entries, id)
        if (entry === undefined || !isTerminal(entry.status)) continue
        entries = HashMap.remove(entries, id)
        live = HashMap.remove(live, id)
        puzzles = HashMap.remove(puzzles, id)
        const seated = get(seats, entry.batch)
        if (seated !== undefined) {
          const left = HashMap.remove(seated, entry.position)
          seats = HashMap.size(left) === 0 ? HashMap.remove(seats, entry.batch) : HashMap.set(seats, entry.batch, left)
        }
        evicted.push({ kind: "entry", entry })
      } else {
        const outcome = get(outcomes, id)
        if (outcome === undefined) continue
        outcomes = HashMap.remove(outcomes, id)
        evicted.push({ kind: "outcome", id, outcome })
      }
    }
  }
  return { ...state, entries, outcomes, live, puzzles, seats, retiring, evicted }
}

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
  const sealed: MempoolState = {
    ...note(refused, e, null, null),
    batch: state.batch + 1,
    open: HashMap.empty(),
    openDigest: EMPTY_DIGEST,
    batches: HashMap.set(state.batches, d.batch, sealedBatch(state, e, d)),
    seats: HashMap.set(state.seats, d.batch, state.open),
    debts: d.forgiven.reduce((m, sender) => HashMap.remove(m, sender), refused.debts),
    scores: d.cleared.reduce((m, sender) => HashMap.remove(m, sender), refused.scores)
  }
  return evict(sealed, d.retire)
}

/** The batch a seal closes: the open batch as it was before the seal. */
const sealedBatch = (state: MempoolState, e: MempoolEvent, d: Extract<MempoolDecision, { _tag: "Sealed" }>): Batch => ({
  batch: d.batch,
  sealId: e.id,
  sealOffset: e.offset,
  sealedAt: d.sealedAt,
  beaconRound: d.beaconRound,
  count: HashMap.size(state.open),
  digest: state.openDigest
})

/** Expiries, decryptions, a fill: each step, the puzzles done with, the debts; the outcome lists what was skipped. */
const steps = (state: MempoolState, e: MempoolEvent, d: EntrySteps): MempoolState => {
  const stepped = d.steps.reduce((s, t) => step(s, e, t), state)
  const reason = d.skipped.length === 0 ? null : `skipped ${d.skipped.length}: ${d.skipped.slice(0, 8).join("; ")}`.slice(0, 1000)
  return {
    ...note(stepped, e, null, reason),
    puzzles: d.opened.reduce((p, id) => HashMap.remove(p, id), stepped.puzzles),
    debts: d.debts.reduce((m, [sender, debt]) => HashMap.set(m, sender, debt), stepped.debts),
    scores: d.marks.length === 0 ? stepped.scores : charge(stepped.scores, d.marks, stepped.batch)
  }
}

const modulusChecked = (state: MempoolState, e: MempoolEvent, d: Extract<MempoolDecision, { _tag: "ModulusChecked" }>): MempoolState => {
  const recorded = putOutcome(state, d.registrationId, {
    type: "RswModulusRegistration",
    offset: d.modulus.offset,
    target: null,
    accepted: d.ok,
    reason: d.reason
  })
  const next: MempoolState = {
    ...recorded,
    pendingModuli: HashMap.remove(state.pendingModuli, d.registrationId),
    moduli: d.ok ? HashMap.set(state.moduli, d.registrationId, d.modulus) : state.moduli,
    debts: d.debt === null ? state.debts : HashMap.set(state.debts, d.modulus.sender, d.debt),
    scores: d.ok ? state.scores : charge(state.scores, [[d.modulus.sender, "badProof"]], state.batch)
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
    s = putEntry(s, { ...transitioned(entry, { id, status: "matched" }, e.offset), processed: count++ }, entry)
  }
  return note({ ...s, processing, processedCount: count }, e, d.proposal, null)
}

/** The state after `event`, given what `decide` made of it in `state`. */
export const evolve = (state: MempoolState, e: MempoolEvent, d: MempoolDecision): MempoolState => {
  switch (d._tag) {
    case "Refused": {
      const noted = note(state, e, d.target, d.reason)
      const scored = d.mark === null ? noted : { ...noted, scores: charge(noted.scores, [[e.sender, d.mark]], noted.batch) }
      return d.proposal === null ? scored : refuseProposal(scored, e, d.proposal)
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
