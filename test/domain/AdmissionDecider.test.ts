/**
 * The ingest writer's pure decider, without I/O: each rule on its own, then a property that
 * its verdicts over whole batches equal those of the rules as they were written inline in
 * the writer before (a reference copy below, with the store as a synchronous table).
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { type AdmissionDecision, type AdmissionPolicy, type AdmissionState, type AdmitMessage, decide } from "../../src/domain/AdmissionDecider.ts"
import type { Envelope } from "../../src/domain/Envelope.ts"
import { isAboveDependencies, isTooFarAhead, receive } from "../../src/domain/Lamport.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { DuplicateMessage, InvalidLamport, NonceReplayed, RateLimited, type Rejection, SenderBanned } from "../../src/domain/Rejection.ts"
import { MAX_OPEN_INTENTS } from "../../src/domain/operators/OperatorRegistry.ts"
import { type TokenBucket, take } from "../../src/domain/TokenBucket.ts"
import { envelope, testKey } from "../support/fixtures.ts"

const template = envelope(testKey("alice"))
const msg = (fields: { sender?: string; nonce?: number; lamport?: number; deps?: ReadonlyArray<string> } = {}): Envelope => ({
  ...template,
  sender: (fields.sender ?? "alice") as Envelope["sender"], // the decider reads senders as opaque keys
  nonce: fields.nonce ?? 1,
  lamport: fields.lamport ?? 1,
  deps: (fields.deps ?? []) as ReadonlyArray<MessageId>
})
const command = (e: Envelope, id = "m", charged = false): AdmitMessage => ({ envelope: e, id, charged })

const policy: AdmissionPolicy = {
  maxLamportAhead: 100,
  rate: { ratePerSec: 10, burst: 2 },
  pendingLimit: 1,
  pendingTimeoutMs: 5000,
  exempt: new Set(["instance"])
}
const state = (over: Partial<AdmissionState> = {}): AdmissionState => ({
  clock: 0,
  highestNonce: new Map([["alice", 0], ["instance", 0]]),
  buckets: new Map(),
  accepted: new Map(),
  logged: new Map(),
  asked: new Set(),
  batchIds: new Set(),
  held: 0,
  ...over
})
const rejectionOf = (d: AdmissionDecision): Rejection => {
  if (d._tag !== "Rejected") throw new Error(`expected a rejection, got ${d._tag}`)
  return d.rejection
}

describe("AdmissionDecider.decide", () => {
  it("accepts a fresh message, charges its sender and receives its lamport", () => {
    const d = decide(command(msg({ lamport: 7 })), state({ clock: 3 }), policy, 1000)
    expect(d).toEqual({ _tag: "Accepted", clock: 8, charge: { sender: "alice", bucket: { tokens: 1, updatedAt: 1000 }, charged: true } })
  })

  it("refuses an operator's message from a key that is not an operator, or an intent beyond the open bound, charging nothing", () => {
    const operators = { isOperator: (k: string) => k === "op", openIntents: (k: string) => (k === "op" ? MAX_OPEN_INTENTS : 0) }
    const typed = (type: string, sender: string) => ({ ...msg({ sender }), type })
    for (const type of ["MatchProposal", "FillReport", "ComputationIntent", "IntentCommitment"]) {
      const d = decide(command(typed(type, "alice")), state({ operators }), policy, 0)
      expect(d).toMatchObject({ _tag: "Rejected", charge: undefined, rejection: { _tag: "OperatorNotRegistered", type } })
    }
    const full = decide(command(typed("ComputationIntent", "op")), state({ operators, highestNonce: new Map([["op", 0]]) }), policy, 0)
    expect(full).toMatchObject({ _tag: "Rejected", charge: undefined, rejection: { _tag: "TooManyOpenIntents", open: MAX_OPEN_INTENTS, limit: MAX_OPEN_INTENTS } })
    // An operator's proposal, anyone's other types, and no registry at all (ingest alone): no such check.
    expect(decide(command(typed("MatchProposal", "op")), state({ operators, highestNonce: new Map([["op", 0]]) }), policy, 0)._tag).toBe("Accepted")
    expect(decide(command(typed("UserOrder", "alice")), state({ operators }), policy, 0)._tag).toBe("Accepted")
    expect(decide(command(typed("MatchProposal", "alice")), state(), policy, 0)._tag).toBe("Accepted")
  })

  it("refuses a banned sender's message, charging nothing; the instance's own key is never scored down", () => {
    const scores = (k: string) => (k === "alice" || k === "instance" ? { score: 20, rateFactor: 0 } : { score: 100, rateFactor: 1 })
    const d = decide(command(msg()), state({ scores }), policy, 0)
    expect(d).toMatchObject({ _tag: "Rejected", charge: undefined, rejection: { _tag: "SenderBanned", score: 20 } })
    expect(rejectionOf(d)).toBeInstanceOf(SenderBanned)
    expect(rejectionOf(d).reason).toContain("score is 20, below 25")
    expect(decide(command(msg({ sender: "instance" })), state({ scores }), policy, 0)._tag).toBe("Accepted")
    // Without standings (ingest alone) nobody is scored.
    expect(decide(command(msg()), state(), policy, 0)._tag).toBe("Accepted")
  })

  it("scales a low-scored sender's rate and burst by its factor", () => {
    const wide = { ...policy, rate: { ratePerSec: 10, burst: 8 } }
    const burstOf = (rateFactor: number): number => {
      const buckets = new Map<string, TokenBucket>()
      const s = state({ buckets, scores: () => ({ score: 40, rateFactor }) })
      for (let n = 0; ; n++) {
        const d = decide(command(msg({ nonce: n + 1 })), s, wide, 0)
        if (d._tag !== "LookupNeeded" && d.charge !== undefined) buckets.set(d.charge.sender, d.charge.bucket)
        if (d._tag === "Rejected") {
          expect(rejectionOf(d)).toBeInstanceOf(RateLimited)
          return n
        }
      }
    }
    expect([burstOf(1), burstOf(0.5), burstOf(0.25), burstOf(0.01)]).toEqual([8, 4, 2, 1])
    const d = decide(command(msg()), state({ buckets: new Map([["alice", { tokens: 0, updatedAt: 0 }]]), scores: () => ({ score: 40, rateFactor: 0.25 }) }), wide, 0)
    expect(rejectionOf(d)).toMatchObject({ _tag: "RateLimited", retryAfterMs: 400 })
    expect(rejectionOf(d).reason).toBe("sender exceeds 2.5 messages/s (burst 2) (its score 40 keeps 2.5 of 10)")
  })

  it("refuses an id accepted earlier in the batch as a duplicate, charging nothing", () => {
    const d = decide(command(msg({ nonce: 5 }), "m"), state({ accepted: new Map([["m", { lamport: 1 }]]) }), policy, 0)
    expect(d).toMatchObject({ _tag: "Rejected", charge: undefined })
    expect(rejectionOf(d)).toBeInstanceOf(DuplicateMessage)
  })

  it("on a nonce at or below the highest, asks the store once, then says duplicate or replay", () => {
    const e = msg({ nonce: 3 })
    const s = state({ highestNonce: new Map([["alice", 3]]) })
    expect(decide(command(e), s, policy, 0)).toEqual({ _tag: "LookupNeeded", ids: ["m"] })
    const replay = rejectionOf(decide(command(e), { ...s, asked: new Set(["m"]) }, policy, 0))
    expect(replay).toBeInstanceOf(NonceReplayed)
    expect(replay).toMatchObject({ nonce: 3, highest: 3 })
    const dup = decide(command(e), { ...s, logged: new Map([["m", { lamport: 1 }]]) }, policy, 0)
    expect(rejectionOf(dup)).toBeInstanceOf(DuplicateMessage)
  })

  it("a sender without a known nonce counts as -1: nonce 0 passes", () => {
    expect(decide(command(msg({ sender: "carol", nonce: 0 })), state(), policy, 0)._tag).toBe("Accepted")
  })

  it("rate limits a sender whose bucket is empty and keeps the refilled bucket; exempt and charged messages skip the bucket", () => {
    const empty: TokenBucket = { tokens: 0, updatedAt: 1000 }
    const s = state({ buckets: new Map([["alice", empty], ["instance", empty]]) })
    const d = decide(command(msg()), s, policy, 1050)
    expect(rejectionOf(d)).toBeInstanceOf(RateLimited)
    expect(rejectionOf(d)).toMatchObject({ retryAfterMs: 50 })
    expect(d).toMatchObject({ charge: { sender: "alice", bucket: { tokens: 0.5, updatedAt: 1050 }, charged: false } })
    expect(decide(command(msg(), "m", true), s, policy, 1050)).toEqual({ _tag: "Accepted", clock: 2, charge: undefined })
    expect(decide(command(msg({ sender: "instance" })), s, policy, 1050)).toEqual({ _tag: "Accepted", clock: 2, charge: undefined })
  })

  it("refuses a lamport too far ahead of the clock, still charging the sender", () => {
    const d = decide(command(msg({ lamport: 111 })), state({ clock: 10 }), policy, 0)
    expect(rejectionOf(d)).toBeInstanceOf(InvalidLamport)
    expect(rejectionOf(d).reason).toContain("more than 100 ahead")
    expect(d).toMatchObject({ charge: { charged: true } })
    expect(decide(command(msg({ lamport: 110 })), state({ clock: 10 }), policy, 0)._tag).toBe("Accepted")
  })

  it("holds a message whose dependencies are unknown, unless the held buffer is full", () => {
    const e = msg({ lamport: 5, deps: ["a", "b"] })
    const known = state({ logged: new Map([["a", { lamport: 1 }]]) })
    expect(decide(command(e), known, policy, 0)).toMatchObject({ _tag: "Held", missing: ["b"], charge: { charged: true } })
    const full = decide(command(e), { ...known, held: 1 }, policy, 0)
    expect(rejectionOf(full)).toBeInstanceOf(RateLimited)
    expect(rejectionOf(full)).toMatchObject({ retryAfterMs: 5000 })
  })

  it("holds at most a client's share, times its weight, whatever its senders: the instance's own messages are never held to one", () => {
    const shared: AdmissionPolicy = { ...policy, pendingLimit: 100, pendingPerSender: 10, pendingPerClient: 3 }
    const held = new Map([["address:192.0.2.1", 3], ["token:relayer", 5]])
    const s = state({ held: 8, heldBy: () => 0, heldByClient: (k) => held.get(k) ?? 0 })
    const e = msg({ lamport: 5, deps: ["b"] })
    const from = (key: string, weight?: number): AdmitMessage => ({ ...command(e), client: weight === undefined ? { key } : { key, weight } })
    // A fresh sender from a full address: refused, naming the client and its share.
    const full = decide(from("address:192.0.2.1"), s, shared, 0)
    expect(rejectionOf(full)).toEqual(
      new RateLimited({ reason: "the client address:192.0.2.1 already has 3 messages waiting for dependencies, its share of the buffer (3)", retryAfterMs: 5000 })
    )
    expect(full).toMatchObject({ charge: { sender: "alice", charged: true } })
    // Another address, and the instance's own (no client): held.
    expect(decide(from("address:192.0.2.2"), s, shared, 0)).toMatchObject({ _tag: "Held", missing: ["b"] })
    expect(decide(command(e), s, shared, 0)).toMatchObject({ _tag: "Held", missing: ["b"] })
    // A relayer's token of weight 2 holds 6: 5 held, one more, not two.
    expect(decide(from("token:relayer", 2), s, shared, 0)._tag).toBe("Held")
    expect(rejectionOf(decide(from("token:relayer", 2), { ...s, heldByClient: () => 6 }, shared, 0)).reason).toContain("its share of the buffer (6)")
    // A weight below 1 counts as 1; no share beyond the whole buffer; no per-client bound when the policy keeps none.
    expect(rejectionOf(decide(from("token:relayer", 0.1), s, shared, 0)).reason).toContain("(3)")
    expect(rejectionOf(decide(from("token:big", 1000), { ...s, heldByClient: () => 100 }, shared, 0)).reason).toContain("(100)")
    expect(decide(from("address:192.0.2.1"), s, { ...shared, pendingPerClient: undefined }, 0)._tag).toBe("Held")
  })

  it("asks the store about a missing dependency that is a message of the batch, once", () => {
    const e = msg({ lamport: 5, deps: ["a", "b"] })
    const s = state({ batchIds: new Set(["b"]) })
    expect(decide(command(e), s, policy, 0)).toEqual({ _tag: "LookupNeeded", ids: ["a", "b"] })
    expect(decide(command(e), { ...s, asked: new Set(["a", "b"]) }, policy, 0)).toMatchObject({ _tag: "Held", missing: ["a", "b"] })
  })

  it("refuses a lamport not above every dependency's, whether accepted in the batch or logged", () => {
    const s = state({ accepted: new Map([["a", { lamport: 4 }]]), logged: new Map([["b", { lamport: 6 }]]) })
    const d = decide(command(msg({ lamport: 6, deps: ["a", "b"] })), s, policy, 0)
    expect(rejectionOf(d)).toBeInstanceOf(InvalidLamport)
    expect(rejectionOf(d).reason).toBe("lamport 6 is not above every dependency's (6)")
    expect(decide(command(msg({ lamport: 7, deps: ["a", "b"] })), s, policy, 0)).toMatchObject({ _tag: "Accepted", clock: 8 })
  })

  it("is pure: the same command and state give the same decision, and the state is not touched", () => {
    const s = state({ buckets: new Map([["alice", { tokens: 1, updatedAt: 0 }]]) })
    const before = JSON.stringify([...(s.buckets as Map<string, TokenBucket>)])
    expect(decide(command(msg()), s, policy, 10)).toEqual(decide(command(msg()), s, policy, 10))
    expect(JSON.stringify([...(s.buckets as Map<string, TokenBucket>)])).toBe(before)
  })
})

// ---------------------------------------------------------------------------------------
// The rules as the writer ran them inline before the decider (src/services/Ingest.ts at
// 105b336), with the store as a table and the outcome of each message as a string.
// ---------------------------------------------------------------------------------------

interface World {
  readonly store: ReadonlyMap<string, { lamport: number }>
  readonly clock: number
  readonly nonces: ReadonlyMap<string, number>
  readonly buckets: ReadonlyMap<string, TokenBucket>
  readonly held: number
}
interface Submitted {
  readonly id: string
  readonly e: Envelope
  readonly charged: boolean
}

const outcome = (r: Rejection | "held" | "accepted") => (typeof r === "string" ? r : `${r._tag}: ${r.reason}`)

const oldWriter = (w: World, jobs: ReadonlyArray<Submitted>, now: number): Array<string> => {
  const nonces = new Map(w.nonces)
  const buckets = new Map(w.buckets)
  const refs = new Map<string, { lamport: number }>()
  const batchIds = new Set(jobs.map((j) => j.id))
  for (const j of jobs) for (const d of j.e.deps) if (!batchIds.has(d) && w.store.has(d)) refs.set(d, w.store.get(d) as { lamport: number })
  const inBatch = new Map<string, { lamport: number }>()
  const batchNonces = new Map<string, number>()
  let batchClock = w.clock
  let held = w.held
  const out: Array<string> = []
  for (const job of jobs) {
    const { e, id } = job
    if (inBatch.has(id)) {
      out.push(outcome(new DuplicateMessage({ reason: `message ${id} is already in the log`, id })))
      continue
    }
    const highest = batchNonces.get(e.sender) ?? nonces.get(e.sender) ?? -1
    if (e.nonce <= highest) {
      const logged = refs.has(id) || w.store.has(id)
      out.push(outcome(logged
        ? new DuplicateMessage({ reason: `message ${id} is already in the log`, id })
        : new NonceReplayed({ reason: `nonce ${e.nonce} is not above the sender's highest accepted nonce ${highest}`, nonce: e.nonce, highest })))
      continue
    }
    if (!job.charged && !policy.exempt.has(e.sender)) {
      const t = take(buckets.get(e.sender), now, policy.rate)
      buckets.set(e.sender, t.bucket)
      if (!t.ok) {
        out.push(outcome(new RateLimited({ reason: `sender exceeds ${policy.rate.ratePerSec} messages/s (burst ${policy.rate.burst})`, retryAfterMs: t.retryAfterMs })))
        continue
      }
    }
    if (isTooFarAhead(e.lamport, batchClock, policy.maxLamportAhead)) {
      out.push(outcome(new InvalidLamport({ reason: `lamport ${e.lamport} is more than ${policy.maxLamportAhead} ahead of this instance's clock ${batchClock}` })))
      continue
    }
    let missing = e.deps.filter((d) => !inBatch.has(d) && !refs.has(d))
    if (missing.some((d) => batchIds.has(d))) {
      for (const d of missing) if (w.store.has(d)) refs.set(d, w.store.get(d) as { lamport: number })
      missing = missing.filter((d) => !refs.has(d))
    }
    if (missing.length > 0) {
      if (held >= policy.pendingLimit) out.push(outcome(new RateLimited({ reason: `${held} messages already wait for dependencies`, retryAfterMs: policy.pendingTimeoutMs })))
      else {
        held++
        out.push("held")
      }
      continue
    }
    const depLamports = e.deps.map((d) => (inBatch.get(d) ?? (refs.get(d) as { lamport: number })).lamport)
    if (!isAboveDependencies(e.lamport, depLamports)) {
      out.push(outcome(new InvalidLamport({ reason: `lamport ${e.lamport} is not above every dependency's (${Math.max(...depLamports)})` })))
      continue
    }
    inBatch.set(id, { lamport: e.lamport })
    batchNonces.set(e.sender, e.nonce)
    batchClock = receive(batchClock, e.lamport)
    out.push("accepted")
  }
  return out
}

// The writer's loop around the decider, with the same table as the store.
const newWriter = (w: World, jobs: ReadonlyArray<Submitted>, now: number): Array<string> => {
  const buckets = new Map(w.buckets)
  const refs = new Map<string, { lamport: number }>()
  const batchIds = new Set(jobs.map((j) => j.id))
  for (const j of jobs) for (const d of j.e.deps) if (!batchIds.has(d) && w.store.has(d)) refs.set(d, w.store.get(d) as { lamport: number })
  const inBatch = new Map<string, { lamport: number }>()
  const batchNonces = new Map<string, number>()
  const asked = new Set<string>()
  let held = w.held
  let clock = w.clock
  const out: Array<string> = []
  for (const job of jobs) {
    const s: AdmissionState = {
      clock,
      highestNonce: { get: (x) => batchNonces.get(x) ?? w.nonces.get(x), has: (x) => batchNonces.has(x) || w.nonces.has(x) },
      buckets,
      accepted: inBatch,
      logged: refs,
      asked,
      batchIds,
      held
    }
    let d = decide({ envelope: job.e, id: job.id, charged: job.charged }, s, policy, now)
    while (d._tag === "LookupNeeded") {
      for (const id of d.ids) {
        asked.add(id)
        if (w.store.has(id)) refs.set(id, w.store.get(id) as { lamport: number })
      }
      d = decide({ envelope: job.e, id: job.id, charged: job.charged }, s, policy, now)
    }
    if (d.charge !== undefined) buckets.set(d.charge.sender, d.charge.bucket)
    if (d._tag === "Rejected") out.push(outcome(d.rejection))
    else if (d._tag === "Held") {
      held++
      out.push("held")
    } else {
      inBatch.set(job.id, { lamport: job.e.lamport })
      batchNonces.set(job.e.sender, job.e.nonce)
      clock = d.clock
      out.push("accepted")
    }
  }
  return out
}

describe("AdmissionDecider against the writer's former inline rules", () => {
  const ids = ["a", "b", "c", "d", "e", "f"]
  const senders = ["alice", "bob", "instance"]
  const arbJob = fc.record({
    id: fc.constantFrom(...ids),
    sender: fc.constantFrom(...senders),
    nonce: fc.integer({ min: 0, max: 4 }),
    lamport: fc.integer({ min: 0, max: 130 }),
    deps: fc.uniqueArray(fc.constantFrom(...ids), { maxLength: 3 }).map((d) => d.sort()),
    charged: fc.boolean()
  })
  const arbWorld = fc.record({
    store: fc.dictionary(fc.constantFrom(...ids), fc.integer({ min: 0, max: 20 }), { maxKeys: 4 }),
    clock: fc.integer({ min: 0, max: 40 }),
    nonces: fc.dictionary(fc.constantFrom(...senders), fc.integer({ min: -1, max: 3 })),
    buckets: fc.dictionary(fc.constantFrom(...senders), fc.record({ tokens: fc.integer({ min: 0, max: 2 }), updatedAt: fc.integer({ min: 900, max: 1000 }) })),
    held: fc.integer({ min: 0, max: 1 })
  })

  it("gives the same verdict, reason included, for every message of every batch", () => {
    let decided = 0
    fc.assert(
      fc.property(arbWorld, fc.array(arbJob, { minLength: 1, maxLength: 8 }), (world, raw) => {
        const w: World = {
          store: new Map(Object.entries(world.store).map(([k, v]) => [k, { lamport: v }])),
          clock: world.clock,
          nonces: new Map(Object.entries(world.nonces)),
          buckets: new Map(Object.entries(world.buckets)),
          held: world.held
        }
        const jobs = raw.map((j) => ({ id: j.id, charged: j.charged, e: msg(j) }))
        const expected = oldWriter(w, jobs, 1000)
        expect(newWriter(w, jobs, 1000)).toEqual(expected)
        decided += expected.length
      }),
      { numRuns: 2000 }
    )
    expect(decided).toBeGreaterThan(2000)
  })
})
