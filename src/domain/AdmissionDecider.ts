/**
 * The stateful half of admission, as a pure decider: given a message that passed the
 * stateless checks and its signature (src/domain/Admission.ts), and the writer's state as of
 * that message, decide whether it is a duplicate, replays a nonce, is an operator's message
 * from a key that is not a registered operator (or one over its open intents), comes from a
 * sender whose score bans it, exceeds its sender's rate (scaled down by a low score),
 * is too far ahead in Lamport time, waits for dependencies (within the held buffer, its sender's
 * share of it and its client's), or is accepted.
 *
 * The ingest writer (src/services/Ingest.ts) owns the state and the I/O: it asks the store
 * what a `LookupNeeded` decision names, records the answers and decides again (a decision
 * that asks changes nothing, so deciding again is safe), and applies every other decision's
 * changes (the sender's bucket, the batch's clock and nonce). Time comes in as `now`.
 */
import type { Envelope } from "./Envelope.ts"
import { isAboveDependencies, isTooFarAhead, receive } from "./Lamport.ts"
import { MAX_OPEN_INTENTS, operatorRefusal } from "./operators/OperatorRegistry.ts"
import { DuplicateMessage, InvalidLamport, NonceReplayed, OperatorNotRegistered, RateLimited, type Rejection, SenderBanned, TooManyOpenIntents } from "./Rejection.ts"
import { BAN_SCORE, SCORE_DECAY_BATCHES } from "./senders/SenderScore.ts"
import { type TokenBucket, type TokenBucketPolicy, take } from "./TokenBucket.ts"

/** A read-only set (a Set, a Map's keys, an LRU cache's keys). */
export interface Members<K> {
  readonly has: (key: K) => boolean
}

/** A read-only keyed table (a Map or an LRU cache). */
export interface Table<K, V> extends Members<K> {
  readonly get: (key: K) => V | undefined
}

/** Where a message is in Lamport time (a logged record or one accepted earlier in the batch). */
export interface Stamped {
  readonly lamport: number
}

/** Decide on one message. */
export interface AdmitMessage {
  readonly envelope: Envelope
  readonly id: string
  /** Already charged to the sender's bucket (a held message is not charged twice). */
  readonly charged: boolean
  /** The client that submitted it (absent: the instance's own, never held to a client's share). */
  readonly client?: AdmissionClient | undefined
}

/** Who submitted a message over the network, as its share of the held buffer counts it. */
export interface AdmissionClient {
  /** `address:<clientAddressKey>` or `token:<name>` (src/services/ClientBudgets.ts). */
  readonly key: string
  /** Its share as a multiple of `pendingPerClient` (a relayer's token budget; absent: 1). */
  readonly weight?: number | undefined
}

/** The operator registry as the writer sees it: the projection's, with the intents appended since counted in. */
export interface OperatorRoster {
  /** Is the sender a registered operator (or one of the deployment's instances)? */
  readonly isOperator: (sender: string) => boolean
  /** How many intents the sender has open, this batch's accepted ones included. */
  readonly openIntents: (sender: string) => number
}

/** The writer's state as of the message being decided. */
export interface AdmissionState {
  /** The instance clock, with the batch's earlier acceptances received. */
  readonly clock: number
  /** Each sender's highest accepted nonce (-1: none), the batch's earlier acceptances included; every sender of the batch is present. */
  readonly highestNonce: Table<string, number>
  /** Senders' token buckets (absent: full). */
  readonly buckets: Table<string, TokenBucket>
  /** Messages accepted earlier in this batch. */
  readonly accepted: Table<string, Stamped>
  /** Messages known to be in the log. */
  readonly logged: Table<string, Stamped>
  /** Ids the store was asked about for this batch (absent from `logged`: not in the log). */
  readonly asked: Members<string>
  /** Ids of every message of this batch. */
  readonly batchIds: Members<string>
  /** How many messages wait for dependencies. */
  readonly held: number
  /** How many of them each sender has (absent: no share is kept, as in tests of the global bound alone). */
  readonly heldBy?: ((sender: string) => number) | undefined
  /** How many of them each client has (absent: no client share is kept). */
  readonly heldByClient?: ((client: string) => number) | undefined
  /** The operator registry (absent: no operator check, as in tests of ingest alone). */
  readonly operators?: OperatorRoster | undefined
  /** Each sender's score and the share of its rate it keeps (0: banned); absent: no scoring. */
  readonly scores?: ((sender: string) => SenderScore) | undefined
}

