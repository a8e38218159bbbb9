/**
 * The part of a fold that waits on proofs (the registers and sequences projections): the
 * announcements and the authority's verdicts as they stand at each place in the log, and the
 * operator registry that says who may send the fold's own messages. A verdict counts only
 * from the leader at its place in the log (`isLeader`), whatever the decision roles say.
 *
 * Retention (issue #14): a proof with its verdict leaves memory a retention window after the
 * seal of the batch open when it was decided (src/domain/Retention.ts, the mempool's window
 * and clock); an update that names it later finds no proof. Nothing of it is archived: the
 * outcomes of the updates and results that waited on it hold its verdict.
 */
import { HashMap, Schema } from "effect"
import type { Json } from "../domain/CanonicalJson.ts"
import { type AuthorityState, heeds, isLeader } from "../domain/cluster/Authority.ts"
import { emptyRegistry, type OperatorRegistryState, type OperatorSpan, registerOperator, type RegisteredOperator, removeOperator } from "../domain/operators/OperatorRegistry.ts"
import { announceProof, type KnownProof, type KnownProofs, recordVerdict } from "../domain/proofs/ProofVerdicts.ts"
import type { LogRecord } from "../ports/CausalLog.ts"
import { payloadOf } from "./RecordEvents.ts"
import { ageAtSeal, requireRetention, type RetiringGroup } from "../domain/Retention.ts"
import { DEFAULT_RETENTION_MS } from "../domain/mempool/MempoolFold.ts"

/** What the waiting folds keep beside their own state. */
export interface ProofsKnown {
  readonly proofs: KnownProofs
  readonly registry: OperatorRegistryState
  /** The open batch: the authority's seals folded. */
  readonly batch: number
  /** Retention: proofs decided while the open batch is open, in that order. */
  readonly retiringOpen: ReadonlyArray<string>
  /** Retention: proofs decided while an earlier batch was open, by its seal's time. */
  readonly retiring: ReadonlyArray<RetiringGroup>
}

/** Nothing known. */
export const emptyProofsKnown: ProofsKnown = { proofs: HashMap.empty(), registry: emptyRegistry, batch: 0, retiringOpen: [], retiring: [] }

/** The message types this part reads. */
export const proofsKnownTypes: ReadonlyArray<string> = ["ProofAnnouncement", "ProofVerified", "OperatorRegistered", "OperatorRemoved", "BatchSealed"]

/** A record of those types folded in; `decided` is the proof whose verdict this record recorded. */
export const evolveProofsKnown = (
  known: ProofsKnown,
  record: LogRecord,
  authority: AuthorityState,
  retentionMs: number = DEFAULT_RETENTION_MS
): { readonly known: ProofsKnown; readonly decided?: KnownProof } => {
  switch (record.type) {
    case "ProofAnnouncement": {
      const p = payloadOf(record, "ProofAnnouncement")
      if (p === undefined) return { known }
      return { known: { ...known, proofs: announceProof(known.proofs, { id: record.id, vkId: p.vkId, commitment: p.commitment, publicInputs: p.publicInputs }) } }
    }
    case "ProofVerified": {
      const p = payloadOf(record, "ProofVerified")
      if (p === undefined || !isLeader(authority, record.sender)) return { known }
      const step = recordVerdict(known.proofs, { announcementId: p.announcementId, commitment: p.commitment, ok: p.ok, reason: p.reason })
      return step.decided === undefined ? { known } : { known: { ...known, proofs: step.proofs, retiringOpen: [...known.retiringOpen, step.decided.id] }, decided: step.decided }
    }
    case "OperatorRegistered": {
      const p = payloadOf(record, "OperatorRegistered")
      if (p === undefined || !heeds(authority, record.type, record.sender)) return { known }
      return { known: { ...known, registry: registerOperator(known.registry, { operator: p.operator, name: p.name, id: record.id, offset: record.offset }) } }
    }
    case "OperatorRemoved": {
      const p = payloadOf(record, "OperatorRemoved")
      if (p === undefined || !heeds(authority, record.type, record.sender)) return { known }
      return { known: { ...known, registry: removeOperator(known.registry, p.operator, record.offset) } }
    }
    case "BatchSealed": {
      const p = payloadOf(record, "BatchSealed")
      // As the mempool: only the authority's seal of the open batch counts.
      if (p === undefined || !heeds(authority, record.type, record.sender) || p.batch !== known.batch) return { known }
      const { due, retiring } = ageAtSeal(known.retiringOpen, known.retiring, p.sealedAt, retentionMs)
      return { known: { ...known, batch: known.batch + 1, retiringOpen: [], retiring, proofs: due.length === 0 ? known.proofs : HashMap.removeMany(known.proofs, due) } }
    }
    default:
      return { known }
  }
}

