/**
 * The proof-sharing fold (issue #15, docs/proofs.md): verification keys by content, proofs
 * announced and gathered share by share, and the authority's verdicts. Pure; the projection
 * (src/projections/Proofs/Proofs.ts) judges who sent what at each record's place in the log
 * and calls these.
 *
 * - A key counts once per id (`vkIdOf`): registering it again changes nothing.
 * - An announcement counts if its key is registered under its proof system and its announcer
 *   has fewer than MAX_PENDING_PER_ANNOUNCER proofs still gathering or waiting for a verdict,
 *   and all pending announced bytes stay within MAX_PENDING_BYTES; otherwise it is recorded
 *   as `rejected` with the reason, and its shares are ignored.
 * - A share counts only from its announcement's announcer, while the announcement waits for
 *   shares, for an index it has not got (the first in log order stands). The state keeps the
 *   share's message id, never its bytes: the bytes stay in the log.
 * - Content addressing: a verdict on a proof whose bytes hashed to its commitment (every `ok`
 *   verdict, and a refusal by the proof system) is the verdict of its claim (key, commitment,
 *   public inputs). Any other announcement of the same claim without a verdict takes it at
 *   once (`reusedFrom`), and so does a later one when it is announced: the proof is never
 *   verified twice.
 * - A verdict counts once per announcement (the first); its reason begins with the tag of the
 *   failure (`SharesMissing: …` is the leader's deadline: the announcement is `incomplete`).
 * - Retention (issue #14): an announcement that reached a final status (verified, refused,
 *   incomplete, rejected: nothing changes it again) leaves memory a retention window after
 *   the seal of the batch that was open when it became final, at the first seal whose
 *   `sealedAt` is that far past it, as the mempool's entries do; its claim leaves with it
 *   (a later announcement of the same claim is verified again). `evicted` holds what left
 *   until the projection drains it to disk.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { HashMap, Option, Result, Schema } from "effect"
import { canonicalBytes, type Json } from "../CanonicalJson.ts"
import { ageAtSeal, type RetiringGroup } from "../Retention.ts"
import { VerificationKeyJson } from "./Groth16.ts"
import { MAX_SHARE_BYTES } from "./ProofShares.ts"
import { proofSystems } from "./ProofSystems.ts"

/** Most proofs one announcer may have gathering shares or waiting for their verdict. */
export const MAX_PENDING_PER_ANNOUNCER = 4
/** Most announced bytes of all proofs gathering or waiting, together (32 proofs of 2 MiB). */
export const MAX_PENDING_BYTES = 64 * 1024 * 1024

/** Where an announced proof is. */
export type ProofStatus = "gathering" | "complete" | "verified" | "refused" | "incomplete" | "rejected"

/** Reason tags of verdicts on shares that did not make the announced proof: such a verdict says nothing of the claim. */
export const ASSEMBLY_FAILURES: ReadonlySet<string> = new Set([
  "SharesMissing",
  "CommitmentMismatch",
  "InvalidShare",
  "ShareIndexOutOfRange",
  "InvalidAnnouncement",
  "SizeMismatch",
  "UnknownKey"
])

/** The tag a verdict's reason begins with (`Tag: detail`), or the whole reason. */
export const reasonTag = (reason: string): string => {
  const colon = reason.indexOf(":")
  return colon < 0 ? reason : reason.slice(0, colon)
}

/** A verdict's reason as the leader writes it: the failure's tag, then what happened, at most 500 characters. */
export const verdictReason = (tag: string, detail: string): string => `${tag}: ${detail}`.slice(0, 500)

/** A registered verification key. */
export interface KeyEntry {
  readonly vkId: string
  readonly proofSystem: string
  readonly vk: Json
  /** The first VerificationKeyRegistered of it: message id, offset, sender. */
  readonly id: string
  readonly offset: number
  readonly sender: string
}

