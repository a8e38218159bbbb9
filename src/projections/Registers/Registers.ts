/**
 * The registers projection (issue #15, docs/proofs.md): RegisterUpdated
 * from operators folded by the rules of src/domain/registers/Registers.ts, with the
 * ProofAnnouncements and the authority's ProofVerified the proof-bound updates wait on, and
 * the operator registry that says who may update (judged at each record's place in the log).
 */
import { HashMap, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import type { AuthorityConfig, AuthorityState } from "../../domain/cluster/Authority.ts"
import { isOperator } from "../../domain/operators/OperatorRegistry.ts"
import { RegisterUpdated } from "../../domain/registers/RegisterMessages.ts"
import {
  type AppliedUpdate,
  emptyRegisters,
  type PendingUpdate,
  proofDecided,
  type Register,
  type RegistersState,
  submitUpdate,
  type UpdateOutcome
} from "../../domain/registers/Registers.ts"
import type { LogRecord } from "../../ports/CausalLog.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import type { Projection } from "../Projection.ts"
import { decodeProofsKnown, emptyProofsKnown, encodeProofsKnown, evolveProofsKnown, type ProofsKnown, proofsKnownTypes } from "../ProofsKnown.ts"
import { payloadOf } from "../RecordEvents.ts"
import { DEFAULT_RETENTION_MS } from "../../domain/mempool/MempoolFold.ts"

/** The projection's state. */
export interface RegistersProjectionState extends RegistersState {
  readonly known: ProofsKnown
}

const initialState: RegistersProjectionState = { ...emptyRegisters, known: emptyProofsKnown }

/** The message types the projection reads. */
export const registerTypes: ReadonlySet<string> = new Set(["RegisterUpdated", ...proofsKnownTypes])

/** One record folded in, under the authority in force before it. */
export const evolveRegisters = (state: RegistersProjectionState, record: LogRecord, authority: AuthorityState, retentionMs: number = DEFAULT_RETENTION_MS): RegistersProjectionState => {
  if (record.type === "RegisterUpdated") {
    const p = payloadOf(record, "RegisterUpdated")
    if (p === undefined || !isOperator(state.known.registry, authority, record.sender)) return state
    const next = submitUpdate(state, { id: record.id, offset: record.offset, sender: record.sender, update: p }, state.known.proofs)
    return { ...next, known: state.known }
  }
  const step = evolveProofsKnown(state.known, record, authority, retentionMs)
  if (step.known === state.known) return state
  const verdict = step.decided?.verdict
  const next = step.decided === undefined || verdict === null || verdict === undefined ? state : proofDecided(state, step.decided.id, verdict)
  return { registers: next.registers, pending: next.pending, known: step.known }
}

// ---------------------------------------------------------------------------------------
// Snapshot encoding: sorted by key, so the digest does not depend on insertion order.
// ---------------------------------------------------------------------------------------

const Hash = Schema.NullOr(Schema.String)
const AppliedJson = Schema.Struct({
  id: Schema.String,
  offset: Schema.Number,
  previousStateHash: Hash,
  newStateHash: Schema.String,
  delta: Schema.NullOr(Schema.Array(Schema.Unknown)),
  fullState: Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))
})
const OutcomeJson = Schema.Struct({
  id: Schema.String,
  offset: Schema.Number,
  sender: Schema.String,
  status: Schema.Literals(["applied", "refused", "pending"]),
  reason: Schema.NullOr(Schema.String),
  proof: Schema.NullOr(Schema.String),
  previousStateHash: Hash,
  newStateHash: Schema.String
})
const StateJson = Schema.Struct({
  registers: Schema.Array(Schema.Struct({
    id: Schema.String,
    contents: Schema.Record(Schema.String, Schema.Unknown),
    hash: Hash,
    version: Schema.Number,
    history: Schema.Array(AppliedJson),
    recent: Schema.Array(OutcomeJson)
  })),
  pending: Schema.Array(Schema.Struct({ id: Schema.String, offset: Schema.Number, sender: Schema.String, update: Schema.Unknown })),
  known: Schema.Unknown
})
const decodeStateJson = Schema.decodeUnknownSync(StateJson)
const decodeUpdate = Schema.decodeUnknownSync(RegisterUpdated)

const sorted = <T>(m: HashMap.HashMap<string, T>): Array<T> => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, v]) => v)

// Contents, deltas and payloads are JSON as admitted (the log holds canonical JSON only).
const encodeWith = (retentionMs: number) => (state: RegistersProjectionState): Json => ({
  registers: sorted(state.registers).map((r) => ({ ...r, history: r.history.map((u) => ({ ...u })), recent: r.recent.map((o) => ({ ...o })) })) as unknown as Json,
  pending: sorted(state.pending).map((p) => ({ ...p })) as unknown as Json,
  known: encodeProofsKnown(state.known, retentionMs)
})

const decodeWith = (retentionMs: number) => (json: Json): RegistersProjectionState => {
  const s = decodeStateJson(json, { onExcessProperty: "error" })
  return {
    registers: HashMap.fromIterable(s.registers.map((r): [string, Register] => [r.id, {
      ...r,
      history: r.history as unknown as ReadonlyArray<AppliedUpdate>,
      recent: r.recent as ReadonlyArray<UpdateOutcome>
    }])),
    pending: HashMap.fromIterable(s.pending.map((p): [string, PendingUpdate] => [p.id, { ...p, update: decodeUpdate(p.update, { onExcessProperty: "error" }) }])),
    known: decodeProofsKnown(s.known as Json, retentionMs)
  }
}

/** The projection's name. */
export const REGISTERS = "registers"

/** The registers projection for a deployment: proof verdicts count from its authority. */
export const makeRegisters = (context: AuthorityConfig & { readonly retentionMs?: number | undefined }): Projection<WithAuthority<RegistersProjectionState>> => {
  const retentionMs = context.retentionMs ?? DEFAULT_RETENTION_MS
  return authorized(context, {
    name: REGISTERS,
    // 2: retention: decided proofs leave the part that waits on them a retention window after their batch's seal.
    version: 2,
    handles: registerTypes,
    initialState,
    evolve: (state, record, authority) => evolveRegisters(state, record, authority, retentionMs),
    encode: encodeWith(retentionMs),
    decode: decodeWith(retentionMs)
  })
}
