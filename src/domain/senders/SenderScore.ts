/**
 * Sender scores (issue #14, the seeds' peer scoring): what each sender did wrong, as the log
 * shows it, folded into a score every instance computes alike.
 *
 * Each projection that decides a kind of misbehaviour keeps a `Tally` of it (the mempool:
 * refused reveals, commitments left unrevealed, failed modulus proofs; the operators
 * projection: refused proposals and fill reports, intent commitments left unrevealed, intents
 * that held orders and never matched; the proofs projection: refused proofs). A sender's
 * score combines its marks in every tally.
 *
 * Decay counts sealed batches (the authority's BatchSealed in the log), never Lamport time (a
 * sender may push Lamport time far ahead) nor a clock (replay must reproduce it): each kind
 * loses one unit per `SCORE_DECAY_BATCHES` sealed batches. Everything kept is an integer, so
 * the canonical JSON of a tally, and its digest, are the same on every instance.
 */
import { HashMap, Option, Schema } from "effect"
import type { Json } from "../CanonicalJson.ts"

/** The kinds of misbehaviour a score counts. */
export const MISBEHAVIOURS = ["badProof", "refusedReveal", "unrevealedCommitment", "refusedProposal", "refusedFillReport", "unmatchedIntent"] as const
export type Misbehaviour = (typeof MISBEHAVIOURS)[number]

/**
 * What one unit of each kind takes off the score (out of 100). A failed proof and a refused
 * proposal or fill report cost the instance a verification; a commitment left unrevealed held a
 * position; an intent that never matched only held orders for its window.
 */
export const WEIGHTS: { readonly [K in Misbehaviour]: number } = {
  badProof: 25,
  refusedReveal: 15,
  unrevealedCommitment: 20,
  refusedProposal: 20,
  refusedFillReport: 20,
  unmatchedIntent: 10
}

/** One unit of each kind is forgiven per this many sealed batches (about 6 minutes at the sealer's default 12 s window). */
export const SCORE_DECAY_BATCHES = 30

/** The best score: a sender with nothing against it. */
export const FULL_SCORE = 100

/** At or above this score a sender keeps its whole rate. */
export const FULL_RATE_SCORE = 80
/** At or above this (and below FULL_RATE_SCORE) half its rate; below it a quarter. */
export const HALF_RATE_SCORE = 50
/** Below this score a sender is banned: every message refused until decay lifts the score. */
export const BAN_SCORE = 25

/** Units of each kind (kinds with none are absent). */
export type Counts = { readonly [K in Misbehaviour]?: number }

/** A sender's marks as of batch `since` (the open batch when they were last charged). */
export interface Mark {
  readonly counts: Counts
  readonly since: number
}

/** Marks by sender: only senders with something left against them. */
export type Tally = HashMap.HashMap<string, Mark>

/** No marks. */
export const emptyTally: Tally = HashMap.empty()

/** What is left of `counts`, charged at batch `since`, once `batch` batches are sealed. */
export const countsAt = (mark: Mark, batch: number): Counts => {
  const forgiven = Math.max(0, Math.floor((batch - mark.since) / SCORE_DECAY_BATCHES))
  if (forgiven === 0) return mark.counts
  const out: { [K in Misbehaviour]?: number } = {}
  for (const kind of MISBEHAVIOURS) {
    const left = (mark.counts[kind] ?? 0) - forgiven
    if (left > 0) out[kind] = left
  }
  return out
}

const isEmpty = (counts: Counts): boolean => MISBEHAVIOURS.every((k) => (counts[k] ?? 0) === 0)

/** A sender's marks now (open batch `batch`), decayed; empty when it has none. */
export const marksOf = (tally: Tally, sender: string, batch: number): Counts => {
  const mark = Option.getOrUndefined(HashMap.get(tally, sender))
  return mark === undefined ? {} : countsAt(mark, batch)
}

/**
 * The tally after one more unit of `kind` for each `[sender, kind]`, in order, charged while
 * batch `batch` is open. A sender's earlier marks are decayed to `batch` first (a charge
 * restarts its decay, as the mempool's expiry debts do).
 */