/** A verdict as the fold holds it. */
export interface VerdictEntry {
  readonly ok: boolean
  readonly reason: string | null
  /** The ProofVerified message that decided it (the reused one's, when reused). */
  readonly id: string
  readonly offset: number
  /** The announcement whose verdict this one reuses (content addressing), or null. */
  readonly reusedFrom: string | null
}

/** An announced proof: what its announcement says (AnnouncementInput), and what became of it. */
export interface AnnouncementEntry extends AnnouncementInput {
  /** The ProofShare message id that stands for each index (null: not arrived). */
  readonly shareIds: ReadonlyArray<string | null>
  readonly received: number
  readonly receivedBytes: number
  readonly status: ProofStatus
  /** Why an announcement was rejected when it arrived (status `rejected`), else null. */
  readonly rejection: string | null
  readonly verdict: VerdictEntry | null
  /** Offset of the last record that changed it (what event streams resume from). */
  readonly updated: number
}

/** The fold's state. */
export interface ProofsState {
  readonly keys: HashMap.HashMap<string, KeyEntry>
  readonly announcements: HashMap.HashMap<string, AnnouncementEntry>
  /** Announcement ids by commitment, in log order. */
  readonly byCommitment: HashMap.HashMap<string, ReadonlyArray<string>>
  /** The verdict of each claim whose proof was assembled: the announcement that carries it. */
  readonly claims: HashMap.HashMap<string, string>
  /** The announcements gathering shares or complete without a verdict, by id (derived: what bounds and the leader look at). */
  readonly pending: HashMap.HashMap<string, AnnouncementEntry>
  /** Shares, announcements and verdicts that did not count (a stranger's share, a repeat, a late one). */
  readonly ignored: number
  /** Retention: announcements that became final while the open batch is open, in that order. */
  readonly retiringOpen: ReadonlyArray<string>
  /** Retention: announcements that became final while an earlier batch was open, by its seal's time, in seal order. */
  readonly retiring: ReadonlyArray<RetiringGroup>
  /** What retention dropped since the projection last drained it, as it was last (never in a snapshot). */
  readonly evicted: ReadonlyArray<AnnouncementEntry>
}

/** Nothing registered or announced. */
export const initialProofsState: ProofsState = {
  keys: HashMap.empty(),
  announcements: HashMap.empty(),
  byCommitment: HashMap.empty(),
  claims: HashMap.empty(),
  pending: HashMap.empty(),
  ignored: 0,
  retiringOpen: [],
  retiring: [],
  evicted: []
}

/** Is an announcement still waiting for shares or a verdict? */
export const isPending = (a: AnnouncementEntry): boolean => a.status === "gathering" || a.status === "complete"

/** A claim's key: SHA-256 of the canonical {vkId, commitment, publicInputs}. */
export const claimKeyOf = (a: Pick<AnnouncementEntry, "vkId" | "commitment" | "publicInputs">): string =>
  bytesToHex(sha256(canonicalBytes({ vkId: a.vkId, commitment: a.commitment, publicInputs: [...a.publicInputs] })))

/** The byte length of padded base64 text. */
export const base64Length = (data: string): number => (data.length / 4) * 3 - (data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0)

const ignore = (state: ProofsState): ProofsState => ({ ...state, ignored: state.ignored + 1 })

/** A key by id. */
export const keyOf = (state: ProofsState, vkId: string): KeyEntry | undefined => Option.getOrUndefined(HashMap.get(state.keys, vkId))

/** An announcement by id. */
export const announcementOf = (state: ProofsState, id: string): AnnouncementEntry | undefined =>
  Option.getOrUndefined(HashMap.get(state.announcements, id))

/** The announcements of a commitment, in log order. */
export const announcementsOfCommitment = (state: ProofsState, commitment: string): ReadonlyArray<AnnouncementEntry> =>
  Option.getOrElse(HashMap.get(state.byCommitment, commitment), (): ReadonlyArray<string> => [])
    .flatMap((id) => announcementOf(state, id) ?? [])

