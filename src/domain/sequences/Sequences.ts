/**
 * Execution sequence rules (issue #15, docs/proofs.md), pure. The fold
 * judges each record at its place in the log; the projection checks who sent it (an operator,
 * or the authority for its decisions) before it calls these.
 *
 * - A node is runnable once every dependency completed. The first valid claim of a runnable,
 *   unclaimed node in log order wins; each claim is one attempt.
 * - The claimant answers with a result (or an error) naming its claim. A result without a
 *   proof completes the node; one naming a proof waits for the authority's verdict on it
 *   (its announcement must be in the log before the result and bind the result), and
 *   completes the node if ok; a refused proof, an unbound one, or an error fails the attempt.
 * - A claim holds for the sequence's lease: the authority expires it (NodeLeaseExpired) when
 *   no result counted in time, measured from when the authority saw the claim folded.
 * - A failed or expired node is open again until it used `maxAttempts` attempts; then it is
 *   exhausted and the authority fails the sequence (ExecutionSequenceFailed) with the reason.
 *   Once every node completed, the authority completes it (ExecutionSequenceCompleted).
 */
import { HashMap, Option } from "effect"
import { binds, resultBinding } from "../proofs/ProofBinding.ts"
import { type KnownProofs, knownProof } from "../proofs/ProofVerdicts.ts"
import { DEFAULT_LEASE_MS, DEFAULT_MAX_ATTEMPTS, type ExecutionSequenceAnnounced, type NodeResultSubmitted } from "./SequenceMessages.ts"

/** Most events a sequence keeps for readers (its stream), the oldest dropped first. */
export const MAX_EVENTS = 4096

/** One attempt at a node: a claim and how it ended. */
export interface Attempt {
  readonly claimId: string
  readonly operator: string
  readonly offset: number
  readonly end: "completed" | "failed" | "expired" | null
  readonly reason: string | null
}

/** A node's result as submitted. */
export interface NodeResult {
  readonly id: string
  readonly offset: number
  readonly value: unknown
  readonly proof: string | null
}

/** A node of a sequence. */
export interface SequenceNodeState {
  readonly id: string
  readonly deps: ReadonlyArray<string>
  readonly spec: unknown
  readonly status: "open" | "claimed" | "proving" | "completed" | "exhausted"
  /** Every attempt, oldest first; the last one is the current claim while claimed or proving. */
  readonly attempts: ReadonlyArray<Attempt>
  /** The result that completed the node, or the one waiting for its proof. */
  readonly result: NodeResult | null
}

/** What a record did to a sequence: its stream's events. */
export interface SequenceEvent {
  readonly offset: number
  readonly id: string
  readonly type: string
  readonly sender: string
  readonly nodeId: string | null
  readonly accepted: boolean
  readonly reason: string | null
}

/** A sequence. */
export interface Sequence {
  readonly id: string
  readonly announcedBy: string
  /** The announcement's message id and offset. */
  readonly announceId: string
  readonly offset: number
  readonly leaseMs: number
  readonly maxAttempts: number
  readonly status: "running" | "completed" | "failed"
  readonly reason: string | null
  readonly nodes: ReadonlyArray<SequenceNodeState>
  readonly events: ReadonlyArray<SequenceEvent>
}

/** The sequences after some prefix of the log. */
export interface SequencesState {
  readonly sequences: HashMap.HashMap<string, Sequence>
}

/** No sequence. */
export const emptySequences: SequencesState = { sequences: HashMap.empty() }

/** The fields of a record the rules read. */
export interface At {
  readonly id: string
  readonly offset: number
  readonly type: string
  readonly sender: string
}

/** A sequence by id. */
export const sequenceOf = (state: SequencesState, id: string): Sequence | undefined => Option.getOrUndefined(HashMap.get(state.sequences, id))

/** A node of a sequence by id. */
export const nodeOf = (sequence: Sequence, nodeId: string): SequenceNodeState | undefined => sequence.nodes.find((n) => n.id === nodeId)