/** What admission reads of a sender's standing (src/domain/senders/SenderScore.ts). */
export interface SenderScore {
  readonly score: number
  /** 1, a fraction, or 0 (banned). */
  readonly rateFactor: number
}

/** The rate policy scaled by `factor` (a burst of at least one message). */
const scaled = (rate: TokenBucketPolicy, factor: number): TokenBucketPolicy =>
  factor >= 1 ? rate : { ratePerSec: rate.ratePerSec * factor, burst: Math.max(1, Math.floor(rate.burst * factor)) }

/** The writer's rules. */
export interface AdmissionPolicy {
  readonly maxLamportAhead: number
  readonly rate: TokenBucketPolicy
  readonly pendingLimit: number
  /** Most messages one sender may have waiting for dependencies: no sender fills the buffer alone. */
  readonly pendingPerSender?: number | undefined
  /**
   * Most messages one client (an address, or a token with a budget) may have waiting for
   * dependencies, times its weight: keys cost nothing, so one address with many fresh keys
   * does not fill the buffer either.
   */
  readonly pendingPerClient?: number | undefined
  readonly pendingTimeoutMs: number
  /** Senders not rate limited, and never scored down (the instance's own key). */
  readonly exempt: Members<string>
}

/** A sender's bucket after the message was charged (or refused for rate). */
export interface Charge {
  readonly sender: string
  readonly bucket: TokenBucket
  /** The token was taken: the message counts as charged from now on. */
  readonly charged: boolean
}

/** What the writer does with the message. */
export type AdmissionDecision =
  | { readonly _tag: "LookupNeeded"; readonly ids: ReadonlyArray<string> }
  | { readonly _tag: "Rejected"; readonly rejection: Rejection; readonly charge: Charge | undefined }
  | { readonly _tag: "Held"; readonly missing: ReadonlyArray<string>; readonly charge: Charge | undefined }
  | { readonly _tag: "Accepted"; readonly clock: number; readonly charge: Charge | undefined }

/** A client's share of the held buffer: `perClient` times its weight (at least 1), within the buffer. */
export const clientShare = (perClient: number, weight: number | undefined, pendingLimit: number): number =>
  Math.min(pendingLimit, Math.floor(perClient * Math.max(1, weight ?? 1)))

const rejected = (rejection: Rejection, charge?: Charge): AdmissionDecision => ({ _tag: "Rejected", rejection, charge })

