/**
 * Random histories of intents (plain and committed, revealed on time, late, wrongly or never),
 * seals and auction bids, folded by the operators projection. Invariants: two operators never
 * hold an order for overlapping times; a refused intent's holder came first in the log;
 * nothing stays pending across a seal; each settled auction's winner is its highest revealed
 * bid (ties to the earlier one) and no bid stays committed; and a snapshot taken anywhere
 * decodes, re-encodes to the same text and folds on to the same digest as the full fold.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { bidCommitment } from "../../src/domain/operators/Auction.ts"
import { intentCommitment } from "../../src/domain/operators/Intents.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { auctionOf, makeOperators, type OperatorsState } from "../../src/projections/Operators/Operators.ts"
import { digestOf, serialize } from "../../src/projections/Projection.ts"
import { testKey } from "../support/fixtures.ts"
import { handLog, intent, salt } from "./support.ts"

const instance = testKey("instance")
const operators = ["p", "q", "r", "s", "t"].map((l) => testKey(l)) as ReadonlyArray<KeyFile>
const Operators = makeOperators({ instanceKey: instance.publicKey })
const fold = (records: ReadonlyArray<LogRecord>, from: typeof Operators.initialState = Operators.initialState) => records.reduce(Operators.evolve, from)

type Reveal = { readonly how: "ok" | "bad" | "never"; readonly seals: number; readonly delay: number }
type Op =
  | { kind: "plain"; op: number; orders: Array<number>; start: number; length: number }
  | { kind: "commit"; op: number; orders: Array<number>; start: number; length: number; reveal: Reveal }
  | { kind: "seal"; advance: number }
  | { kind: "bid"; op: number; amount: bigint; ahead: boolean; early: boolean; reveal: Reveal }

const who = fc.integer({ min: 0, max: 2 })
const orders = fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 })
const window = {
  start: fc.integer({ min: -2000, max: 10_000 }),
  length: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1000, max: 30_000 }) }, { weight: 1, arbitrary: fc.integer({ min: -10, max: 400_000 }) })
}
/** A reveal: how, after how many more seals (0: in the same round), then after how many more steps. */
const reveal = (seals: fc.Arbitrary<number>): fc.Arbitrary<Reveal> =>
  fc.record({ how: fc.constantFrom("ok" as const, "ok" as const, "ok" as const, "bad" as const, "never" as const), seals, delay: fc.integer({ min: 0, max: 3 }) })
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("plain" as const), op: who, orders, ...window }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("commit" as const), op: who, orders, ...window, reveal: reveal(fc.constantFrom(0, 0, 0, 1)) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("seal" as const), advance: fc.integer({ min: 0, max: 15_000 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("bid" as const), op: fc.integer({ min: 0, max: 4 }), amount: fc.bigInt({ min: 0n, max: 5n }), ahead: fc.integer({ min: 0, max: 5 }).map((n) => n === 0), early: fc.boolean(), reveal: reveal(fc.constantFrom(1, 1, 1, 2)) }) }
)

/** Build the log of a history; reveals are appended once enough seals have passed, then after a few more steps. */
const build = (ops: ReadonlyArray<Op>): ReadonlyArray<LogRecord> => {
  const log = handLog({ signed: false })
  // All but the last are registered operators: the last one's intents are ignored.
  for (const o of operators.slice(0, -1)) log.append(instance, "OperatorRegistered", { operator: o.publicKey })
  let now = 1_000_000
  let batch = 0
  let queue: Array<{ seals: number; delay: number; run: () => void }> = []
  const schedule = (r: Reveal, run: () => void) => {
    if (r.how !== "never") queue.push({ seals: batch + r.seals, delay: r.delay, run })
  }
  ops.forEach((o, step) => {
    const due = queue.filter((q) => batch >= q.seals && q.delay === 0)
    queue = queue.filter((q) => !due.includes(q)).map((q) => (batch >= q.seals ? { ...q, delay: q.delay - 1 } : q))
    for (const q of due) q.run()
    switch (o.kind) {
      case "plain":
        log.append(operators[o.op]!, "ComputationIntent", intent(o.orders, Math.max(0, now + o.start), Math.max(0, now + o.start + o.length)))
        break
      case "commit": {
        const key = operators[o.op]!
        const body = intent(o.orders, Math.max(0, now + o.start), Math.max(0, now + o.start + o.length))
        const s = salt(`c${step}`)
        const c = log.append(key, "IntentCommitment", { commitment: intentCommitment(key.publicKey, body, s) })
        schedule(o.reveal, () => log.append(key, "IntentReveal", { commitmentId: c.id, intent: body, salt: o.reveal.how === "ok" ? s : salt("bad") }))
        break
      }
      case "seal":
        now += o.advance
        log.append(instance, "BatchSealed", { batch: batch++, sealedAt: now, beaconRound: null })
        break
      case "bid": {
        const key = operators[o.op]!
        const target = batch + (o.ahead ? 1 : 0)
        const s = salt(`b${step}`)
        const c = log.append(key, "AuctionBidCommitment", { batch: target, commitment: bidCommitment(key.publicKey, target, o.amount, s) })
        const open = () => log.append(key, "AuctionBidReveal", { commitmentId: c.id, amount: o.amount.toString(), salt: o.reveal.how === "bad" ? salt("bad") : s })
        if (o.early) open()
        schedule(o.reveal, open)
        break
      }
    }
  })
  for (const q of queue) q.run()
  return log.records
}