/** Every announcement, in log order. */
export const announcementsOf = (state: ProofsState): ReadonlyArray<AnnouncementEntry> =>
  [...HashMap.values(state.announcements)].sort((a, b) => a.offset - b.offset)

/** Every key, by id. */
export const keysOf = (state: ProofsState): ReadonlyArray<KeyEntry> =>
  [...HashMap.values(state.keys)].sort((a, b) => (a.vkId < b.vkId ? -1 : a.vkId > b.vkId ? 1 : 0))

/** Fold a key registration (the sender already judged allowed, the key already checked by its system's shape). */
export const registerKey = (state: ProofsState, input: Omit<KeyEntry, never>): ProofsState =>
  HashMap.has(state.keys, input.vkId) ? ignore(state) : { ...state, keys: HashMap.set(state.keys, input.vkId, input) }

/** Store an announcement; one that has just become final starts retiring. */
const put = (state: ProofsState, a: AnnouncementEntry): ProofsState => {
  const was = announcementOf(state, a.id)
  const final = !isPending(a) && (was === undefined || isPending(was))
  return {
    ...state,
    announcements: HashMap.set(state.announcements, a.id, a),
    pending: isPending(a) ? HashMap.set(state.pending, a.id, a) : HashMap.remove(state.pending, a.id),
    retiringOpen: final ? [...state.retiringOpen, a.id] : state.retiringOpen
  }
}

/**
 * A seal of the open batch at `sealedAt` (the instance's time, in the log): what became final
 * while it was open starts aging from it, and every group sealed at least `retentionMs` before
 * `sealedAt` leaves memory (announcements, their place under their commitment, the claims
 * they carry), each added to `evicted` as it was last.
 */
export const sealRetention = <S extends ProofsState>(state: S, sealedAt: number, retentionMs: number): S => {
  const { due, retiring } = ageAtSeal(state.retiringOpen, state.retiring, sealedAt, retentionMs)
  if (due.length === 0) return { ...state, retiringOpen: [], retiring }
  let { announcements, byCommitment, claims } = state
  const evicted = [...state.evicted]
  for (const id of due) {
    const a = Option.getOrUndefined(HashMap.get(announcements, id))
    if (a === undefined) continue
    announcements = HashMap.remove(announcements, id)
    const left = Option.getOrElse(HashMap.get(byCommitment, a.commitment), (): ReadonlyArray<string> => []).filter((x) => x !== id)
    byCommitment = left.length === 0 ? HashMap.remove(byCommitment, a.commitment) : HashMap.set(byCommitment, a.commitment, left)
    const claim = claimKeyOf(a)
    if (Option.getOrUndefined(HashMap.get(claims, claim)) === id) claims = HashMap.remove(claims, claim)
    evicted.push(a)
  }
  return { ...state, announcements, byCommitment, claims, retiringOpen: [], retiring, evicted }
}

/** The announcements still pending (gathering or complete), in log order. */
export const pendingOf = (state: ProofsState): ReadonlyArray<AnnouncementEntry> =>
  [...HashMap.values(state.pending)].sort((a, b) => a.offset - b.offset)

/** The verdict of a claim already decided on assembled bytes, if any. */
const claimVerdict = (state: ProofsState, claim: string): { readonly from: AnnouncementEntry; readonly verdict: VerdictEntry } | undefined => {
  const fromId = Option.getOrUndefined(HashMap.get(state.claims, claim))
  const from = fromId === undefined ? undefined : announcementOf(state, fromId)
  return from?.verdict == null ? undefined : { from, verdict: from.verdict }
}

const statusOfVerdict = (ok: boolean, reason: string | null): ProofStatus =>
  ok ? "verified" : reason !== null && reasonTag(reason) === "SharesMissing" ? "incomplete" : "refused"