/** Has every dependency of the node completed? */
export const isRunnable = (sequence: Sequence, node: SequenceNodeState): boolean =>
  node.status === "open" && node.deps.every((d) => nodeOf(sequence, d)?.status === "completed")

/** The node's current claim (its last attempt while claimed or proving). */
export const currentClaim = (node: SequenceNodeState): Attempt | undefined =>
  node.status === "claimed" || node.status === "proving" ? node.attempts[node.attempts.length - 1] : undefined

const event = (at: At, nodeId: string | null, reason: string | null): SequenceEvent => ({
  offset: at.offset,
  id: at.id,
  type: at.type,
  sender: at.sender,
  nodeId,
  accepted: reason === null,
  reason
})

const withEvent = (sequence: Sequence, e: SequenceEvent): Sequence => ({
  ...sequence,
  events: sequence.events.length < MAX_EVENTS ? [...sequence.events, e] : [...sequence.events.slice(1 - MAX_EVENTS), e]
})

const put = (state: SequencesState, sequence: Sequence): SequencesState => ({ sequences: HashMap.set(state.sequences, sequence.id, sequence) })

const refuse = (state: SequencesState, sequence: Sequence, at: At, nodeId: string | null, reason: string): SequencesState =>
  put(state, withEvent(sequence, event(at, nodeId, reason)))

const setNode = (sequence: Sequence, node: SequenceNodeState): Sequence => ({ ...sequence, nodes: sequence.nodes.map((n) => (n.id === node.id ? node : n)) })

// End the current attempt; the node is open again unless it used up its attempts.
const endAttempt = (sequence: Sequence, node: SequenceNodeState, end: "failed" | "expired", reason: string): SequenceNodeState => {
  const attempts = node.attempts.map((a, i) => (i === node.attempts.length - 1 ? { ...a, end, reason } : a))
  return { ...node, attempts, result: null, status: attempts.length >= sequence.maxAttempts ? "exhausted" : "open" }
}

const complete = (node: SequenceNodeState, result: NodeResult): SequenceNodeState => ({
  ...node,
  status: "completed",
  result,
  attempts: node.attempts.map((a, i) => (i === node.attempts.length - 1 ? { ...a, end: "completed" as const } : a))
})

/** Fold an announcement from an operator: a new sequence, or a refusal recorded on the one of that id. */
export const announce = (state: SequencesState, at: At, p: ExecutionSequenceAnnounced): SequencesState => {
  const existing = sequenceOf(state, p.sequenceId)
  if (existing !== undefined) return refuse(state, existing, at, null, `sequence ${p.sequenceId} was announced already (message ${existing.announceId})`)
  const sequence: Sequence = {
    id: p.sequenceId,
    announcedBy: at.sender,
    announceId: at.id,
    offset: at.offset,
    leaseMs: p.leaseMs ?? DEFAULT_LEASE_MS,
    maxAttempts: p.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    status: "running",
    reason: null,
    nodes: p.nodes.map((n) => ({ id: n.id, deps: n.deps, spec: n.spec, status: "open", attempts: [], result: null })),
    events: [event(at, null, null)]
  }
  return put(state, sequence)
}

/** Fold a claim from an operator. */
export const claim = (state: SequencesState, at: At, p: { readonly sequenceId: string; readonly nodeId: string }): SequencesState => {
  const sequence = sequenceOf(state, p.sequenceId)
  if (sequence === undefined) return state
  const node = nodeOf(sequence, p.nodeId)
  if (node === undefined) return refuse(state, sequence, at, p.nodeId, `sequence ${sequence.id} has no node ${p.nodeId}`)
  if (sequence.status !== "running") return refuse(state, sequence, at, node.id, `sequence ${sequence.id} is ${sequence.status}`)
  if (node.status !== "open") {
    const held = currentClaim(node)
    return refuse(state, sequence, at, node.id, held === undefined ? `node ${node.id} is ${node.status}` : `node ${node.id} is held by ${held.operator} (claim ${held.claimId}) until its result counts or its lease expires`)
  }
  const waiting = node.deps.filter((d) => nodeOf(sequence, d)?.status !== "completed")
  if (waiting.length > 0) return refuse(state, sequence, at, node.id, `node ${node.id} waits for ${waiting.join(", ")} to complete`)
  const claimed: SequenceNodeState = {
    ...node,
    status: "claimed",
    attempts: [...node.attempts, { claimId: at.id, operator: at.sender, offset: at.offset, end: null, reason: null }]
  }
  return put(state, withEvent(setNode(sequence, claimed), event(at, node.id, null)))
}

