/**
 * Computation intents: an operator reserves order ids for a window of time. Pure rules over
 * persistent state; the operators projection (src/projections/Operators) drives them from
 * the log. The rules, and why they read as they do, are in docs/operators.md:
 *
 * - Intents (plain ones, and commitments to be revealed) collect in a round; the instance's
 *   next BatchSealed settles the round. A committed intent must be revealed before that
 *   seal, or it settles as `unrevealed`.
 * - Settlement takes the round's intents by log position (a commitment's position is its
 *   own, not its reveal's): an intent is held if none of its orders is held by another
 *   operator for an overlapping time, else refused as a whole, naming the holder.
 * - Time is the log's: the `sealedAt` of the latest BatchSealed. A held intent expires, and
 *   frees its orders, at the first seal at or after its window's end.
 */
import { HashMap, HashSet, Option } from "effect"
import { saltedCommitment } from "./Commitments.ts"
import type { IntentBody } from "./OperatorMessages.ts"

/** The longest window one intent may reserve, so nobody can lock an order for long. */
export const MAX_INTENT_WINDOW_MS = 300_000

/** Where an intent is in its life. */
export type IntentStatus = "pending" | "held" | "expired" | "refused" | "unrevealed"

/** One intent, plain or committed. */
export interface Intent {
  /** The ComputationIntent's id, or for commit-reveal the IntentCommitment's id. */
  readonly id: string
  readonly operator: string
  readonly via: "plain" | "commit-reveal"
  /** The log offset that ranks it: the intent's own, or its commitment's. */
  readonly offset: number
  /** For commit-reveal: the committed hash. */
  readonly commitment: string | null
  /** The IntentReveal that opened the commitment, if any. */
  readonly revealId: string | null
  /** What it reserves; null while a commitment is unrevealed. */
  readonly body: IntentBody | null
  readonly status: IntentStatus
  /** Why it was refused or left unrevealed. */
  readonly reason: string | null
  /** For a conflict: the intent that holds an order first. */
  readonly conflictWith: string | null
  /** Held from this log time (the window's start, or the settling seal's time if later) to the window's end. */
  readonly heldFrom: number | null
  /** The batch whose seal settled it. */
  readonly settledInBatch: number | null
  /** The batch whose seal expired it. */
  readonly expiredInBatch: number | null
}

/** Every intent, with the indexes the rules and queries need. */
export interface IntentsState {
  readonly intents: HashMap.HashMap<string, Intent>
  /** Ids of the current round, settled at the next seal. */
  readonly pending: HashSet.HashSet<string>
  /** Ids of held intents. */
  readonly active: HashSet.HashSet<string>
  /** Held intents by order: what a new intent is checked against. */
  readonly holders: HashMap.HashMap<string, HashSet.HashSet<string>>
  readonly byOperator: HashMap.HashMap<string, HashSet.HashSet<string>>
  /** Intents naming each order (revealed or plain ones only). */
  readonly byOrder: HashMap.HashMap<string, HashSet.HashSet<string>>
}

/** No intents. */
export const emptyIntents: IntentsState = {
  intents: HashMap.empty(),
  pending: HashSet.empty(),
  active: HashSet.empty(),
  holders: HashMap.empty(),
  byOperator: HashMap.empty(),
  byOrder: HashMap.empty()
}

/** A step's new state and, if the message was refused without an intent to record it on, why. */
export interface IntentStep {
  readonly state: IntentsState
  readonly refused: string | null
}

const DOMAIN = new TextEncoder().encode("causeway/v1/intent\0")

/**
 * The commitment to an intent: SHA-256("causeway/v1/intent\0" ‖ JCS({operator, orderIds,
 * windowStart, windowEnd}) ‖ salt bytes), as hex. The operator's key is inside so nobody
 * can copy another operator's commitment and reveal it as their own.
 */
export const intentCommitment = (operator: string, body: IntentBody, salt: string): string => {
  return saltedCommitment(DOMAIN, { operator, orderIds: body.orderIds, windowStart: body.windowStart, windowEnd: body.windowEnd }, salt)
}