/** What an announcement says, with the ProofAnnouncement message's id, offset and sender. */
export interface AnnouncementInput {
  readonly id: string
  readonly offset: number
  readonly announcer: string
  readonly computationId: string
  readonly proofSystem: string
  readonly vkId: string
  readonly commitment: string
  readonly publicInputs: ReadonlyArray<string>
  readonly shares: number
  readonly bytes: number
}

/** Why an announcement does not count: it is invalid here, or over a pending bound (`bound`). */
export interface AnnouncementRefusal {
  readonly bound: boolean
  readonly reason: string
}

/** Why an announcement is rejected as it arrives, or null (what the fold records and ingest refuses with). */
export const announcementRefusal = (state: ProofsState, input: AnnouncementInput): AnnouncementRefusal | null => {
  const invalid = (reason: string): AnnouncementRefusal => ({ bound: false, reason })
  const key = keyOf(state, input.vkId)
  if (key === undefined) return invalid(`the verification key ${input.vkId} is not registered`)
  if (key.proofSystem !== input.proofSystem) return invalid(`the key ${input.vkId} is a ${key.proofSystem} key, not ${input.proofSystem}`)
  if (input.bytes > input.shares * MAX_SHARE_BYTES) return invalid(`${input.bytes} bytes do not fit ${input.shares} shares of at most ${MAX_SHARE_BYTES}`)
  if (input.bytes < input.shares) return invalid(`${input.bytes} bytes cannot fill ${input.shares} shares`)
  if (HashMap.has(state.announcements, input.id)) return invalid("announced already")
  let mine = 0
  let pendingBytes = 0
  for (const a of HashMap.values(state.pending)) {
    if (a.announcer === input.announcer) mine += 1
    pendingBytes += a.bytes
  }
  if (mine >= MAX_PENDING_PER_ANNOUNCER) {
    return { bound: true, reason: `the announcer has ${mine} proofs pending, the most it may have (${MAX_PENDING_PER_ANNOUNCER}); wait for their verdicts` }
  }
  if (pendingBytes + input.bytes > MAX_PENDING_BYTES) {
    return { bound: true, reason: `${pendingBytes} announced bytes are pending; ${input.bytes} more would pass the bound of ${MAX_PENDING_BYTES}; wait for verdicts` }
  }
  return null
}

/** Why a share does not count here, or null (a repeat of an index already held: see `shareHeld`). */
export const shareRefusal = (state: ProofsState, input: Omit<ShareInput, "id" | "offset">): string | null => {
  const a = announcementOf(state, input.announcementId)
  if (a === undefined) return `no proof was announced as ${input.announcementId} (or its verdict has left memory: it takes no more shares)`
  if (input.sender !== a.announcer) return "a share is accepted only from its announcement's announcer"
  if (a.status !== "gathering") return `the proof is ${a.status}: it takes no more shares`
  if (input.index >= a.shares) return `index ${input.index} is beyond the announced ${a.shares} shares`
  return null
}

/** Is that share's index already held (the fold ignores a repeat; ingest refuses it)? */
export const shareHeld = (state: ProofsState, announcementId: string, index: number): boolean =>
  (announcementOf(state, announcementId)?.shareIds[index] ?? null) !== null

/** Fold an announcement: rejected with its reason, given its claim's verdict when one exists, or gathering. */
export const announce = (state: ProofsState, input: AnnouncementInput): ProofsState => {
  const refusal = announcementRefusal(state, input)
  const entry: AnnouncementEntry = {
    ...input,
    publicInputs: [...input.publicInputs],
    shareIds: Array.from({ length: input.shares }, () => null),
    received: 0,
    receivedBytes: 0,
    status: refusal === null ? "gathering" : "rejected",
    rejection: refusal?.reason ?? null,
    verdict: null,
    updated: input.offset
  }
  const known = refusal === null ? claimVerdict(state, claimKeyOf(input)) : undefined
  const placed = known === undefined
    ? entry
    : { ...entry, status: statusOfVerdict(known.verdict.ok, known.verdict.reason), verdict: { ...known.verdict, reusedFrom: known.from.id } }
  const ids = Option.getOrElse(HashMap.get(state.byCommitment, input.commitment), (): ReadonlyArray<string> => [])
  return { ...put(state, placed), byCommitment: HashMap.set(state.byCommitment, input.commitment, [...ids, input.id]) }
}

