/**
 * Register rules (issue #15, docs/proofs.md), pure: a register's state
 * hash, a delta applied on top of the state it names, and the fold of RegisterUpdated,
 * ProofAnnouncement and the authority's ProofVerified.
 *
 * An update applies only on top of the register's current state: its `previousStateHash`
 * must be the register's hash (null for a register that does not exist yet), and the hash
 * of the contents it produces must be its `newStateHash`; otherwise it is refused with the
 * reason. Two updates racing on one previous hash: the first in log order applies, the other
 * names a state that is no longer current. An update naming a proof is pending until the
 * authority's verdict on that proof: its announcement must be in the log before it and bind
 * the two hashes (src/domain/proofs/ProofBinding.ts), and at the verdict it is judged again
 * at that place in the log (applied if ok and still on top of the current state).
 */
import { HashMap, Option } from "effect"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { canonicalize } from "../CanonicalJson.ts"
import { binds, registerBinding } from "../proofs/ProofBinding.ts"
import { type KnownProofs, knownProof } from "../proofs/ProofVerdicts.ts"
import { MAX_REGISTER_BYTES, MAX_REGISTER_KEYS, type RegisterContents, type RegisterOperation, type RegisterUpdated } from "./RegisterMessages.ts"

/** Updates of a register kept for lazy loading (`?since=`). */
export const MAX_HISTORY = 32
/** Outcomes of a register's latest updates kept for readers. */
export const MAX_RECENT = 64
/** Most updates of one register waiting for their proofs' verdicts. */
export const MAX_PENDING = 64

/** An applied update, as lazy loading replays it. */
export interface AppliedUpdate {
  readonly id: string
  readonly offset: number
  readonly previousStateHash: string | null
  readonly newStateHash: string
  readonly delta: ReadonlyArray<RegisterOperation> | null
  readonly fullState: RegisterContents | null
}

/** What became of an update. */
export interface UpdateOutcome {
  readonly id: string
  readonly offset: number
  readonly sender: string
  readonly status: "applied" | "refused" | "pending"
  readonly reason: string | null
  readonly proof: string | null
  readonly previousStateHash: string | null
  readonly newStateHash: string
}

/** A register. */
export interface Register {
  readonly id: string
  readonly contents: RegisterContents
  /** SHA-256 of the contents' canonical JSON; null before the first applied update. */
  readonly hash: string | null
  /** Updates applied so far. */
  readonly version: number
  /** The latest MAX_HISTORY applied updates, oldest first. */
  readonly history: ReadonlyArray<AppliedUpdate>
  /** The latest MAX_RECENT updates' outcomes, oldest first. */
  readonly recent: ReadonlyArray<UpdateOutcome>
}

/** An update waiting for its proof's verdict. */
export interface PendingUpdate {
  readonly id: string
  readonly offset: number
  readonly sender: string
  readonly update: RegisterUpdated
}

/** The registers after some prefix of the log. */
export interface RegistersState {
  readonly registers: HashMap.HashMap<string, Register>
  /** Updates waiting for their proofs' verdicts, by update id. */
  readonly pending: HashMap.HashMap<string, PendingUpdate>
}

const encoder = new TextEncoder()

/** No register. */
export const emptyRegisters: RegistersState = { registers: HashMap.empty(), pending: HashMap.empty() }

/** A register's state hash: SHA-256 of the canonical JSON of its contents, lowercase hex. */
export const stateHashOf = (contents: RegisterContents): string => bytesToHex(sha256(encoder.encode(canonicalize(contents))))

/** The contents after a delta's operations, in order. */
export const applyDelta = (contents: RegisterContents, delta: ReadonlyArray<RegisterOperation>): RegisterContents => {
  const next: Record<string, unknown> = { ...contents }
  for (const op of delta) {
    if (op.op === "set") next[op.key] = op.value
    else delete next[op.key]
  }
  return next
}

const emptyRegister = (id: string): Register => ({ id, contents: {}, hash: null, version: 0, history: [], recent: [] })

/** A register by id. */
export const registerOf = (state: RegistersState, id: string): Register | undefined => Option.getOrUndefined(HashMap.get(state.registers, id))

const pendingOf = (state: RegistersState, registerId: string): number => {
  let n = 0
  for (const p of HashMap.values(state.pending)) if (p.update.registerId === registerId) n++
  return n
}

/** The contents and hash an update gives on top of the register now, or why it does not apply. */
export const judgeUpdate = (register: Register, u: RegisterUpdated): { readonly contents: RegisterContents; readonly hash: string } | { readonly refused: string } => {
  if (u.previousStateHash !== register.hash) {
    return {
      refused: register.hash === null
        ? `register ${u.registerId} has no state yet: its first update names no previous state (previousStateHash null)`
        : `previousStateHash ${u.previousStateHash ?? "null"} is not register ${u.registerId}'s current state ${register.hash}`
    }
  }
  const contents = u.fullState ?? applyDelta(register.contents, u.delta ?? [])
  if (Object.keys(contents).length > MAX_REGISTER_KEYS) return { refused: `the register would hold more than ${MAX_REGISTER_KEYS} keys` }
  const bytes = encoder.encode(canonicalize(contents))
  if (bytes.length > MAX_REGISTER_BYTES) return { refused: `the register would be more than ${MAX_REGISTER_BYTES} bytes of canonical JSON` }
  const hash = bytesToHex(sha256(bytes))
  return hash === u.newStateHash ? { contents, hash } : { refused: `the update gives state hash ${hash}, not newStateHash ${u.newStateHash}` }
}