export const charge = (tally: Tally, charges: ReadonlyArray<readonly [string, Misbehaviour]>, batch: number): Tally => {
  let t = tally
  for (const [sender, kind] of charges) {
    const now = marksOf(t, sender, batch)
    t = HashMap.set(t, sender, { counts: { ...now, [kind]: (now[kind] ?? 0) + 1 }, since: batch })
  }
  return t
}

/** The tally once `batch` batches are sealed: senders whose marks all decayed are dropped, so it holds only active misbehaving senders. */
export const prune = (tally: Tally, batch: number): Tally => {
  let t = tally
  for (const [sender, mark] of tally) if (isEmpty(countsAt(mark, batch))) t = HashMap.remove(t, sender)
  return t
}

/** The sum of several tallies' counts for one sender. */
export const addCounts = (parts: ReadonlyArray<Counts>): Counts => {
  const out: { [K in Misbehaviour]?: number } = {}
  for (const part of parts) {
    for (const kind of MISBEHAVIOURS) {
      const n = part[kind] ?? 0
      if (n > 0) out[kind] = (out[kind] ?? 0) + n
    }
  }
  return out
}

/** The score of these counts: 100 less each unit's weight, at least 0. */
export const scoreOf = (counts: Counts): number => {
  let penalty = 0
  for (const kind of MISBEHAVIOURS) penalty += (counts[kind] ?? 0) * WEIGHTS[kind]
  return Math.max(0, FULL_SCORE - penalty)
}

/** The share of its rate (and burst) a sender of this score keeps: 1, 1/2, 1/4, or 0 (banned). */
export const rateFactor = (score: number): number =>
  score >= FULL_RATE_SCORE ? 1 : score >= HALF_RATE_SCORE ? 0.5 : score >= BAN_SCORE ? 0.25 : 0

/** One reason a score is below 100. */
export interface ScoreReason {
  readonly kind: Misbehaviour
  readonly count: number
  readonly weight: number
}

/** A sender's standing: its score, what it keeps of its rate, and why. */
export interface SenderStanding {
  readonly sender: string
  readonly score: number
  readonly rateFactor: number
  readonly banned: boolean
  readonly reasons: ReadonlyArray<ScoreReason>
  /** The open batch the counts were decayed to (sealed batches so far). */
  readonly asOfBatch: number
}

/** The standing of `sender` with these (already decayed) counts. */
export const standingOf = (sender: string, counts: Counts, asOfBatch: number): SenderStanding => {
  const score = scoreOf(counts)
  const factor = rateFactor(score)
  const reasons: Array<ScoreReason> = []
  for (const kind of MISBEHAVIOURS) {
    const count = counts[kind] ?? 0
    if (count > 0) reasons.push({ kind, count, weight: WEIGHTS[kind] })
  }
  return { sender, score, rateFactor: factor, banned: factor === 0, reasons, asOfBatch }
}

// ---------------------------------------------------------------------------------------
// Snapshot encoding (the projections that keep a tally embed it)
// ---------------------------------------------------------------------------------------

const Count = Schema.Int.check(Schema.isGreaterThan(0))

/** A tally as JSON: `{ [sender]: { counts: { [kind]: n }, since } }`. */
export const TallyJson = Schema.Record(
  Schema.String,
  Schema.Struct({
    counts: Schema.Struct({
      badProof: Schema.optionalKey(Count),
      refusedReveal: Schema.optionalKey(Count),
      unrevealedCommitment: Schema.optionalKey(Count),
      refusedProposal: Schema.optionalKey(Count),
      refusedFillReport: Schema.optionalKey(Count),
      unmatchedIntent: Schema.optionalKey(Count)
    }),
    since: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
  })
)

/** The tally as JSON (canonical JSON sorts the keys). */
export const encodeTally = (tally: Tally): Json => {
  const out: Record<string, Json> = {}
  for (const [sender, mark] of tally) out[sender] = { counts: { ...mark.counts }, since: mark.since }
  return out
}

/** The tally of decoded JSON (TallyJson). */
export const tallyOf = (json: typeof TallyJson.Type): Tally =>
  HashMap.fromIterable(Object.entries(json).map(([sender, m]) => [sender, { counts: m.counts, since: m.since }] as const))