/** Decide on `command` against `state` at `now` (Unix ms). */
export const decide = (command: AdmitMessage, state: AdmissionState, policy: AdmissionPolicy, now: number): AdmissionDecision => {
  const { envelope: e, id } = command
  if (state.accepted.has(id)) return rejected(new DuplicateMessage({ reason: `message ${id} is already in the log`, id }))
  const highest = state.highestNonce.get(e.sender) ?? -1
  if (e.nonce <= highest) {
    // A logged message's nonce is at or below its sender's highest, so only a message that
    // fails the nonce rule can be a duplicate: the store is asked which of the two it is here,
    // not for every message.
    if (!state.logged.has(id) && !state.asked.has(id)) return { _tag: "LookupNeeded", ids: [id] }
    return rejected(
      state.logged.has(id)
        ? new DuplicateMessage({ reason: `message ${id} is already in the log`, id })
        : new NonceReplayed({ reason: `nonce ${e.nonce} is not above the sender's highest accepted nonce ${highest}`, nonce: e.nonce, highest })
    )
  }
  // Refused before any budget is spent on it: junk from keys that are not operators must not
  // cost a signed verdict, nor an intent reserve orders.
  const refusal = state.operators === undefined ? null : operatorRefusal(e.type, e.sender, state.operators, MAX_OPEN_INTENTS)
  if (refusal !== null) {
    return rejected(
      refusal._tag === "NotRegistered"
        ? new OperatorNotRegistered({ reason: refusal.reason, type: e.type })
        : new TooManyOpenIntents({ reason: refusal.reason, open: refusal.open, limit: MAX_OPEN_INTENTS })
    )
  }
  const standing = state.scores === undefined || policy.exempt.has(e.sender) ? undefined : state.scores(e.sender)
  if (standing !== undefined && standing.rateFactor <= 0) {
    return rejected(new SenderBanned({
      reason: `the sender's score is ${standing.score}, below ${BAN_SCORE}: it is banned until its misbehaviour decays (one unit of each kind per ${SCORE_DECAY_BATCHES} sealed batches); GET /v1/senders/{key} says why`,
      score: standing.score
    }))
  }
  const rate = standing === undefined ? policy.rate : scaled(policy.rate, standing.rateFactor)
  let charge: Charge | undefined
  if (!command.charged && !policy.exempt.has(e.sender)) {
    const t = take(state.buckets.get(e.sender), now, rate)
    if (!t.ok) {
      const lowered = rate === policy.rate ? "" : ` (its score ${standing?.score} keeps ${rate.ratePerSec} of ${policy.rate.ratePerSec})`
      return rejected(
        new RateLimited({ reason: `sender exceeds ${rate.ratePerSec} messages/s (burst ${rate.burst})${lowered}`, retryAfterMs: t.retryAfterMs }),
        { sender: e.sender, bucket: t.bucket, charged: false }
      )
    }
    charge = { sender: e.sender, bucket: t.bucket, charged: true }
  }
  if (isTooFarAhead(e.lamport, state.clock, policy.maxLamportAhead)) {
    return rejected(new InvalidLamport({ reason: `lamport ${e.lamport} is more than ${policy.maxLamportAhead} ahead of this instance's clock ${state.clock}` }), charge)
  }
  const missing = e.deps.filter((d) => !state.accepted.has(d) && !state.logged.has(d))
  if (missing.some((d) => state.batchIds.has(d))) {
    // It names a message of this batch that was not accepted: that one may still be in the
    // log (a duplicate), so the store decides after all.
    const unasked = missing.filter((d) => !state.asked.has(d))
    if (unasked.length > 0) return { _tag: "LookupNeeded", ids: unasked }
  }
  if (missing.length > 0) {
    if (state.held >= policy.pendingLimit) {
      return rejected(new RateLimited({ reason: `${state.held} messages already wait for dependencies`, retryAfterMs: policy.pendingTimeoutMs }), charge)
    }
    const mine = state.heldBy?.(e.sender) ?? 0
    if (policy.pendingPerSender !== undefined && mine >= policy.pendingPerSender) {
      return rejected(new RateLimited({ reason: `this sender already has ${mine} messages waiting for dependencies, its share of the buffer`, retryAfterMs: policy.pendingTimeoutMs }), charge)
    }
    const client = command.client
    if (client !== undefined && policy.pendingPerClient !== undefined) {
      const share = clientShare(policy.pendingPerClient, client.weight, policy.pendingLimit)
      const theirs = state.heldByClient?.(client.key) ?? 0
      if (theirs >= share) {
        return rejected(
          new RateLimited({ reason: `the client ${client.key} already has ${theirs} messages waiting for dependencies, its share of the buffer (${share})`, retryAfterMs: policy.pendingTimeoutMs }),
          charge
        )
      }
    }
    return { _tag: "Held", missing, charge }
  }
  const depLamports = e.deps.map((d) => (state.accepted.get(d) ?? (state.logged.get(d) as Stamped)).lamport)
  if (!isAboveDependencies(e.lamport, depLamports)) {
    return rejected(new InvalidLamport({ reason: `lamport ${e.lamport} is not above every dependency's (${Math.max(...depLamports)})` }), charge)
  }
  return { _tag: "Accepted", clock: receive(state.clock, e.lamport), charge }
}
