/**
 * The proofs projection (issue #15, docs/proofs.md): verification keys, announced proofs
 * gathered share by share, and the leader's verdicts, folded by src/domain/proofs/ProofFold.ts.
 * Keys and announcements count from operators at their place in the log (the registry is
 * folded here beside them: a registered operator, or one of the deployment's own instances),
 * shares from their announcement's announcer, verdicts from the leader. The state holds the
 * shares' message ids, never their bytes, so a snapshot stays small; replay folds the
 * verdicts and never verifies a proof.
 *
 * A proof the authority refused (ProofVerified with ok false: it does not verify, or its
 * shares never all came) marks its announcer's score (src/domain/senders/SenderScore.ts); the
 * authority's seals are counted for the marks' decay.
 *
 * Retention (issue #14): a decided announcement leaves memory a retention window after the
 * seal of the batch open when it was decided (the seals' `sealedAt`, as the mempool counts
 * it); the runner keeps it on disk under `c:<commitment>:<offset>:<id>`, where GET
 * /v1/proofs/{commitment} finds it.
 */
import { HashMap, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import { type AuthorityConfig, type AuthorityState, heeds } from "../../domain/cluster/Authority.ts"
import { emptyRegistry, isOperator, type OperatorRegistryState, registerOperator, removeOperator, operatorsOf } from "../../domain/operators/OperatorRegistry.ts"
import {
  addShare,
  announce,
  type AnnouncementEntry,
  announcementOf,
  announcementsOf,
  applyVerdict,
  base64Length,
  initialProofsState,
  isPending,
  type KeyEntry,
  keyRefusal,
  keysOf,
  type ProofsState,
  registerKey,
  sealRetention
} from "../../domain/proofs/ProofFold.ts"
import { vkIdOf } from "../../domain/proofs/ProofMessages.ts"
import { DEFAULT_RETENTION_MS } from "../../domain/mempool/MempoolFold.ts"
import type { LogRecord } from "../../ports/CausalLog.ts"
import { requireRetention } from "../../domain/Retention.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import { type Archived, drainEvicted, type Projection } from "../Projection.ts"
import { payloadOf } from "../RecordEvents.ts"
import { charge, emptyTally, encodeTally, prune, type Tally, TallyJson, tallyOf } from "../../domain/senders/SenderScore.ts"

/** The projection's name. */
export const PROOFS = "proofs"

/** The projection's state: the proofs' fold and the operator registry it judges senders by. */
export interface ProofsProjectionState extends ProofsState {
  readonly registry: OperatorRegistryState
  /** Keys refused when registered (unknown system, wrong shape, not an operator's). */
  readonly refusedKeys: number
  /** The open batch: the authority's seals folded (the score marks decay by it). */
  readonly batch: number
  /** Announcers' marks for refused proofs. */
  readonly scores: Tally
}

/** The message types the projection reads. */
export const proofsTypes: ReadonlySet<string> = new Set([
  "VerificationKeyRegistered",
  "ProofAnnouncement",
  "ProofShare",
  "ProofVerified",
  "OperatorRegistered",
  "OperatorRemoved",
  "BatchSealed"
])

const initialState: ProofsProjectionState = { ...initialProofsState, registry: emptyRegistry, refusedKeys: 0, batch: 0, scores: emptyTally }

/** Fold one record under the authority in force before it, with the deployment's retention (ms). */
export const evolveProofs = (state: ProofsProjectionState, record: LogRecord, authority: AuthorityState, retentionMs: number = DEFAULT_RETENTION_MS): ProofsProjectionState => {
  switch (record.type) {
    case "OperatorRegistered": {
      const p = payloadOf(record, "OperatorRegistered")
      if (p === undefined || !heeds(authority, record.type, record.sender)) return state
      return { ...state, registry: registerOperator(state.registry, { operator: p.operator, name: p.name, id: record.id, offset: record.offset }) }
    }
    case "OperatorRemoved": {
      const p = payloadOf(record, "OperatorRemoved")
      if (p === undefined || !heeds(authority, record.type, record.sender)) return state
      return { ...state, registry: removeOperator(state.registry, p.operator, record.offset) }
    }
    // Who may send is judged before the payload is decoded: most such records in a long log are
    // nobody's business here, and decoding them would only cost replay time.
    case "VerificationKeyRegistered": {
      if (!isOperator(state.registry, authority, record.sender)) return { ...state, refusedKeys: state.refusedKeys + 1 }
      const p = payloadOf(record, "VerificationKeyRegistered")
      if (p === undefined) return state
      if (keyRefusal(p.proofSystem, p.vk) !== null) return { ...state, refusedKeys: state.refusedKeys + 1 }
      return { ...state, ...registerKey(state, { vkId: vkIdOf(p.vk), proofSystem: p.proofSystem, vk: p.vk as Json, id: record.id, offset: record.offset, sender: record.sender }) }
    }
    case "ProofAnnouncement": {
      if (!isOperator(state.registry, authority, record.sender)) return state
      const p = payloadOf(record, "ProofAnnouncement")
      if (p === undefined) return state
      return { ...state, ...announce(state, { id: record.id, offset: record.offset, announcer: record.sender, ...p }) }
    }
    case "ProofShare": {
      // No proof is waiting for shares: nothing to look at.
      if (HashMap.isEmpty(state.pending)) return { ...state, ignored: state.ignored + 1 }
      const p = payloadOf(record, "ProofShare")
      if (p === undefined) return state
      return { ...state, ...addShare(state, { id: record.id, offset: record.offset, sender: record.sender, announcementId: p.announcementId, index: p.index, bytes: base64Length(p.data) }) }
    }
    case "ProofVerified": {
      if (!heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "ProofVerified")
      if (p === undefined) return state
      const next = { ...state, ...applyVerdict(state, { id: record.id, offset: record.offset, announcementId: p.announcementId, commitment: p.commitment, ok: p.ok, reason: p.reason ?? null }) }
      // Only a verdict that counted marks: the announcement it decided took it as its own.
      const decided = p.ok ? undefined : announcementOf(next, p.announcementId)
      return decided?.verdict?.id === record.id ? { ...next, scores: charge(next.scores, [[decided.announcer, "badProof"]], next.batch) } : next
    }
    case "BatchSealed": {
      if (!heeds(authority, record.type, record.sender)) return state
      const p = payloadOf(record, "BatchSealed")
      // As the mempool: only a seal of the open batch counts.
      if (p === undefined || p.batch !== state.batch) return state
      return { ...sealRetention(state, p.sealedAt, retentionMs), batch: state.batch + 1, scores: prune(state.scores, state.batch + 1) }
    }
    default:
      return state
  }
}

// ---------------------------------------------------------------------------------------
// Snapshots
// ---------------------------------------------------------------------------------------

const KeyJson = Schema.Struct({
  vkId: Schema.String,
  proofSystem: Schema.String,
  vk: Schema.Record(Schema.String, Schema.Unknown),
  id: Schema.String,
  offset: Schema.Number,
  sender: Schema.String
})
const VerdictJson = Schema.Struct({
  ok: Schema.Boolean,
  reason: Schema.NullOr(Schema.String),
  id: Schema.String,
  offset: Schema.Number,
  reusedFrom: Schema.NullOr(Schema.String)
})
const AnnouncementJson = Schema.Struct({
  id: Schema.String,
  offset: Schema.Number,
  announcer: Schema.String,
  computationId: Schema.String,
  proofSystem: Schema.String,
  vkId: Schema.String,
  commitment: Schema.String,
  publicInputs: Schema.Array(Schema.String),
  shares: Schema.Number,
  bytes: Schema.Number,
  shareIds: Schema.Array(Schema.NullOr(Schema.String)),
  received: Schema.Number,
  receivedBytes: Schema.Number,
  status: Schema.Literals(["gathering", "complete", "verified", "refused", "incomplete", "rejected"]),
  rejection: Schema.NullOr(Schema.String),
  verdict: Schema.NullOr(VerdictJson),
  updated: Schema.Number
})
const OperatorJson = Schema.Struct({ operator: Schema.String, name: Schema.NullOr(Schema.String), id: Schema.String, offset: Schema.Number, since: Schema.Number })
const SpanJson = Schema.Struct({ from: Schema.Number, to: Schema.Number })
const RetiringJson = Schema.Struct({ sealedAt: Schema.Number, ids: Schema.Array(Schema.String) })
const StateJson = Schema.Struct({
  keys: Schema.Array(KeyJson),
  announcements: Schema.Array(AnnouncementJson),
  claims: Schema.Array(Schema.Tuple([Schema.String, Schema.String])),
  ignored: Schema.Number,
  refusedKeys: Schema.Number,
  operators: Schema.Array(OperatorJson),
  pastOperators: Schema.Array(Schema.Tuple([Schema.String, Schema.Array(SpanJson)])),
  batch: Schema.Int,
  scores: TallyJson,
  retention: Schema.Number,
  retiringOpen: Schema.Array(Schema.String),
  retiring: Schema.Array(RetiringJson)
})
const decodeStateJson = Schema.decodeUnknownSync(StateJson)

const byFirst = (a: readonly [string, unknown], b: readonly [string, unknown]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)

/** The state as JSON (sorted: the same state always encodes to the same text), with the retention it was folded under. */
export const encodeProofs = (state: ProofsProjectionState, retentionMs: number = DEFAULT_RETENTION_MS): Json => ({
  keys: keysOf(state).map((k) => ({ ...k })) as unknown as Json,
  announcements: announcementsOf(state).map((a) => ({ ...a, publicInputs: [...a.publicInputs], shareIds: [...a.shareIds] })) as unknown as Json,
  claims: [...state.claims].sort(byFirst).map(([k, v]) => [k, v]),
  ignored: state.ignored,
  refusedKeys: state.refusedKeys,
  operators: operatorsOf(state.registry).map((o) => ({ ...o })),
  pastOperators: [...state.registry.past].sort(byFirst).map(([k, spans]) => [k, spans.map((s) => ({ ...s }))]),
  batch: state.batch,
  scores: encodeTally(state.scores),
  retention: retentionMs,
  retiringOpen: [...state.retiringOpen],
  retiring: state.retiring.map((g) => ({ sealedAt: g.sealedAt, ids: [...g.ids] }))
})

/** The inverse of encodeProofs; a snapshot folded under another retention dropped other announcements, so it is refused (rebuilt from the log). */
export const decodeProofs = (json: Json, retentionMs: number = DEFAULT_RETENTION_MS): ProofsProjectionState => {
  const s = decodeStateJson(json, { onExcessProperty: "error" })
  requireRetention(s.retention, retentionMs)
  const announcements = s.announcements as ReadonlyArray<AnnouncementEntry>
  const byCommitment = new Map<string, Array<string>>()
  for (const a of announcements) byCommitment.set(a.commitment, [...(byCommitment.get(a.commitment) ?? []), a.id])
  return {
    keys: HashMap.fromIterable(s.keys.map((k) => [k.vkId, k as unknown as KeyEntry] as const)),
    announcements: HashMap.fromIterable(announcements.map((a) => [a.id, a] as const)),
    byCommitment: HashMap.fromIterable(byCommitment),
    claims: HashMap.fromIterable(s.claims),
    pending: HashMap.fromIterable(announcements.filter(isPending).map((a) => [a.id, a] as const)),
    ignored: s.ignored,
    refusedKeys: s.refusedKeys,
    batch: s.batch,
    scores: tallyOf(s.scores),
    retiringOpen: s.retiringOpen,
    retiring: s.retiring,
    evicted: [],
    registry: {
      operators: HashMap.fromIterable(s.operators.map((o) => [o.operator, o] as const)),
      past: HashMap.fromIterable(s.pastOperators)
    }
  }
}

/** An archived announcement's key: by commitment, then in log order (`offset` zero-padded), then id. */
export const archivedProofKey = (commitment: string, offset: number, id: string): string => `c:${commitment}:${String(offset).padStart(16, "0")}:${id}`

/** The prefix of every archived announcement of a commitment. */
export const archivedCommitmentPrefix = (commitment: string): string => `c:${commitment}:`

/** What retention dropped, as kept on disk: each announcement as it was last, under its commitment. */
const drain = <S extends ProofsProjectionState>(state: S): { readonly state: S; readonly archived: ReadonlyArray<Archived> } =>
  drainEvicted(state, (a) => [{
    key: archivedProofKey(a.commitment, a.offset, a.id),
    value: { ...a, publicInputs: [...a.publicInputs], shareIds: [...a.shareIds] } as unknown as Json
  }])

/**
 * The proofs projection: keys and announcements from operators, shares from their
 * announcement's announcer, verdicts from the leader; decided announcements leave memory
 * `retentionMs` after their batch's seal (default: the mempool's).
 */
export const makeProofs = (context: AuthorityConfig & { readonly retentionMs?: number | undefined }): Projection<WithAuthority<ProofsProjectionState>> => {
  const retentionMs = context.retentionMs ?? DEFAULT_RETENTION_MS
  return authorized(context, {
    name: PROOFS,
    // 2: announcers' score marks for refused proofs; the authority's seals counted.
    // 3: retention: decided announcements leave memory (and the snapshot) a retention window after their batch's seal.
    version: 3,
    needsLinks: true,
    handles: proofsTypes,
    initialState,
    evolve: (state, record, authority) => evolveProofs(state, record, authority, retentionMs),
    encode: (state) => encodeProofs(state, retentionMs),
    decode: (json) => decodeProofs(json, retentionMs),
    drain
  })
}
