/**
 * The execution sequences projection (issue #15, docs/proofs.md):
 * announcements, claims and results from operators, and the authority's lease expiries and
 * outcomes, folded by the rules of src/domain/sequences/Sequences.ts, with the
 * ProofAnnouncements and the authority's ProofVerified that proof-bound results wait on and
 * the operator registry (who may announce, claim and answer, judged at each record's place).
 */
import { HashMap, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import { type AuthorityConfig, type AuthorityState, heeds } from "../../domain/cluster/Authority.ts"
import { isOperator, operatorsOf } from "../../domain/operators/OperatorRegistry.ts"
import { suggestedClaimant } from "../../domain/sequences/Rendezvous.ts"
import {
  announce,
  type At,
  claim,
  completed,
  emptySequences,
  failed,
  leaseExpired,
  proofDecided,
  type Sequence,
  sequenceOf,
  type SequencesState,
  submitResult
} from "../../domain/sequences/Sequences.ts"
import type { LogRecord } from "../../ports/CausalLog.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import type { Projection } from "../Projection.ts"
import { decodeProofsKnown, emptyProofsKnown, encodeProofsKnown, evolveProofsKnown, type ProofsKnown, proofsKnownTypes } from "../ProofsKnown.ts"
import { payloadOf } from "../RecordEvents.ts"
import { DEFAULT_RETENTION_MS } from "../../domain/mempool/MempoolFold.ts"

/** The projection's state. */
export interface SequencesProjectionState extends SequencesState {
  readonly known: ProofsKnown
}

const initialState: SequencesProjectionState = { ...emptySequences, known: emptyProofsKnown }

/** The message types the projection reads. */
export const sequenceTypes: ReadonlySet<string> = new Set([
  "ExecutionSequenceAnnounced",
  "NodeClaimed",
  "NodeResultSubmitted",
  "NodeLeaseExpired",
  "ExecutionSequenceCompleted",
  "ExecutionSequenceFailed",
  ...proofsKnownTypes
])

const atOf = (r: LogRecord): At => ({ id: r.id, offset: r.offset, type: r.type, sender: r.sender })

const inner = (state: SequencesProjectionState, next: SequencesState): SequencesProjectionState =>
  next.sequences === state.sequences ? state : { sequences: next.sequences, known: state.known }

/** One record folded in, under the authority in force before it. */
export const evolveSequences = (state: SequencesProjectionState, record: LogRecord, authority: AuthorityState, retentionMs: number = DEFAULT_RETENTION_MS): SequencesProjectionState => {
  const operator = () => isOperator(state.known.registry, authority, record.sender)
  const decision = () => heeds(authority, record.type, record.sender)
  switch (record.type) {
    case "ExecutionSequenceAnnounced": {
      const p = payloadOf(record, record.type)
      return p === undefined || !operator() ? state : inner(state, announce(state, atOf(record), p))
    }
    case "NodeClaimed": {
      const p = payloadOf(record, record.type)
      return p === undefined || !operator() ? state : inner(state, claim(state, atOf(record), p))
    }
    case "NodeResultSubmitted": {
      const p = payloadOf(record, record.type)
      return p === undefined || !operator() ? state : inner(state, submitResult(state, atOf(record), p, state.known.proofs))
    }
    case "NodeLeaseExpired": {
      const p = payloadOf(record, record.type)
      return p === undefined || !decision() ? state : inner(state, leaseExpired(state, atOf(record), p))
    }
    case "ExecutionSequenceCompleted": {
      const p = payloadOf(record, record.type)
      return p === undefined || !decision() ? state : inner(state, completed(state, atOf(record), p.sequenceId))
    }
    case "ExecutionSequenceFailed": {
      const p = payloadOf(record, record.type)
      return p === undefined || !decision() ? state : inner(state, failed(state, atOf(record), p))
    }
    default: {
      const step = evolveProofsKnown(state.known, record, authority, retentionMs)
      if (step.known === state.known) return state
      const verdict = step.decided?.verdict
      const next = step.decided === undefined || verdict === null || verdict === undefined ? state : proofDecided(state, atOf(record), step.decided.id, verdict)
      return { sequences: next.sequences, known: step.known }
    }
  }
}

// ---------------------------------------------------------------------------------------
// Snapshot encoding: sequences sorted by id, so the digest does not depend on insertion order.
// ---------------------------------------------------------------------------------------

const AttemptJson = Schema.Struct({
  claimId: Schema.String,
  operator: Schema.String,
  offset: Schema.Number,
  end: Schema.NullOr(Schema.Literals(["completed", "failed", "expired"])),
  reason: Schema.NullOr(Schema.String)
})
const NodeJson = Schema.Struct({
  id: Schema.String,
  deps: Schema.Array(Schema.String),
  spec: Schema.Unknown,
  status: Schema.Literals(["open", "claimed", "proving", "completed", "exhausted"]),
  attempts: Schema.Array(AttemptJson),
  result: Schema.NullOr(Schema.Struct({ id: Schema.String, offset: Schema.Number, value: Schema.Unknown, proof: Schema.NullOr(Schema.String) }))
})
const EventJson = Schema.Struct({
  offset: Schema.Number,
  id: Schema.String,
  type: Schema.String,
  sender: Schema.String,
  nodeId: Schema.NullOr(Schema.String),
  accepted: Schema.Boolean,
  reason: Schema.NullOr(Schema.String)
})
const SequenceJson = Schema.Struct({
  id: Schema.String,
  announcedBy: Schema.String,
  announceId: Schema.String,
  offset: Schema.Number,
  leaseMs: Schema.Number,
  maxAttempts: Schema.Number,
  status: Schema.Literals(["running", "completed", "failed"]),
  reason: Schema.NullOr(Schema.String),
  nodes: Schema.Array(NodeJson),
  events: Schema.Array(EventJson)
})
const StateJson = Schema.Struct({ sequences: Schema.Array(SequenceJson), known: Schema.Unknown })
const decodeStateJson = Schema.decodeUnknownSync(StateJson)

// A node result's value that is JSON null must survive the round trip: `value` is always present.
const encodeWith = (retentionMs: number) => (state: SequencesProjectionState): Json => ({
  sequences: [...state.sequences].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, s]) => ({
    ...s,
    nodes: s.nodes.map((n) => ({ ...n, attempts: n.attempts.map((a) => ({ ...a })), result: n.result === null ? null : { ...n.result, value: n.result.value ?? null } })),
    events: s.events.map((e) => ({ ...e }))
  })) as unknown as Json,
  known: encodeProofsKnown(state.known, retentionMs)
})