/** Fold a result from an operator, given the proofs known at its place. */
export const submitResult = (state: SequencesState, at: At, p: NodeResultSubmitted, proofs: KnownProofs): SequencesState => {
  const sequence = sequenceOf(state, p.sequenceId)
  if (sequence === undefined) return state
  const node = nodeOf(sequence, p.nodeId)
  if (node === undefined) return refuse(state, sequence, at, p.nodeId, `sequence ${sequence.id} has no node ${p.nodeId}`)
  if (sequence.status !== "running") return refuse(state, sequence, at, node.id, `sequence ${sequence.id} is ${sequence.status}`)
  const held = currentClaim(node)
  if (held === undefined || held.claimId !== p.claimId) {
    return refuse(state, sequence, at, node.id, `claim ${p.claimId} is not node ${node.id}'s current claim${held === undefined ? "" : ` (${held.claimId})`}`)
  }
  if (held.operator !== at.sender) return refuse(state, sequence, at, node.id, `claim ${p.claimId} is ${held.operator}'s, not the sender's`)
  if (node.status === "proving") return refuse(state, sequence, at, node.id, `claim ${p.claimId} has a result waiting for its proof already`)
  const accepted = (next: SequenceNodeState) => put(state, withEvent(setNode(sequence, next), event(at, node.id, null)))
  if (p.error !== undefined) return accepted(endAttempt(sequence, node, "failed", `the claimant reported: ${p.error}`))
  const result: NodeResult = { id: at.id, offset: at.offset, value: p.result, proof: p.proof ?? null }
  if (p.proof === undefined) return accepted(complete(node, result))
  const proof = knownProof(proofs, p.proof)
  if (proof === undefined) return accepted(endAttempt(sequence, node, "failed", `proof ${p.proof} names no ProofAnnouncement earlier in the log (or its verdict left memory: name a proof decided within the retention window)`))
  if (!binds(proof.inputs, resultBinding(sequence.id, node.id, p.result))) {
    return accepted(endAttempt(sequence, node, "failed", `proof ${p.proof}'s public inputs do not open with the limbs of the result's digest (docs/proofs.md)`))
  }
  if (proof.verdict !== null) {
    return accepted(proof.verdict.ok ? complete(node, result) : endAttempt(sequence, node, "failed", `proof ${p.proof} was refused: ${proof.verdict.reason ?? "it did not verify"}`))
  }
  return accepted({ ...node, status: "proving", result })
}

/** Fold the authority's verdict on a proof: every node waiting for it completes, or its attempt fails. */
export const proofDecided = (state: SequencesState, at: At, proofId: string, verdict: { readonly ok: boolean; readonly reason: string | null }): SequencesState => {
  let next = state
  for (const sequence of HashMap.values(state.sequences)) {
    if (sequence.status !== "running") continue
    let s = sequence
    for (const node of sequence.nodes) {
      if (node.status !== "proving" || node.result?.proof !== proofId) continue
      const decided = verdict.ok ? complete(node, node.result) : endAttempt(s, node, "failed", `proof ${proofId} was refused: ${verdict.reason ?? "it did not verify"}`)
      s = withEvent(setNode(s, decided), event(at, node.id, null))
    }
    if (s !== sequence) next = put(next, s)
  }
  return next
}

