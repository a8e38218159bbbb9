/**
 * The ingest pipeline. Each message passes, in order: size limit, schema decode, protocol
 * version, signature (on the caller's fiber: CPU work that needs no shared state), then in
 * the single writer fiber: duplicate id, nonce replay, operators' messages only from registered
 * operators (and their open intents bounded), per-sender rate limit, Lamport bound,
 * dependencies known (else held until they are, or a timeout, in a buffer bounded in all, per
 * sender and per client), Lamport
 * above dependencies, append, acknowledge. Before the writer, after the signature: the
 * sender's authority for decisions, and the admission guard (a reveal only once its batch is
 * sealed and the mempool would take it: src/services/SealGuard.ts). Any failed step is a typed Rejection and nothing
 * is appended for that message.
 *
 * Clients' messages (`offerMany`, the HTTP edge's) enter a bounded queue: beyond `maxQueued`
 * messages waiting for the writer, they are answered IngestBusy before anything is checked;
 * the instance's own (`submit`, `submitMany`) and held messages going back are never refused.
 *
 * The writer takes whatever is queued (up to `maxAppend`, 512 by default) and appends it in one transaction:
 * concurrent submissions share one fsync, which is what makes durable acknowledgments cheap.
 * All admission state (nonces, buckets, the held buffer, the instance clock) lives in the
 * writer fiber, so no step races another.
 */
import { hash } from "node:crypto"
import { availableParallelism } from "node:os"
import { Clock, Context, Deferred, Effect, Exit, Fiber, Layer, Metric, Queue, Result, Schedule, Semaphore } from "effect"
import { LRUCache } from "lru-cache"
import { type Candidate, type TextSha256, admit } from "../domain/Admission.ts"
import { signingBytes } from "../domain/Envelope.ts"
import { type AdmissionClient, type AdmissionPolicy, decide } from "../domain/AdmissionDecider.ts"
import { IngestBusy } from "../domain/IngestBusy.ts"
import { InvalidSignature, NotAuthorized, type Rejection, UnknownDependencies } from "../domain/Rejection.ts"
import type { TokenBucket, TokenBucketPolicy } from "../domain/TokenBucket.ts"
import { type Appended, CausalLog, type CausalLogError, type NewRecord, type RecordRef } from "../ports/CausalLog.ts"
import { AdmissionGuard } from "../ports/AdmissionGuard.ts"
import { AuthorityView } from "../ports/InstanceKey.ts"
import { OperatorRoster } from "../ports/OperatorRoster.ts"
import { SenderScores } from "../ports/SenderScores.ts"
import { intentTypes } from "../domain/operators/OperatorRegistry.ts"
import { SignatureVerifier, type VerifyRequest } from "../ports/SignatureVerifier.ts"
import { authoringRefusal } from "../domain/cluster/Authority.ts"

/** Where an accepted message landed (id, offset, Lamport time): its acknowledgment. */
export type { Appended } from "../ports/CausalLog.ts"

/** Who submitted a client's messages, as its share of the held buffer counts it. */
export type { AdmissionClient } from "../domain/AdmissionDecider.ts"

/** What a submission ends in: a receipt, or why not. */
export type SubmitResult = Result.Result<Appended, Rejection | CausalLogError>

/** What a client's submission ends in: a receipt, why not, or that the queue was full. */
export type OfferResult = Result.Result<Appended, Rejection | CausalLogError | IngestBusy>