/** A share as the fold reads it. */
export interface ShareInput {
  readonly id: string
  readonly offset: number
  readonly sender: string
  readonly announcementId: string
  readonly index: number
  /** The share's byte length. */
  readonly bytes: number
}

/** Fold a share: counted only from the announcer, while gathering, for an index not yet held. */
export const addShare = (state: ProofsState, input: ShareInput): ProofsState => {
  const a = announcementOf(state, input.announcementId)
  if (a === undefined || shareRefusal(state, input) !== null || a.shareIds[input.index] !== null) return ignore(state)
  const shareIds = a.shareIds.map((id, i) => (i === input.index ? input.id : id))
  const received = a.received + 1
  return put(state, { ...a, shareIds, received, receivedBytes: a.receivedBytes + input.bytes, status: received === a.shares ? "complete" : "gathering", updated: input.offset })
}

/** A verdict as the fold reads it (its sender already judged the authority). */
export interface VerdictInput {
  readonly id: string
  readonly offset: number
  readonly announcementId: string
  readonly commitment: string
  readonly ok: boolean
  readonly reason: string | null
}

/** Fold the authority's verdict: the first on a pending announcement of that commitment counts, and becomes its claim's when the proof was assembled. */
export const applyVerdict = (state: ProofsState, input: VerdictInput): ProofsState => {
  const a = announcementOf(state, input.announcementId)
  if (a === undefined || !isPending(a) || a.commitment !== input.commitment) return ignore(state)
  // Only a proof that was complete can be judged valid, and only one still gathering can miss
  // its deadline (a deadline decided as the last share landed loses to it); a refusal may come at any time.
  if (input.ok && a.status !== "complete") return ignore(state)
  const deadline = !input.ok && input.reason !== null && reasonTag(input.reason) === "SharesMissing"
  if (deadline && a.status !== "gathering") return ignore(state)
  const verdict: VerdictEntry = { ok: input.ok, reason: input.reason, id: input.id, offset: input.offset, reusedFrom: null }
  let next = put(state, { ...a, status: statusOfVerdict(input.ok, input.reason), verdict, updated: input.offset })
  const assembled = input.ok || (input.reason !== null && !ASSEMBLY_FAILURES.has(reasonTag(input.reason)))
  if (!assembled) return next
  const claim = claimKeyOf(a)
  next = { ...next, claims: HashMap.set(next.claims, claim, a.id) }
  // Every other pending announcement of the same claim takes the verdict now.
  for (const other of announcementsOfCommitment(next, a.commitment)) {
    if (other.id === a.id || !isPending(other) || claimKeyOf(other) !== claim) continue
    next = put(next, { ...other, status: statusOfVerdict(input.ok, input.reason), verdict: { ...verdict, reusedFrom: a.id }, updated: input.offset })
  }
  return next
}

const decodeGroth16Key = Schema.decodeUnknownResult(VerificationKeyJson)

/** Why a key may not be registered under `proofSystem`, or null: a known system, and the key in its shape (its points are checked when a proof is verified). */
export const keyRefusal = (proofSystem: string, vk: unknown): string | null => {
  if (!proofSystems.has(proofSystem)) return `unknown proof system ${JSON.stringify(proofSystem)}; known: ${[...proofSystems.keys()].join(", ")}`
  const decoded = decodeGroth16Key(vk)
  if (Result.isFailure(decoded)) return `not a snarkjs Groth16 verification_key.json: ${decoded.failure.message.slice(0, 200)}`
  if (decoded.success.protocol !== "groth16") return `the key's protocol is ${JSON.stringify(decoded.success.protocol)}, not "groth16"`
  return null
}