const KnownJson = Schema.Struct({
  proofs: Schema.Array(Schema.Struct({
    id: Schema.String,
    vkId: Schema.String,
    commitment: Schema.String,
    inputs: Schema.Array(Schema.String),
    verdict: Schema.NullOr(Schema.Struct({ ok: Schema.Boolean, reason: Schema.NullOr(Schema.String) }))
  })),
  operators: Schema.Array(Schema.Struct({ operator: Schema.String, name: Schema.NullOr(Schema.String), id: Schema.String, offset: Schema.Number, since: Schema.Number })),
  pastOperators: Schema.Array(Schema.Struct({ operator: Schema.String, spans: Schema.Array(Schema.Struct({ from: Schema.Number, to: Schema.Number })) })),
  batch: Schema.Int,
  retention: Schema.Number,
  retiringOpen: Schema.Array(Schema.String),
  retiring: Schema.Array(Schema.Struct({ sealedAt: Schema.Number, ids: Schema.Array(Schema.String) }))
})
const decodeKnownJson = Schema.decodeUnknownSync(KnownJson)

const byKey = <T>(m: HashMap.HashMap<string, T>): Array<[string, T]> => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))

/** The part as JSON (sorted, so the digest does not depend on insertion order), with the retention it was folded under. */
export const encodeProofsKnown = (known: ProofsKnown, retentionMs: number = DEFAULT_RETENTION_MS): Json => ({
  proofs: byKey(known.proofs).map(([, p]) => ({ id: p.id, vkId: p.vkId, commitment: p.commitment, inputs: [...p.inputs], verdict: p.verdict === null ? null : { ...p.verdict } })),
  operators: byKey(known.registry.operators).map(([, o]) => ({ ...o })),
  pastOperators: byKey(known.registry.past).map(([operator, spans]) => ({ operator, spans: spans.map((s) => ({ ...s })) })),
  batch: known.batch,
  retention: retentionMs,
  retiringOpen: [...known.retiringOpen],
  retiring: known.retiring.map((g) => ({ sealedAt: g.sealedAt, ids: [...g.ids] }))
})

/** The inverse of encodeProofsKnown; a part folded under another retention dropped other proofs, so it is refused (rebuilt from the log). */
export const decodeProofsKnown = (json: Json, retentionMs: number = DEFAULT_RETENTION_MS): ProofsKnown => {
  const k = decodeKnownJson(json, { onExcessProperty: "error" })
  requireRetention(k.retention, retentionMs)
  return {
    batch: k.batch,
    retiringOpen: k.retiringOpen,
    retiring: k.retiring,
    proofs: HashMap.fromIterable(k.proofs.map((p): [string, KnownProof] => [p.id, p])),
    registry: {
      operators: HashMap.fromIterable(k.operators.map((o): [string, RegisteredOperator] => [o.operator, o])),
      past: HashMap.fromIterable(k.pastOperators.map((p): [string, ReadonlyArray<OperatorSpan>] => [p.operator, p.spans]))
    }
  }
}