const checkInvariants = (s: OperatorsState, records: ReadonlyArray<LogRecord>) => {
  const all = [...s.intents.intents].map(([, i]) => i)
  // Only registered operators' intents are folded.
  for (const i of all) expect(i.operator).not.toBe(operators.at(-1)?.publicKey)
  const granted = all.filter((i) => i.status === "held" || i.status === "expired")
  for (const a of granted) {
    for (const b of granted) {
      if (a.operator === b.operator || a.body === null || b.body === null) continue
      if (!a.body.orderIds.some((o) => b.body!.orderIds.includes(o))) continue
      const disjoint = a.body.windowEnd <= b.heldFrom! || b.body.windowEnd <= a.heldFrom!
      expect(disjoint, `${a.id} and ${b.id} hold a shared order at once`).toBe(true)
    }
  }
  const lastSeal = records.filter((r) => r.type === "BatchSealed").at(-1)?.offset ?? -1
  for (const i of all) {
    if (i.status === "pending") expect(i.offset).toBeGreaterThan(lastSeal)
    if (i.conflictWith !== null) {
      const holder = all.find((h) => h.id === i.conflictWith)!
      expect(holder.offset).toBeLessThan(i.offset)
      expect(holder.operator).not.toBe(i.operator)
      // A real conflict: a shared order, and the holder's time overlaps what the intent asked for.
      expect(holder.body!.orderIds.some((o) => i.body!.orderIds.includes(o))).toBe(true)
      expect(Math.max(holder.heldFrom!, i.body!.windowStart) < Math.min(holder.body!.windowEnd, i.body!.windowEnd)).toBe(true)
    }
    if (i.status === "held") expect(i.body!.windowEnd).toBeGreaterThan(s.now)
  }
  for (const [batch, auction] of s.auctions.auctions) {
    if (auction.phase !== "settled") continue
    const bids = auctionOf(s, batch)!.bids
    for (const b of bids) expect(b.status).not.toBe("committed")
    const revealed = bids.filter((b) => b.status === "revealed")
    const best = revealed.reduce<(typeof revealed)[number] | null>((w, b) => (w === null || BigInt(b.amount!) > BigInt(w.amount!) ? b : w), null)
    expect(auction.winner).toBe(best?.id ?? null)
  }
}

describe("operators projection over random histories", () => {
  it("keeps its invariants, and a snapshot anywhere resumes to the full fold's digest", () => {
    fc.assert(fc.property(fc.array(op, { minLength: 20, maxLength: 60 }), fc.nat(), (ops, cutSeed) => {
      const records = build(ops)
      const full = fold(records)
      checkInvariants(full, records)
      const cut = cutSeed % (records.length + 1)
      const mid = fold(records.slice(0, cut))
      const text = serialize(Operators, mid)
      const restored = Operators.decode(JSON.parse(text))
      expect(serialize(Operators, restored)).toBe(text)
      expect(digestOf(Operators, fold(records.slice(cut), restored))).toBe(digestOf(Operators, full))
    }), { numRuns: 250 })
  })
})
