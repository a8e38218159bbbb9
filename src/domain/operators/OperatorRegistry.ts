/**
 * The operator registry: which keys may send the messages that cost the deployment work
 * (`MatchProposal`, `FillReport`, which settlement answers with a signed verdict, and
 * `ComputationIntent`, `IntentCommitment`, which reserve orders). The deployment's authority
 * registers and removes operators (`OperatorRegistered`, `OperatorRemoved`: decisions of role
 * "leader", src/domain/cluster/Authority.ts); the deployment's own instances (the instance of
 * a deployment of one, a cluster's members) count as operators without registration, so a
 * Quick start instance can propose with its own key.
 *
 * Ingest refuses a gated message from anyone else before it is written (src/domain/
 * AdmissionDecider.ts), against the registry as last folded; the folds judge again at each
 * record's place in the log (`isOperator`), so a record ingest let through while a removal
 * was not yet folded, or a record an older version accepted, is ignored identically by every
 * instance and every replay: the operators projection records no intent for it, settlement
 * publishes no verdict on it.
 */
import { HashMap, Option, Schema } from "effect"
import { type AuthorityState, isMember } from "../cluster/Authority.ts"
import { Name } from "../Primitives.ts"

/** An operator's public key: an ed25519 key (32 bytes) or a compressed secp256k1 point (33 bytes), lowercase hex. */
export const OperatorKey = Schema.String.check(Schema.isPattern(/^(?:[0-9a-f]{64}|0[23][0-9a-f]{64})$/u)).annotate({
  description: "an operator's public key: ed25519 (64 hex) or compressed secp256k1 (66 hex), lowercase"
})

/** The authority registers an operator (registering one again renames it). */
export const OperatorRegistered = Schema.Struct({
  operator: OperatorKey,
  name: Schema.optionalKey(Name)
})

/** The authority removes an operator: its later proposals, reports and intents are refused. */
export const OperatorRemoved = Schema.Struct({
  operator: OperatorKey
})

/** The registry's payload schemas, by message type. */
export const OperatorRegistryPayloads = { OperatorRegistered, OperatorRemoved } as const

/**
 * Message types only an operator may send. Proofs too (docs/proofs.md): a key, an announcement
 * and its shares cost every instance storage and the leader a verification.
 */
export const operatorOnlyTypes: ReadonlySet<string> = new Set([
  "MatchProposal",
  "FillReport",
  "ComputationIntent",
  "IntentCommitment",
  // Registers and execution sequences (docs/proofs.md).
  "RegisterUpdated",
  "ExecutionSequenceAnnounced",
  "NodeClaimed",
  "NodeResultSubmitted",
  "VerificationKeyRegistered",
  "ProofAnnouncement",
  "ProofShare"
])

/** Message types that open an intent (a plain one, or a commitment to reveal). */
export const intentTypes: ReadonlySet<string> = new Set(["ComputationIntent", "IntentCommitment"])

/** The most intents one operator may have open (pending in the round, or held) at once. */
export const MAX_OPEN_INTENTS = 64

/** A registered operator. */
export interface RegisteredOperator {
  readonly operator: string
  readonly name: string | null
  /** The latest OperatorRegistered message: its id and offset. */
  readonly id: string
  readonly offset: number
  /** Offset of the registration that made it an operator (a later one only renames it). */
  readonly since: number
}

/** A past registration: the operator's messages between the two offsets counted. */
export interface OperatorSpan {
  readonly from: number
  readonly to: number
}

/** The registry after some prefix of the log. */
export interface OperatorRegistryState {
  /** The operators registered now, by key. */
  readonly operators: HashMap.HashMap<string, RegisteredOperator>
  /** Removed operators' past registrations, oldest first (what `registeredAt` reads). */
  readonly past: HashMap.HashMap<string, ReadonlyArray<OperatorSpan>>
}

/** No operator registered. */
export const emptyRegistry: OperatorRegistryState = { operators: HashMap.empty(), past: HashMap.empty() }

/** Fold a registration (already known to come from the authority). */
export const registerOperator = (
  state: OperatorRegistryState,
  input: { readonly operator: string; readonly name: string | undefined; readonly id: string; readonly offset: number }
): OperatorRegistryState => {
  const earlier = operatorOf(state, input.operator)
  const entry = { operator: input.operator, name: input.name ?? null, id: input.id, offset: input.offset, since: earlier?.since ?? input.offset }
  return { ...state, operators: HashMap.set(state.operators, input.operator, entry) }
}

/** Fold a removal at `offset` (already known to come from the authority); removing an unregistered key changes nothing. */
export const removeOperator = (state: OperatorRegistryState, operator: string, offset: number): OperatorRegistryState => {
  const entry = operatorOf(state, operator)
  if (entry === undefined) return state
  const spans = Option.getOrElse(HashMap.get(state.past, operator), (): ReadonlyArray<OperatorSpan> => [])
  return {
    operators: HashMap.remove(state.operators, operator),
    past: HashMap.set(state.past, operator, [...spans, { from: entry.since, to: offset }])
  }
}

/** Is `sender` an operator at this point of the log: registered, or one of the deployment's own instances? */
export const isOperator = (state: OperatorRegistryState, authority: AuthorityState, sender: string): boolean =>
  HashMap.has(state.operators, sender) || isMember(authority, sender)

/**
 * Was `sender` an operator at `offset` (an offset the state has folded past)? What settlement
 * asks of a proposal or report it reads after later records were folded. Membership is the
 * authority's now (a cluster's members are the deployment's own instances).
 */
export const operatorAt = (state: OperatorRegistryState, authority: AuthorityState, sender: string, offset: number): boolean => {
  if (isMember(authority, sender)) return true
  const entry = operatorOf(state, sender)
  if (entry !== undefined && entry.since < offset) return true
  const spans = Option.getOrElse(HashMap.get(state.past, sender), (): ReadonlyArray<OperatorSpan> => [])
  return spans.some((s) => s.from < offset && offset < s.to)
}

/** The registered operators, sorted by key. */
export const operatorsOf = (state: OperatorRegistryState): ReadonlyArray<RegisteredOperator> =>
  [...HashMap.values(state.operators)].sort((a, b) => (a.operator < b.operator ? -1 : a.operator > b.operator ? 1 : 0))

/** A registered operator by key. */
export const operatorOf = (state: OperatorRegistryState, operator: string): RegisteredOperator | undefined =>
  Option.getOrUndefined(HashMap.get(state.operators, operator))

/** Why `sender` may not send a message of `type` here, or null when it may. */
export const operatorRefusal = (
  type: string,
  sender: string,
  roster: { readonly isOperator: (sender: string) => boolean; readonly openIntents: (sender: string) => number },
  maxOpenIntents: number
): { readonly _tag: "NotRegistered"; readonly reason: string } | { readonly _tag: "TooManyIntents"; readonly reason: string; readonly open: number } | null => {
  if (!operatorOnlyTypes.has(type)) return null
  if (!roster.isOperator(sender)) {
    return { _tag: "NotRegistered", reason: `${type} is accepted only from operators the deployment registered (POST /v1/operators); ${sender} is not one` }
  }
  if (!intentTypes.has(type)) return null
  const open = roster.openIntents(sender)
  return open >= maxOpenIntents
    ? { _tag: "TooManyIntents", reason: `the operator has ${open} open intents, the most it may have is ${maxOpenIntents}; wait until some settle or expire`, open }
    : null
}