/** Tunables of the pipeline. */
export interface IngestOptions {
  /** Largest canonical envelope in bytes. */
  readonly maxMessageBytes: number
  /** Most messages in one client's batch (POST /v1/messages with an array). */
  readonly maxBatch: number
  /**
   * Most messages appended in one transaction (default 512): a larger batch is appended in as
   * many. An append runs on the event loop (about 30 µs a message from fresh senders, its
   * indexes included): 1,024 at once held the loop for 30-70 ms under a flood.
   */
  readonly maxAppend?: number
  /** How far past the instance clock a sender's stamp may be. */
  readonly maxLamportAhead: number
  /** Per-sender token bucket. */
  readonly rate: TokenBucketPolicy
  /** Most messages held waiting for dependencies. */
  readonly pendingLimit: number
  /** Most of them from one sender (its share; defaults to a 40th of pendingLimit, at least 64 or all of it when smaller). */
  readonly pendingPerSender?: number
  /**
   * Most of them from one client (an address, or a token with its own budget, times its
   * weight; defaults to a 10th of pendingLimit, at least 64 or all of it when smaller). Only
   * clients' submissions (`offer`, `offerMany` with a client) count; the instance's own never.
   */
  readonly pendingPerClient?: number
  /** Most clients' messages queued for the writer (being checked or waiting): beyond it, IngestBusy. */
  readonly maxQueued: number
  /** How long a message waits for its dependencies. */
  readonly pendingTimeoutMs: number
  /** Senders not rate limited (the instance's own key). */
  readonly exemptSenders: ReadonlyArray<string>
  /**
   * Check signatures through the verifier's `verifyMany` (libsodium: on its worker pool;
   * node:crypto: on libuv's thread pool; either way on the other cores) rather than on the
   * event loop. Default: when the process may run on more than one core; with a single core
   * the hand-off only costs.
   */
  readonly verifyOffThread: boolean
}

/**
 * Defaults: 64 KiB messages, 1,024-message batches, 1,000 msg/s per sender with a 2,000 burst,
 * 16,384 clients' messages queued (16 batches; at most 1 GiB of envelopes at their size limit).
 */
/**
 * Entries of each of the writer's in-memory tables (highest nonces, recent ids, senders' rate
 * buckets). Each is a cache: a nonce or id pushed out is asked of the log, and a bucket pushed
 * out comes back full, which a sender's bucket is anyway after 2 s idle (1,000/s, burst 2,000).
 */
export const TABLE_ENTRIES = 20_000

/** Most messages appended in one transaction when the options do not say. */
export const DEFAULT_MAX_APPEND = 512

export const defaultOptions: IngestOptions = {
  maxMessageBytes: 65_536,
  maxBatch: 1024,
  maxLamportAhead: 1_000_000,
  rate: { ratePerSec: 1000, burst: 2000 },
  pendingLimit: 10_000,
  maxQueued: 16_384,
  pendingTimeoutMs: 5000,
  exemptSenders: [],
  verifyOffThread: availableParallelism() > 1
}