const withOutcome = (register: Register, outcome: UpdateOutcome): Register => {
  const i = register.recent.findIndex((o) => o.id === outcome.id)
  if (i >= 0) return { ...register, recent: register.recent.map((o, j) => (j === i ? outcome : o)) }
  return { ...register, recent: [...register.recent, outcome].slice(-MAX_RECENT) }
}

const outcomeOf = (p: PendingUpdate, status: UpdateOutcome["status"], reason: string | null): UpdateOutcome => ({
  id: p.id,
  offset: p.offset,
  sender: p.sender,
  status,
  reason,
  proof: p.update.proof ?? null,
  previousStateHash: p.update.previousStateHash,
  newStateHash: p.update.newStateHash
})

// Apply or refuse an update at this place in the log (its proof, if any, already verified ok).
const settle = (state: RegistersState, p: PendingUpdate): RegistersState => {
  const register = registerOf(state, p.update.registerId) ?? emptyRegister(p.update.registerId)
  const judged = judgeUpdate(register, p.update)
  const next = "refused" in judged
    ? withOutcome(register, outcomeOf(p, "refused", judged.refused))
    : withOutcome({
      ...register,
      contents: judged.contents,
      hash: judged.hash,
      version: register.version + 1,
      history: [...register.history, {
        id: p.id,
        offset: p.offset,
        previousStateHash: p.update.previousStateHash,
        newStateHash: judged.hash,
        delta: p.update.delta ?? null,
        fullState: p.update.fullState ?? null
      }].slice(-MAX_HISTORY)
    }, outcomeOf(p, "applied", null))
  return { ...state, registers: HashMap.set(state.registers, next.id, next) }
}

const refuseAt = (state: RegistersState, p: PendingUpdate, reason: string): RegistersState => {
  const register = registerOf(state, p.update.registerId) ?? emptyRegister(p.update.registerId)
  // A refused first update of an unknown register leaves a register with no state, so its refusal can be read.
  return { ...state, registers: HashMap.set(state.registers, register.id, withOutcome(register, outcomeOf(p, "refused", reason))) }
}

/** Fold a RegisterUpdated from an operator (the fold checked the sender), given the proofs known at its place. */
export const submitUpdate = (state: RegistersState, p: PendingUpdate, proofs: KnownProofs): RegistersState => {
  const proofId = p.update.proof
  if (proofId === undefined) return settle(state, p)
  const proof = knownProof(proofs, proofId)
  if (proof === undefined) return refuseAt(state, p, `proof ${proofId} names no ProofAnnouncement earlier in the log (or its verdict left memory: name a proof decided within the retention window)`)
  if (!binds(proof.inputs, registerBinding(p.update.previousStateHash, p.update.newStateHash))) {
    return refuseAt(state, p, `proof ${proofId}'s public inputs do not open with the limbs of previousStateHash and newStateHash (docs/proofs.md)`)
  }
  if (proof.verdict !== null) return proof.verdict.ok ? settle(state, p) : refuseAt(state, p, `proof ${proofId} was refused: ${proof.verdict.reason ?? "it did not verify"}`)
  // Full early in the check: a refused update would not have counted anyway.
  if (pendingOf(state, p.update.registerId) >= MAX_PENDING) return refuseAt(state, p, `register ${p.update.registerId} has ${MAX_PENDING} updates waiting for proofs, the most it keeps`)
  const register = registerOf(state, p.update.registerId) ?? emptyRegister(p.update.registerId)
  return {
    registers: HashMap.set(state.registers, register.id, withOutcome(register, outcomeOf(p, "pending", null))),
    pending: HashMap.set(state.pending, p.id, p)
  }
}

/** Fold the authority's verdict on a proof: the updates waiting for it, in log order, applied or refused here. */
export const proofDecided = (state: RegistersState, proofId: string, verdict: { readonly ok: boolean; readonly reason: string | null }): RegistersState => {
  const waiting = [...HashMap.values(state.pending)].filter((p) => p.update.proof === proofId).sort((a, b) => a.offset - b.offset)
  let next = state
  for (const p of waiting) {
    next = { ...next, pending: HashMap.remove(next.pending, p.id) }
    next = verdict.ok ? settle(next, p) : refuseAt(next, p, `proof ${proofId} was refused: ${verdict.reason ?? "it did not verify"}`)
  }
  return next
}

/**
 * What a reader holding the state `since` needs to reach the register's current state: the
 * applied updates after it (none when it is current), or the full state when `since` is not
 * among the kept history.
 */
export const updatesSince = (register: Register, since: string): { readonly kind: "deltas"; readonly updates: ReadonlyArray<AppliedUpdate> } | { readonly kind: "full" } => {
  if (since === register.hash) return { kind: "deltas", updates: [] }
  if (register.history[0]?.previousStateHash === since) return { kind: "deltas", updates: register.history }
  const i = register.history.findIndex((u) => u.newStateHash === since)
  return i < 0 ? { kind: "full" } : { kind: "deltas", updates: register.history.slice(i + 1) }
}