/** Why an intent's body cannot be held at log time `now`, or null if it can. */
export const checkIntentBody = (body: IntentBody, now: number): string | null => {
  if (body.windowEnd <= body.windowStart) {
    return `the window ends (${body.windowEnd}) at or before it starts (${body.windowStart})`
  }
  if (body.windowEnd - body.windowStart > MAX_INTENT_WINDOW_MS) {
    return `the window spans ${body.windowEnd - body.windowStart} ms, more than the ${MAX_INTENT_WINDOW_MS} ms an intent may reserve`
  }
  if (body.windowEnd <= now) {
    return `the window ended at ${body.windowEnd}, not after the log's time ${now} (the last sealed batch)`
  }
  const seen = new Set<string>()
  for (const o of body.orderIds) {
    if (seen.has(o)) return `order ${o} is named twice`
    seen.add(o)
  }
  return null
}

const addTo = (index: HashMap.HashMap<string, HashSet.HashSet<string>>, key: string, id: string) =>
  HashMap.set(index, key, HashSet.add(Option.getOrElse(HashMap.get(index, key), () => HashSet.empty<string>()), id))

const removeFrom = (index: HashMap.HashMap<string, HashSet.HashSet<string>>, key: string, id: string) => {
  const set = HashMap.get(index, key)
  if (Option.isNone(set)) return index
  const rest = HashSet.remove(set.value, id)
  return HashSet.size(rest) === 0 ? HashMap.remove(index, key) : HashMap.set(index, key, rest)
}

/** Index a held intent's orders in `holders`. */
export const addHolder = (holders: IntentsState["holders"], intent: Intent): IntentsState["holders"] =>
  (intent.body?.orderIds ?? []).reduce((index, o) => addTo(index, o, intent.id), holders)

const indexOrders = (state: IntentsState, id: string, body: IntentBody): IntentsState["byOrder"] =>
  body.orderIds.reduce((index, o) => addTo(index, o, id), state.byOrder)

const record = (state: IntentsState, intent: Intent): IntentsState => ({
  ...state,
  intents: HashMap.set(state.intents, intent.id, intent),
  byOperator: addTo(state.byOperator, intent.operator, intent.id)
})

const fresh = (
  id: string,
  operator: string,
  offset: number,
  via: Intent["via"],
  body: IntentBody | null,
  commitment: string | null
): Intent => ({
  id,
  operator,
  via,
  offset,
  commitment,
  revealId: null,
  body,
  status: "pending",
  reason: null,
  conflictWith: null,
  heldFrom: null,
  settledInBatch: null,
  expiredInBatch: null
})

/** How many intents `operator` has open: pending in the round (committed ones too) or held. */
export const openIntentsOf = (state: IntentsState, operator: string): number => {
  const ids = HashMap.get(state.byOperator, operator)
  if (Option.isNone(ids)) return 0
  let open = 0
  for (const id of ids.value) if (HashSet.has(state.pending, id) || HashSet.has(state.active, id)) open += 1
  return open
}

// Why an operator may open no further intent (it holds `maxOpen` already), or null.
const overLimit = (state: IntentsState, operator: string, maxOpen: number): string | null => {
  const open = openIntentsOf(state, operator)
  return open >= maxOpen ? `the operator has ${open} open intents, the most it may have is ${maxOpen}` : null
}

/**
 * A plain intent joins the round, or is recorded refused if its body cannot be held or its
 * operator has `maxOpen` intents open already.
 */
export const submitIntent = (
  state: IntentsState,
  input: { readonly id: string; readonly operator: string; readonly offset: number; readonly body: IntentBody },
  now: number,
  maxOpen: number
): IntentsState => {
  const problem = overLimit(state, input.operator, maxOpen) ?? checkIntentBody(input.body, now)
  const intent = fresh(input.id, input.operator, input.offset, "plain", input.body, null)
  const withBody = { ...record(state, problem === null ? intent : { ...intent, status: "refused", reason: problem }), byOrder: indexOrders(state, input.id, input.body) }
  return problem === null ? { ...withBody, pending: HashSet.add(state.pending, input.id) } : withBody
}

/**
 * A committed intent joins the round at its commitment's position, its content unknown; it is
 * recorded refused if its operator has `maxOpen` intents open already.
 */
export const commitIntent = (
  state: IntentsState,
  input: { readonly id: string; readonly operator: string; readonly offset: number; readonly commitment: string },
  maxOpen: number
): IntentsState => {
  const problem = overLimit(state, input.operator, maxOpen)
  const intent = fresh(input.id, input.operator, input.offset, "commit-reveal", null, input.commitment)
  return problem === null
    ? { ...record(state, intent), pending: HashSet.add(state.pending, input.id) }
    : record(state, { ...intent, status: "refused", reason: problem })
}