/** The ingest service. */
export interface IngestService {
  /** Admit one message (an untrusted, already JSON-parsed value). */
  readonly submit: (value: unknown) => Effect.Effect<Appended, Rejection | CausalLogError>
  /** Admit many; one result per value, in order. */
  readonly submitMany: (values: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<SubmitResult>>
  /**
   * Admit a client's values within the queue's bound: those beyond the room left are answered
   * IngestBusy unchecked (the first ones get the room); one result per value, in order.
   */
  readonly offerMany: (values: ReadonlyArray<unknown>, client?: AdmissionClient) => Effect.Effect<ReadonlyArray<OfferResult>>
  /** Admit one client's value within the queue's bound (IngestBusy when it is full): what a single POST /v1/messages takes, traced as Ingest.submit. */
  readonly offer: (value: unknown, client?: AdmissionClient) => Effect.Effect<OfferResult>
  /** The instance's Lamport clock now. */
  readonly clock: Effect.Effect<number>
  /** How many messages are waiting for dependencies. */
  readonly pending: Effect.Effect<number>
  /** How many of them a client (its key) submitted. */
  readonly pendingOf: (client: string) => Effect.Effect<number>
}

/** The ingest service tag. */
export class Ingest extends Context.Service<Ingest, IngestService>()("causeway/Ingest") {}

const accepted = Metric.counter("causeway_ingest_accepted_total", { description: "Messages appended to the log" })
const queuedGauge = Metric.gauge("causeway_ingest_queued", { description: "Clients' messages queued for the writer (bounded by maxQueued)" })
const rejected = Metric.counter("causeway_ingest_rejected_total", { description: "Messages rejected, by reason" })
const batchSize = Metric.histogram("causeway_ingest_batch_size", {
  description: "Messages per append transaction",
  boundaries: Metric.exponentialBoundaries({ start: 1, factor: 4, count: 7 })
})

type JobOutcome = Exit.Exit<Appended, Rejection | CausalLogError>

interface Job {
  readonly _tag: "Job"
  readonly candidate: Candidate
  /** Settles the submission; called once. */
  readonly done: (outcome: JobOutcome) => void
  /** Already charged to the sender's bucket (a held message is not charged twice). */
  charged: boolean
  /** Holds a place of the bounded queue until the writer takes it. */
  queued: boolean
  /** The client that submitted it (none: the instance's own). */
  readonly client: AdmissionClient | undefined
}
interface Tick {
  readonly _tag: "Tick"
}
type Work = Job | Tick

interface Held {
  readonly missing: Set<string>
  readonly deadline: number
}

// Signatures handed to the thread pool together: small enough that the pool starts while
// the rest of a batch is being decoded, large enough that a hand-off costs little per message.
const VERIFY_CHUNK = 64

// Submissions checked at once (decoded, signatures handed to the pool, authorized, guarded); the
// others wait their turn without costing anything. With the yield after each VERIFY_CHUNK, one
// turn of the event loop runs at most this many chunks of decoding however many clients submit
// at once: a flood of 500-message batches then delays timers and other requests by
// milliseconds, not by the sum of every batch's decoding (issue #14, bench:attack).
const CHECKS_AT_ONCE = 2

// When a client refused for a full queue may try again: about what the writer takes to drain
// a few batches.
const BUSY_RETRY_MS = 1000

// Ids through node:crypto (OpenSSL), about three times noble's speed on envelope-sized texts.
const sha256Text: TextSha256 = (text) => hash("sha256", text, "buffer")

/** Build the pipeline over the log and verifier in context; its writer lives in the scope. */
export const make = (options: IngestOptions = defaultOptions) =>
  Effect.gen(function*() {
    const log = yield* CausalLog
    const verifier = yield* SignatureVerifier
    const authorityView = yield* AuthorityView
    const guard = yield* AdmissionGuard
    const roster = yield* OperatorRoster
    const senderScores = yield* SenderScores
    const policy: AdmissionPolicy = {
      maxLamportAhead: options.maxLamportAhead,
      rate: options.rate,
      pendingLimit: options.pendingLimit,
      pendingPerSender: options.pendingPerSender ?? Math.max(Math.floor(options.pendingLimit / 40), Math.min(options.pendingLimit, 64)),
      pendingPerClient: options.pendingPerClient ?? Math.max(Math.floor(options.pendingLimit / 10), Math.min(options.pendingLimit, 64)),
      pendingTimeoutMs: options.pendingTimeoutMs,
      exempt: new Set(options.exemptSenders)
    }
    const queue = yield* Queue.unbounded<Work>()
    // Places of the bounded queue taken by clients' messages: counted from before their
    // signature is checked until the writer takes them (the queue itself stays unbounded, so
    // held messages going back and the instance's own are never refused).
    let queued = 0

    // Writer-owned state.
    let clock = yield* log.maxLamport
    // Per-sender and per-id tables are caches of the log (or, for buckets, refill in 2 s):
    // bounded at TABLE_ENTRIES each, so a flood of fresh keys does not grow them past it.
    const nonces = new LRUCache<string, number>({ max: TABLE_ENTRIES })
    // Recently appended ids: answers duplicate checks and dependency lookups (which mostly
    // name recent messages) without asking the store.
    const recent = new LRUCache<string, RecordRef>({ max: TABLE_ENTRIES })
    const buckets = new LRUCache<string, TokenBucket>({ max: TABLE_ENTRIES })
    const held = new Map<Job, Held>()
    // Held messages by sender and by client: each one's share of the buffer.
    const heldBySender = new Map<string, number>()
    const heldByClient = new Map<string, number>()
    const count = (table: Map<string, number>, key: string, by: 1 | -1) => {
      const n = (table.get(key) ?? 0) + by
      if (n <= 0) table.delete(key)
      else table.set(key, n)
    }
    const countHeld = (job: Job, by: 1 | -1) => {
      count(heldBySender, job.candidate.envelope.sender, by)
      if (job.client !== undefined) count(heldByClient, job.client.key, by)
    }
    const waiters = new Map<string, Set<Job>>()
    // Offsets of intents appended but perhaps not folded yet, by sender: counted beside the
    // folded ones, so a burst faster than the projection does not slip past the bound.
    const unfoldedIntents = new Map<string, Array<number>>()

    const countRejection = (r: Rejection) => Metric.update(Metric.withAttributes(rejected, { reason: r._tag }), 1)
    const reject = (job: Job, rejection: Rejection) =>
      countRejection(rejection).pipe(Effect.andThen(Effect.sync(() => job.done(Exit.fail(rejection)))))

    const hold = (job: Job, missing: ReadonlyArray<string>, now: number) => {
      held.set(job, { missing: new Set(missing), deadline: now + options.pendingTimeoutMs })
      countHeld(job, 1)
      for (const d of missing) {
        const set = waiters.get(d)
        if (set === undefined) waiters.set(d, new Set([job]))
        else set.add(job)
      }
    }

    const unhold = (job: Job) => {
      const h = held.get(job)
      if (h === undefined) return
      held.delete(job)
      countHeld(job, -1)
      for (const d of h.missing) {
        const set = waiters.get(d)
        set?.delete(job)
        if (set?.size === 0) waiters.delete(d)
      }
    }

    // Held messages whose dependencies just became known go back through the writer.
    const release = (ids: Iterable<string>): Array<Job> => {
      const ready: Array<Job> = []
      for (const id of ids) {
        const set = waiters.get(id)
        if (set === undefined) continue
        waiters.delete(id)
        for (const job of set) {
          const h = held.get(job)
          if (h === undefined) continue
          h.missing.delete(id)
          if (h.missing.size === 0) {
            held.delete(job)
            countHeld(job, -1)
            ready.push(job)
          }
        }
      }
      return ready
    }

    // The registry as last folded, with the intents appended since and this batch's counted in.
    const operatorsAsOf = Effect.fnUntraced(function*(batchIntents: ReadonlyMap<string, number>) {
      if (roster === undefined) return undefined
      const folded = yield* roster.current
      for (const [sender, offsets] of unfoldedIntents) {
        const rest = offsets.filter((o) => o >= folded.offset)
        if (rest.length === 0) unfoldedIntents.delete(sender)
        else if (rest.length < offsets.length) unfoldedIntents.set(sender, rest)
      }
      return {
        isOperator: folded.isOperator,
        openIntents: (sender: string) =>
          folded.openIntents(sender) + (unfoldedIntents.get(sender)?.length ?? 0) + (batchIntents.get(sender) ?? 0)
      }
    })

    const processJobs = Effect.fn("Ingest.processJobs")(function*(jobs: ReadonlyArray<Job>) {
      const now = yield* Clock.currentTimeMillis
      const ids = new Set<string>()
      const refs = new Map<string, RecordRef>()
      // A message's own id is not looked up (see the nonce check below), nor a dependency on
      // a message of this batch: it is appended with it, and only if it is not is the store
      // asked (below, where the dependencies are checked).
      const batchIds = new Set<string>()
      for (const j of jobs) batchIds.add(j.candidate.id)
      for (const j of jobs) {
        for (const d of j.candidate.envelope.deps) {
          if (batchIds.has(d)) continue
          const hit = recent.get(d)
          if (hit !== undefined) refs.set(d, hit)
          else ids.add(d)
        }
      }
      if (ids.size > 0) for (const [id, ref] of yield* log.lookup([...ids])) refs.set(id, ref)
      for (const j of jobs) {
        const sender = j.candidate.envelope.sender
        if (nonces.get(sender) === undefined) {
          const h = yield* log.highestNonce(sender)
          nonces.set(sender, h._tag === "Some" ? h.value : -1)
        }
      }

      const inBatch = new Map<string, RecordRef>()
      const batchNonces = new Map<string, number>()
      const asked = new Set<string>()
      const batchIntents = new Map<string, number>()
      const operators = roster === undefined ? undefined : yield* operatorsAsOf(batchIntents)
      // Standings as last folded, read once per batch: each message then costs a few map reads.
      const scores = senderScores === undefined ? undefined : yield* senderScores.current
      const state = {
        clock,
        highestNonce: { get: (s: string) => batchNonces.get(s) ?? nonces.get(s), has: (s: string) => batchNonces.has(s) || nonces.has(s) },
        buckets,
        accepted: inBatch,
        logged: { get: (id: string) => refs.get(id) ?? recent.get(id), has: (id: string) => refs.has(id) || recent.has(id) },
        asked,
        batchIds,
        held: held.size,
        heldBy: (sender: string) => heldBySender.get(sender) ?? 0,
        heldByClient: (client: string) => heldByClient.get(client) ?? 0,
        operators,
        scores
      }
      const take1: Array<Job> = []
      const records: Array<NewRecord> = []
      for (const job of jobs) {
        const { envelope: e, id, body } = job.candidate
        state.held = held.size
        let decision = decide({ envelope: e, id, charged: job.charged, client: job.client }, state, policy, now)
        while (decision._tag === "LookupNeeded") {
          for (const [found, ref] of yield* log.lookup(decision.ids)) refs.set(found, ref)
          for (const asking of decision.ids) asked.add(asking)
          decision = decide({ envelope: e, id, charged: job.charged, client: job.client }, state, policy, now)
        }
        if (decision.charge !== undefined) {
          buckets.set(decision.charge.sender, decision.charge.bucket)
          if (decision.charge.charged) job.charged = true
        }
        switch (decision._tag) {
          case "Rejected":
            yield* reject(job, decision.rejection)
            break
          case "Held":
            hold(job, decision.missing, now)
            break
          case "Accepted":
            inBatch.set(id, { offset: -1, lamport: e.lamport })
            batchNonces.set(e.sender, e.nonce)
            if (intentTypes.has(e.type)) batchIntents.set(e.sender, (batchIntents.get(e.sender) ?? 0) + 1)
            state.clock = decision.clock
            take1.push(job)
            records.push({ id, lamport: e.lamport, type: e.type, sender: e.sender, nonce: e.nonce, deps: e.deps, body })
        }
      }
      const batchClock = state.clock
      if (records.length === 0) return
      // The checks and the append are a turn's work each at most (~10 ms for 512 records).
      yield* Effect.yieldNow
      const appended = yield* Effect.exit(log.append(records))
      if (Exit.isFailure(appended)) {
        // Storage failed: nothing of this batch is acknowledged, and no state moves.
        for (const job of take1) job.done(Exit.failCause(appended.cause))
        return
      }
      clock = batchClock
      for (const [sender, n] of batchNonces) nonces.set(sender, n)
      for (const a of appended.value) recent.set(a.id, { offset: a.offset, lamport: a.lamport })
      if (roster !== undefined) {
        appended.value.forEach((a, i) => {
          const r = records[i] as NewRecord
          if (!intentTypes.has(r.type)) return
          const offsets = unfoldedIntents.get(r.sender)
          if (offsets === undefined) unfoldedIntents.set(r.sender, [a.offset])
          else offsets.push(a.offset)
        })
      }
      yield* Metric.update(accepted, records.length)
      yield* Metric.update(batchSize, records.length)
      appended.value.forEach((a, i) => (take1[i] as Job).done(Exit.succeed(a)))
      const ready = release(appended.value.map((a) => a.id))
      if (ready.length > 0) yield* Queue.offerAll(queue, ready)
    })

    // The sweep: held messages past their deadline are looked for once more in the log
    // (another instance may have appended their dependencies), then rejected.
    const sweep = Effect.fn("Ingest.sweep")(function*() {
      if (held.size === 0) return
      const now = yield* Clock.currentTimeMillis
      const due = [...held].filter(([, h]) => h.deadline <= now)
      if (due.length === 0) return
      const refs = yield* log.lookup([...new Set(due.flatMap(([, h]) => [...h.missing]))])
      const ready: Array<Job> = []
      for (const [job, h] of due) {
        unhold(job)
        const still = [...h.missing].filter((d) => !refs.has(d))
        if (still.length === 0) ready.push(job)
        else yield* reject(job, new UnknownDependencies({ reason: `dependencies still unknown after ${options.pendingTimeoutMs} ms`, missing: still }))
      }
      if (ready.length > 0) yield* Queue.offerAll(queue, ready)
    })

    const step = Effect.gen(function*() {
      const work = yield* Queue.takeBetween(queue, 1, Math.min(options.maxBatch, options.maxAppend ?? DEFAULT_MAX_APPEND))
      // Resumed inline by the submitter's offer: the batch runs as the writer's own work in the
      // scheduler's queue, not inside the submitter's turn.
      yield* Effect.yieldNow
      const jobs: Array<Job> = []
      let tick = false
      let freed = 0
      for (const w of work) {
        if (w._tag === "Tick") tick = true
        else {
          jobs.push(w)
          if (w.queued) {
            w.queued = false
            freed++
          }
        }
      }
      if (freed > 0) {
        queued -= freed
        yield* Metric.update(queuedGauge, queued)
      }
      const exit = yield* Effect.exit(processJobs(jobs))
      if (Exit.isFailure(exit)) {
        // A lookup failed: the storage is the problem, not the messages.
        for (const job of jobs) {
          if (!held.has(job)) job.done(Exit.failCause(exit.cause))
        }
      }
      if (tick) yield* Effect.exit(sweep())
    })

    yield* Effect.forkScoped(Effect.forever(step))
    yield* Effect.forkScoped(
      Queue.offer(queue, { _tag: "Tick" }).pipe(Effect.repeat(Schedule.spaced(Math.max(10, Math.min(250, options.pendingTimeoutMs / 4)))))
    )

    const limits = { maxMessageBytes: options.maxMessageBytes }
    const badSignature = (c: Candidate) =>
      new InvalidSignature({ reason: `signature does not verify for ${c.envelope.scheme} key ${c.envelope.sender} over message ${c.id}` })
    const requestOf = ({ envelope: e, idBytes }: Candidate): VerifyRequest => ({
      scheme: e.scheme,
      publicKey: e.sender,
      message: signingBytes(idBytes),
      signature: Buffer.from(e.sig, "hex") // the schema admitted only lowercase hex
    })

    // Decisions and cluster messages only from keys with the right (as the projections last
    // folded it); checked once the signature has shown who the sender is.
    const authorize = Effect.fnUntraced(function*(checked: Array<Result.Result<Candidate, Rejection>>) {
      if (authorityView === undefined) return checked
      const authority = yield* authorityView.current
      return checked.map((c) => {
        if (Result.isFailure(c)) return c
        const { type, sender } = c.success.envelope
        const refusal = authoringRefusal(authority, type, sender)
        return refusal === null ? c : Result.fail(new NotAuthorized({ reason: `${refusal}; ${sender} may not`, type }))
      })
    })

    // What the projections' rules say must not be written yet (a reveal before its seal):
    // refused here, before the writer, so nothing of it reaches the public log.
    const guarded = Effect.fnUntraced(function*(checked: Array<Result.Result<Candidate, Rejection>>) {
      if (guard === undefined) return checked as Array<Result.Result<Candidate, Rejection | CausalLogError>>
      const passed = checked.filter(Result.isSuccess).map((c) => c.success)
      if (passed.length === 0) return checked
      const refusals = yield* guard.refusals(passed)
      let k = 0
      return checked.map((c): Result.Result<Candidate, Rejection | CausalLogError> => {
        if (Result.isFailure(c)) return c
        const refusal = refusals[k++] ?? null
        return refusal === null ? c : Result.fail(refusal)
      })
    })

    // Steps 1-4 for each value, in order: the stateless checks, then the signature, the
    // authority and the guard.
    const checking = Semaphore.makeUnsafe(CHECKS_AT_ONCE)
    // The clock is read once the permit is held: a submission that waited is checked at its turn's time.
    const check = (values: ReadonlyArray<unknown>) =>
      checking.withPermit(Clock.currentTimeMillis.pipe(
        Effect.flatMap((now) => verify(values, now)),
        Effect.flatMap(authorize),
        Effect.flatMap(guarded)
      ))
    const countFailure = (e: Rejection | CausalLogError) => e._tag === "CausalLogError" ? Effect.void : countRejection(e)
    const verify = Effect.fnUntraced(function*(values: ReadonlyArray<unknown>, now: number) {
      if (!options.verifyOffThread) {
        return values.map((v) => admit(v, now, limits, sha256Text)).map((a) => {
          if (Result.isFailure(a)) return a
          const r = requestOf(a.success)
          return verifier.verify(r.scheme, r.publicKey, r.message, r.signature) ? a : Result.fail(badSignature(a.success))
        })
      }
      // Off the event loop: each chunk goes to the pool as soon as it is decoded, so the pool
      // checks signatures while the event loop decodes the rest of the submission.
      const answers: Array<Fiber.Fiber<ReadonlyArray<boolean>>> = []
      let chunk: Array<VerifyRequest> = []
      const handOff = Effect.suspend(() => {
        const requests = chunk
        chunk = []
        return Effect.forkChild(verifier.verifyMany(requests), { startImmediately: true })
      })
      const admitted: Array<Result.Result<Candidate, Rejection>> = []
      for (const v of values) {
        const a = admit(v, now, limits, sha256Text)
        admitted.push(a)
        if (Result.isFailure(a)) continue
        chunk.push(requestOf(a.success))
        if (chunk.length === VERIFY_CHUNK) {
          answers.push(yield* handOff)
          // Give the event loop back between chunks (see CHECKS_AT_ONCE).
          yield* Effect.yieldNow
        }
      }
      if (chunk.length > 0) answers.push(yield* handOff)
      const oks = (yield* Fiber.joinAll(answers)).flat()
      let k = 0
      return admitted.map((a) => {
        if (Result.isFailure(a)) return a
        return oks[k++] === true ? a : Result.fail(badSignature(a.success))
      })
    })

    // One wake-up for a whole submission: its jobs settle into one array, and the submitter
    // resumes once, when the last is in (not once per message).
    const collect = (count: number) => {
      const outcomes: Array<JobOutcome> = []
      const all = Deferred.makeUnsafe<ReadonlyArray<JobOutcome>>()
      let remaining = count
      const doneAt = (i: number) => (outcome: JobOutcome) => {
        outcomes[i] = outcome
        if (--remaining === 0) Deferred.doneUnsafe(all, Exit.succeed(outcomes))
      }
      return { all, doneAt }
    }

    const jobFor = (candidate: Candidate, done: (outcome: JobOutcome) => void, client?: AdmissionClient): Job => ({
      _tag: "Job",
      candidate,
      done,
      charged: false,
      queued: false,
      client
    })

    // Steps 1-4, then the writer: one result per value, in order. With `bounded`, only as many
    // values as the queue has room for are taken (the rest are answered IngestBusy unchecked),
    // each holding a place from now until the writer takes it (or its checks refuse it).
    const submitAll = Effect.fnUntraced(function*(values: ReadonlyArray<unknown>, bounded: boolean, client?: AdmissionClient) {
      const room = bounded ? Math.max(0, Math.min(values.length, options.maxQueued - queued)) : values.length
      let reserved = bounded ? room : 0
      queued += reserved
      const release = Effect.suspend(() => {
        if (reserved === 0) return Effect.void
        queued -= reserved
        reserved = 0
        return Metric.update(queuedGauge, queued)
      })
      return yield* Effect.gen(function*() {
        if (bounded) yield* Metric.update(queuedGauge, queued)
        const checked = yield* check(room === values.length ? values : values.slice(0, room))
        const out = new Array<OfferResult>(values.length)
        const jobs: Array<Job> = []
        const at: Array<number> = []
        const { all, doneAt } = collect(checked.filter(Result.isSuccess).length)
        for (let i = 0; i < checked.length; i++) {
          const c = checked[i] as Result.Result<Candidate, Rejection | CausalLogError>
          if (Result.isFailure(c)) {
            yield* countFailure(c.failure)
            out[i] = Result.fail(c.failure)
          } else {
            const job = jobFor(c.success, doneAt(at.length), client)
            job.queued = bounded
            jobs.push(job)
            at.push(i)
          }
        }
        if (room < values.length) {
          // One error for all of them: building one per message (its stack included) held the
          // event loop for 150 ms under a flood of full batches.
          const busy = Result.fail(new IngestBusy({ reason: `the ingest queue holds its limit of ${options.maxQueued} messages; retry later`, retryAfterMs: BUSY_RETRY_MS }))
          out.fill(busy, room)
        }
        // The places of refused messages are free again; the others pass to the writer with their jobs.
        if (bounded) {
          queued -= reserved - jobs.length
          reserved = 0
          yield* Metric.update(queuedGauge, queued)
        }
        if (jobs.length === 0) return out
        // One offer for the whole batch, so the writer takes it in as few transactions as maxAppend allows.
        yield* Queue.offerAll(queue, jobs)
        const outcomes = yield* Deferred.await(all)
        // The writer settles a whole append's submitters at once, each resumed inline in its
        // turn; yielding here leaves them a wake-up each, and their answers (encoding, the
        // socket write) go through the scheduler's queue, a turn's budget at a time.
        yield* Effect.yieldNow
        for (let k = 0; k < at.length; k++) {
          const o = outcomes[k] as JobOutcome
          out[at[k] as number] = Exit.isSuccess(o) ? Result.succeed(o.value) : yield* Effect.result(o)
        }
        return out
      }).pipe(Effect.ensuring(release))
    })

    const service: IngestService = {
      submit: Effect.fn("Ingest.submit")(function*(value: unknown) {
        const checked = (yield* check([value]))[0] as Result.Result<Candidate, Rejection | CausalLogError>
        if (Result.isFailure(checked)) {
          yield* countFailure(checked.failure)
          return yield* Effect.fail(checked.failure)
        }
        const { all, doneAt } = collect(1)
        yield* Queue.offer(queue, jobFor(checked.success, doneAt(0)))
        const outcomes = yield* Deferred.await(all)
        yield* Effect.yieldNow // as in submitAll
        return yield* (outcomes[0] as JobOutcome)
      }),
      submitMany: Effect.fn("Ingest.submitMany")(function*(values: ReadonlyArray<unknown>) {
        return (yield* submitAll(values, false)) as ReadonlyArray<SubmitResult>
      }),
      offerMany: Effect.fn("Ingest.offerMany")(function*(values: ReadonlyArray<unknown>, client?: AdmissionClient) {
        return yield* submitAll(values, true, client)
      }),
      offer: Effect.fn("Ingest.submit")(function*(value: unknown, client?: AdmissionClient) {
        return (yield* submitAll([value], true, client))[0] as OfferResult
      }),
      clock: Effect.sync(() => clock),
      pending: Effect.sync(() => held.size),
      pendingOf: (client) => Effect.sync(() => heldByClient.get(client) ?? 0)
    }
    return service
  })

/** The pipeline as a layer over CausalLog and SignatureVerifier. */
export const layer = (options: IngestOptions = defaultOptions) => Layer.effect(Ingest, make(options))