/** Fold the authority's NodeLeaseExpired: the named claim, if still current, ends expired. */
export const leaseExpired = (state: SequencesState, at: At, p: { readonly sequenceId: string; readonly nodeId: string; readonly claimId: string }): SequencesState => {
  const sequence = sequenceOf(state, p.sequenceId)
  if (sequence === undefined) return state
  const node = nodeOf(sequence, p.nodeId)
  const held = node === undefined ? undefined : currentClaim(node)
  if (node === undefined || held === undefined || held.claimId !== p.claimId || sequence.status !== "running") {
    return refuse(state, sequence, at, p.nodeId, `claim ${p.claimId} is not node ${p.nodeId}'s current claim`)
  }
  const next = endAttempt(sequence, node, "expired", `the lease of ${sequence.leaseMs} ms ran out without a result that counts`)
  return put(state, withEvent(setNode(sequence, next), event(at, node.id, null)))
}

/** Fold the authority's ExecutionSequenceCompleted: counts once every node completed. */
export const completed = (state: SequencesState, at: At, sequenceId: string): SequencesState => {
  const sequence = sequenceOf(state, sequenceId)
  if (sequence === undefined) return state
  if (sequence.status !== "running") return refuse(state, sequence, at, null, `sequence ${sequence.id} is ${sequence.status}`)
  const open = sequence.nodes.filter((n) => n.status !== "completed").map((n) => n.id)
  if (open.length > 0) return refuse(state, sequence, at, null, `nodes ${open.slice(0, 8).join(", ")} have not completed`)
  return put(state, withEvent({ ...sequence, status: "completed" }, event(at, null, null)))
}

/** Fold the authority's ExecutionSequenceFailed: counts once the named node used up its attempts. */
export const failed = (state: SequencesState, at: At, p: { readonly sequenceId: string; readonly nodeId: string; readonly reason: string }): SequencesState => {
  const sequence = sequenceOf(state, p.sequenceId)
  if (sequence === undefined) return state
  if (sequence.status !== "running") return refuse(state, sequence, at, p.nodeId, `sequence ${sequence.id} is ${sequence.status}`)
  if (nodeOf(sequence, p.nodeId)?.status !== "exhausted") return refuse(state, sequence, at, p.nodeId, `node ${p.nodeId} has attempts left`)
  return put(state, withEvent({ ...sequence, status: "failed", reason: p.reason }, event(at, p.nodeId, null)))
}

/** What the authority has to decide on a running sequence now (but leases, which need its clock). */
export type Due =
  | { readonly _tag: "Complete"; readonly sequenceId: string }
  | { readonly _tag: "Fail"; readonly sequenceId: string; readonly nodeId: string; readonly reason: string }

/** The completions and failures due, sequences by id. */
export const dueDecisions = (state: SequencesState): ReadonlyArray<Due> => {
  const out: Array<Due> = []
  for (const s of [...HashMap.values(state.sequences)].sort((a, b) => a.offset - b.offset)) {
    if (s.status !== "running") continue
    const exhausted = s.nodes.find((n) => n.status === "exhausted")
    if (exhausted !== undefined) {
      const last = exhausted.attempts[exhausted.attempts.length - 1]
      out.push({
        _tag: "Fail",
        sequenceId: s.id,
        nodeId: exhausted.id,
        reason: `node ${exhausted.id} used its ${s.maxAttempts} attempts; the last ${last?.end ?? "ended"}: ${last?.reason ?? "no reason"}`
      })
    } else if (s.nodes.every((n) => n.status === "completed")) out.push({ _tag: "Complete", sequenceId: s.id })
  }
  return out
}

/** Every claim that holds now (claimed or proving), with its sequence's lease. */
export const heldClaims = (state: SequencesState): ReadonlyArray<{ readonly sequenceId: string; readonly nodeId: string; readonly claimId: string; readonly leaseMs: number }> => {
  const out: Array<{ sequenceId: string; nodeId: string; claimId: string; leaseMs: number }> = []
  for (const s of HashMap.values(state.sequences)) {
    if (s.status !== "running") continue
    for (const n of s.nodes) {
      const held = currentClaim(n)
      if (held !== undefined) out.push({ sequenceId: s.id, nodeId: n.id, claimId: held.claimId, leaseMs: s.leaseMs })
    }
  }
  return out
}