/** A reveal opens a pending commitment of the same sender, or is refused with a reason. */
export const revealIntent = (
  state: IntentsState,
  input: {
    readonly revealId: string
    readonly operator: string
    readonly commitmentId: string
    readonly body: IntentBody
    readonly salt: string
  },
  now: number
): IntentStep => {
  const refuse = (reason: string): IntentStep => ({ state, refused: reason })
  const found = HashMap.get(state.intents, input.commitmentId)
  if (Option.isNone(found) || found.value.via !== "commit-reveal") return refuse(`no intent commitment ${input.commitmentId}`)
  const c = found.value
  if (c.operator !== input.operator) return refuse(`intent commitment ${c.id} was made by another sender`)
  if (c.revealId !== null) return refuse(`intent commitment ${c.id} is already revealed by ${c.revealId}`)
  if (c.status === "refused") return refuse(`intent commitment ${c.id} was refused: ${c.reason ?? "no reason"}`)
  if (c.status !== "pending") {
    return refuse(`intent commitment ${c.id} was settled unrevealed in batch ${c.settledInBatch}; a reveal must precede the next seal after its commitment`)
  }
  if (intentCommitment(input.operator, input.body, input.salt) !== c.commitment) {
    return refuse(`the intent and salt do not hash to the commitment of ${c.id}`)
  }
  const problem = checkIntentBody(input.body, now)
  const opened: Intent = { ...c, revealId: input.revealId, body: input.body, ...(problem === null ? {} : { status: "refused", reason: problem }) }
  return {
    state: {
      ...state,
      intents: HashMap.set(state.intents, c.id, opened),
      byOrder: indexOrders(state, c.id, input.body),
      pending: problem === null ? state.pending : HashSet.remove(state.pending, c.id)
    },
    refused: null
  }
}

const overlaps = (a: Intent, aFrom: number, b: Intent): boolean => {
  if (a.body === null || b.body === null || b.heldFrom === null) return false
  return Math.max(aFrom, b.heldFrom) < Math.min(a.body.windowEnd, b.body.windowEnd)
}

/**
 * The instance sealed `batch` at log time `sealedAt`: held intents whose window has ended
 * expire, then the round settles in log order (rules in the module doc).
 */
export const sealIntents = (state: IntentsState, seal: { readonly batch: number; readonly sealedAt: number }): IntentsState => {
  const now = seal.sealedAt
  let intents = state.intents
  let active = state.active
  let holders = state.holders
  const get = (id: string): Intent => Option.getOrThrow(HashMap.get(intents, id))
  for (const id of state.active) {
    const h = get(id)
    if (h.body !== null && h.body.windowEnd <= now) {
      intents = HashMap.set(intents, id, { ...h, status: "expired", expiredInBatch: seal.batch })
      active = HashSet.remove(active, id)
      for (const o of h.body.orderIds) holders = removeFrom(holders, o, id)
    }
  }
  const round = [...state.pending].map(get).sort((a, b) => a.offset - b.offset || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  for (const intent of round) {
    const settled = { ...intent, settledInBatch: seal.batch }
    if (intent.body === null) {
      intents = HashMap.set(intents, intent.id, { ...settled, status: "unrevealed", reason: `not revealed before batch ${seal.batch} was sealed` })
      continue
    }
    if (intent.body.windowEnd <= now) {
      intents = HashMap.set(intents, intent.id, { ...settled, status: "refused", reason: `the window ended at ${intent.body.windowEnd}, not after batch ${seal.batch} was sealed at ${now}` })
      continue
    }
    const from = Math.max(intent.body.windowStart, now)
    let holder: { intent: Intent; order: string } | null = null
    for (const order of intent.body.orderIds) {
      for (const otherId of Option.getOrElse(HashMap.get(holders, order), () => HashSet.empty<string>())) {
        const other = get(otherId)
        if (other.operator === intent.operator || !overlaps(intent, from, other)) continue
        if (holder === null || other.offset < holder.intent.offset) holder = { intent: other, order }
      }
    }
    if (holder !== null) {
      const h = holder.intent
      intents = HashMap.set(intents, intent.id, {
        ...settled,
        status: "refused",
        conflictWith: h.id,
        reason: `order ${holder.order} is held by ${h.operator}'s intent ${h.id} from ${h.heldFrom} to ${h.body?.windowEnd}`
      })
      continue
    }
    const held: Intent = { ...settled, status: "held", heldFrom: from }
    intents = HashMap.set(intents, intent.id, held)
    active = HashSet.add(active, intent.id)
    holders = addHolder(holders, held)
  }
  return { ...state, intents, active, holders, pending: HashSet.empty() }
}