const decodeWith = (retentionMs: number) => (json: Json): SequencesProjectionState => {
  const s = decodeStateJson(json, { onExcessProperty: "error" })
  return {
    sequences: HashMap.fromIterable(s.sequences.map((q): [string, Sequence] => [q.id, q])),
    known: decodeProofsKnown(s.known as Json, retentionMs)
  }
}

/** The projection's name. */
export const SEQUENCES = "sequences"

/** The sequences projection for a deployment: expiries, outcomes and proof verdicts count from its authority. */
export const makeSequences = (context: AuthorityConfig & { readonly retentionMs?: number | undefined }): Projection<WithAuthority<SequencesProjectionState>> => {
  const retentionMs = context.retentionMs ?? DEFAULT_RETENTION_MS
  return authorized(context, {
    name: SEQUENCES,
    // 2: retention: decided proofs leave the part that waits on them a retention window after their batch's seal.
    version: 2,
    handles: sequenceTypes,
    initialState,
    evolve: (state, record, authority) => evolveSequences(state, record, authority, retentionMs),
    encode: encodeWith(retentionMs),
    decode: decodeWith(retentionMs)
  })
}

/** Who should take each node of a sequence not yet completed: the rendezvous choice among the registered operators (none registered: none). */
export const suggestionsOf = (state: SequencesProjectionState, sequenceId: string): ReadonlyMap<string, string> => {
  const sequence = sequenceOf(state, sequenceId)
  const out = new Map<string, string>()
  if (sequence === undefined) return out
  const operators = operatorsOf(state.known.registry).map((o) => o.operator)
  for (const n of sequence.nodes) {
    if (n.status === "completed") continue
    const o = suggestedClaimant(operators, sequence.id, n.id)
    if (o !== undefined) out.set(n.id, o)
  }
  return out
}
