/**
 * Settlement in process: operators' MatchProposals and FillReports, decided by the
 * settlement service from the mempool and operators projections and published as
 * OrdersMatched / MatchRefused / OrderFilled / FillRefused naming their input. Accepted
 * proposals move orders to matched, then filled; every refusal carries its reason; forged
 * decisions change nothing; a restarted service decides nothing twice; replay of the log
 * reaches the live digests. A cancellation folded between a decision and its OrdersMatched
 * makes the mempool refuse the whole verdict, and settlement refuses a fill report on that
 * proposal with the fold's reason. A proposal settlement refused shows its refusal in the
 * mempool's status view. Only registered operators' proposals, reports and intents reach the
 * log: anyone else's are refused at ingest (OperatorNotRegistered) and cost no verdict, and a
 * non-operator's proposal already in the log (an older version's) gets none either.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Result, Schema } from "effect"
import { TestClock } from "effect/testing"
import { entryOf, type MempoolState, statusOf } from "../../src/domain/mempool/MempoolFold.ts"
import { statusView } from "../../src/domain/mempool/MempoolViews.ts"
import { commitmentOf } from "../../src/domain/mempool/OrderBytes.ts"
import { decideMatch } from "../../src/domain/settlement/SettlementRules.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { MAX_OPEN_INTENTS } from "../../src/domain/operators/OperatorRegistry.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { CausalLog, type LogRecord } from "../../src/ports/CausalLog.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import { makeOperators, type OperatorsState } from "../../src/projections/Operators/Operators.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import * as Author from "../../src/services/Author.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import * as Sealer from "../../src/services/Sealer.ts"
import * as Settlement from "../../src/services/Settlement.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { instance, stack, submit } from "./stack.ts"
import { order, salt } from "./support.ts"

const T0 = 5_000_000
const mempool = makeMempool({ instanceKey: instance.publicKey })
const operators = makeOperators({ instanceKey: instance.publicKey })
const layer = Settlement.layer.pipe(Layer.provideMerge(stack({ windowMs: 12_000, revealWindowMs: 24_000 })))

const users = Array.from({ length: 4 }, (_, i) => testKey(`settle-user-${i}`))
const op = testKey("settle-operator")
const rival = testKey("settle-rival")

/** The instance registers the operators and the projections fold it. */
const register = (...keys: ReadonlyArray<KeyFile>) =>
  Effect.gen(function*() {
    const author = yield* Author.Author
    const runner = yield* ProjectionRunner.Projections
    for (const k of keys) {
      const r = yield* author.publish("OperatorRegistered", { operator: k.publicKey })
      yield* runner.awaitOffset(r.offset + 1)
    }
  })

const Decision = Schema.Struct({ type: Schema.String, payload: Schema.Unknown })
const bodyOf = (r: LogRecord) => Schema.decodeUnknownSync(Decision)(JSON.parse(r.body))

/** Submit as `key`, wait for settlement to have handled it, and return the instance's decision on it. */
const send = (key: KeyFile, type: MessageType, payload: unknown, deps: ReadonlyArray<string> = []) =>
  Effect.gen(function*() {
    const settlement = yield* Settlement.Settlement
    const receipt = yield* submit(key, type, payload, { deps })
    yield* settlement.awaitProcessed(receipt.offset + 1)
    const decision = yield* settlement.decisionOf(receipt.id)
    return { id: receipt.id, decision: Option.map(decision, (r) => ({ sender: r.sender, deps: r.deps, ...bodyOf(r) })) }
  })

const view = Effect.gen(function*() {
  const runner = yield* ProjectionRunner.Projections
  return (yield* runner.state(mempool).pipe(Effect.orDie)).state as MempoolState
})

const statusById = (id: string) => Effect.map(view, (s) => statusOf(s, entryOf(s, id)!))

const clearing = (id: string, n: number, extra: { amountIn?: bigint; amountOut?: bigint } = {}) => ({
  orderId: id,
  amountIn: `${extra.amountIn ?? BigInt(7_700_000_000 + n)}`,
  amountOut: `${extra.amountOut ?? BigInt(9_900_000_000 + n)}`
})

describe("settlement", () => {
  it.effect("accepts an intent holder's match and fill, refuses the rest with reasons, ignores forgeries, decides once, and replays to the live digests", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* register(op, rival)
      const sealer = yield* Sealer.Sealer
      const settlement = yield* Settlement.Settlement
      const runner = yield* ProjectionRunner.Projections
      const log = yield* CausalLog

      // Orders: a, b, f, g (g bundled with f), h (its sender cancels it), c (a commitment, never revealed), e (the rival's).
      const a = yield* submit(users[0]!, "UserOrder", order(1))
      const b = yield* submit(users[1]!, "UserOrder", order(2))
      const f = yield* submit(users[2]!, "UserOrder", order(3))
      const g = yield* submit(users[3]!, "UserOrder", { ...order(4), bundle: [f.id] })
      const h = yield* submit(users[0]!, "UserOrder", order(5))
      const c = yield* submit(users[1]!, "OrderCommitment", { commitment: commitmentOf(order(6), salt("c")) })
      const e = yield* submit(users[2]!, "UserOrder", order(7))
      const window = { windowStart: T0, windowEnd: T0 + 200_000 }
      yield* submit(op, "ComputationIntent", { orderIds: [a.id, b.id, f.id, g.id, h.id, c.id], ...window })
      yield* submit(rival, "ComputationIntent", { orderIds: [e.id], ...window })

      // A proposal before the seal: nothing is revealed, no intent is held yet.
      const early = yield* send(op, "MatchProposal", { orders: [clearing(a.id, 1)] })
      expect(Option.getOrThrow(early.decision).type).toBe("MatchRefused")
      expect(Option.getOrThrow(early.decision).payload).toMatchObject({ proposalId: early.id, reason: expect.stringMatching(/committed: its content is not revealed/) })
      // The mempool folds the MatchRefused: the proposal's status view shows the refusal and its reason.
      const earlyRefusal = Option.getOrThrow(yield* settlement.decisionOf(early.id))
      expect(statusView(yield* view, early.id)).toEqual({
        kind: "message",
        id: early.id,
        type: "MatchProposal",
        offset: earlyRefusal.offset,
        accepted: false,
        target: earlyRefusal.id,
        reason: `refused by settlement (MatchRefused ${earlyRefusal.id}): ${(Option.getOrThrow(early.decision).payload as { reason: string }).reason}`
      })

      yield* sealer.tick
      yield* TestClock.adjust("12 seconds")
      expect((yield* sealer.tick).sealed).toBe(0)
      yield* submit(users[0]!, "UserOrderCancellation", { orderId: h.id })

      // The intent holder's proposal at the orders' own rate (b: half of it, at a better rate) is accepted.
      const good = yield* send(op, "MatchProposal", {
        orders: [clearing(a.id, 1), clearing(b.id, 2, { amountIn: 3_850_000_001n, amountOut: 5_000_000_000n })]
      })
      const matched = Option.getOrThrow(good.decision)
      expect(matched).toMatchObject({ type: "OrdersMatched", sender: instance.publicKey, deps: [good.id], payload: { orderIds: [a.id, b.id] } })
      expect(yield* statusById(a.id)).toBe("matched")
      expect(yield* statusById(b.id)).toBe("matched")

      const refusal = (p: unknown, deps: ReadonlyArray<string> = []) =>
        Effect.map(send(op, "MatchProposal", p, deps), (r) => {
          const d = Option.getOrThrow(r.decision)
          expect(d.type).toBe("MatchRefused")
          expect(d.deps).toEqual([r.id])
          return (d.payload as { reason: string }).reason
        })
      expect(yield* refusal({ orders: [clearing(e.id, 7)] })).toMatch(/holds no live intent over order .* another operator holds it/)
      expect(yield* refusal({ orders: [clearing(c.id, 6)] })).toMatch(/is sequenced: its content is not revealed/)
      expect(yield* refusal({ orders: [clearing(h.id, 5)] })).toMatch(/is cancelled, not revealed/)
      expect(yield* refusal({ orders: [clearing(a.id, 1)] })).toMatch(/is matched, not revealed/)
      expect(yield* refusal({ orders: [clearing(f.id, 3, { amountIn: 7_700_000_004n })] })).toMatch(/amountIn 7700000004 exceeds the order's amountIn 7700000003/)
      expect(yield* refusal({ orders: [clearing(f.id, 3, { amountOut: 9_900_000_002n })] })).toMatch(/amountOut 9900000002 .* below the order's minAmountOut 9900000003/)
      expect(yield* refusal({ orders: [clearing(f.id, 3, { amountIn: 0n, amountOut: 0n })] })).toMatch(/amountIn must be positive/)
      expect(yield* refusal({ orders: [clearing(g.id, 4)] })).toMatch(/must execute with its bundle, but .* is not in the proposal/)
      expect(yield* refusal({ orders: [clearing(f.id, 3), clearing(f.id, 3)] })).toMatch(/named twice/)
      const notAProof = yield* submit(op, "UserOrder", order(9))
      expect(yield* refusal({ orders: [clearing(f.id, 3)], proof: notAProof.id }, [notAProof.id])).toMatch(/is not a ProofAnnouncement/)
      expect(yield* refusal({ orders: [clearing(f.id, 3)], proof: notAProof.id })).toMatch(/must be among the proposal's deps/)
      for (const id of [e.id, f.id, g.id]) expect(yield* statusById(id)).toBe("revealed")
      expect(yield* statusById(c.id)).toBe("sequenced")

      // A forged OrdersMatched (not from the instance) changes nothing.
      const forged = yield* submit(op, "OrdersMatched", { orderIds: [f.id, g.id] })
      const afterForgery = yield* view
      expect(afterForgery.outcomes.pipe((o) => [...o].find(([id]) => id === forged.id)?.[1].reason)).toMatch(/only the instance/)
      expect(yield* statusById(f.id)).toBe("revealed")

      // With a ProofAnnouncement of its own, the bundle f + g at better than their rates is accepted.
      const proof = yield* submit(op, "ProofAnnouncement", { computationId: "batch-0", proofSystem: "groth16", vkId: "ab".repeat(32), commitment: "cd".repeat(32), publicInputs: ["1"], shares: 1, bytes: 800 })
      const bundle = yield* send(op, "MatchProposal", { orders: [clearing(g.id, 4, { amountOut: 9_999_999_999n }), clearing(f.id, 3)], proof: proof.id }, [proof.id])
      expect(Option.getOrThrow(bundle.decision)).toMatchObject({ type: "OrdersMatched", payload: { orderIds: [g.id, f.id] } })

      // Fill reports: only the proposer, of an accepted proposal, on the order's chain, once.
      const fillRefusal = (key: KeyFile, p: unknown) =>
        Effect.map(send(key, "FillReport", p), (r) => {
          const d = Option.getOrThrow(r.decision)
          expect(d).toMatchObject({ type: "FillRefused", deps: [r.id], payload: { reportId: r.id } })
          return (d.payload as { reason: string }).reason
        })
      expect(yield* fillRefusal(rival, { proposalId: good.id, orderId: a.id, chain: "eth", txHash: "aa" })).toMatch(/no match proposal of the reporter/)
      expect(yield* fillRefusal(op, { proposalId: early.id, orderId: a.id, chain: "eth", txHash: "aa" })).toMatch(/was not accepted/)
      expect(yield* fillRefusal(op, { proposalId: good.id, orderId: f.id, chain: "eth", txHash: "aa" })).toMatch(/is not in the proposal/)
      expect(yield* fillRefusal(op, { proposalId: good.id, orderId: a.id, chain: "base", txHash: "aa" })).toMatch(/is on chain eth, not base/)
      const fill = yield* send(op, "FillReport", { proposalId: good.id, orderId: a.id, chain: "eth", txHash: "a1b2" })
      expect(Option.getOrThrow(fill.decision)).toMatchObject({ type: "OrderFilled", sender: instance.publicKey, deps: [fill.id], payload: { orderId: a.id, txHash: "a1b2" } })
      expect(yield* statusById(a.id)).toBe("filled")
      expect(yield* fillRefusal(op, { proposalId: good.id, orderId: a.id, chain: "eth", txHash: "a1b2" })).toMatch(/is filled, not matched/)
      expect(yield* statusById(b.id)).toBe("matched")

      // A second settlement over the same log (a restart) catches up and decides nothing again.
      const end = yield* log.endOffset
      yield* Effect.scoped(Effect.gen(function*() {
        const again = yield* Settlement.make
        yield* again.awaitProcessed(end)
      }))
      expect(yield* log.endOffset).toBe(end)

      // Replay from offset 0 reaches the live digests of both projections.
      yield* runner.awaitOffset(end)
      const status = yield* runner.status
      const replayed = yield* ProjectionRunner.replay(log, [mempool, operators])
      expect(replayed.digests[mempool.name]).toBe(status.find((s) => s.name === mempool.name)!.digest)
      expect(replayed.digests[operators.name]).toBe(status.find((s) => s.name === operators.name)!.digest)

      // The accepted decisions re-check: decideMatch on the state folded up to the decision gives the same verdict.
      const records = yield* log.read(0, end)
      const matchedAt = records.find((r) => r.deps.includes(good.id as never) && r.sender === instance.publicKey)!.offset
      const upTo = yield* ProjectionRunner.replay(log, [mempool, operators], { to: matchedAt })
      const proposal = records.find((r) => r.id === good.id)!
      const verdict = decideMatch(
        { operator: op.publicKey, proposal: (bodyOf(proposal).payload) as never, deps: proposal.deps, proof: undefined, now: (upTo.states[1] as OperatorsState).now },
        upTo.states[0] as MempoolState,
        (upTo.states[1] as OperatorsState).intents
      )
      expect(verdict).toEqual({ ok: true })
    }).pipe(Effect.provide(layer)), 60_000)

  it.effect("a cancellation between settlement's decision and its OrdersMatched leaves every order of the proposal unmatched (bundle or not); the refusal is in the status view; replay equals the live digest", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* register(op, rival)
      const sealer = yield* Sealer.Sealer
      const author = yield* Author.Author
      const runner = yield* ProjectionRunner.Projections
      const log = yield* CausalLog
      const a = yield* submit(users[0]!, "UserOrder", order(21))
      const f = yield* submit(users[1]!, "UserOrder", order(22))
      const g = yield* submit(users[2]!, "UserOrder", { ...order(23), bundle: [f.id] })
      const b = yield* submit(users[3]!, "UserOrder", order(24))
      const c = yield* submit(users[0]!, "UserOrder", order(25))
      yield* submit(op, "ComputationIntent", { orderIds: [a.id, f.id, g.id, b.id, c.id], windowStart: T0, windowEnd: T0 + 100_000 })
      yield* sealer.tick
      yield* TestClock.adjust("12 seconds")
      expect((yield* sealer.tick).sealed).toBe(0)

      // What settlement does for a proposal, with a cancellation landing between its decision and its verdict.
      const raced = (orders: ReadonlyArray<ReturnType<typeof clearing>>, cancel: { key: KeyFile; orderId: string }) =>
        Effect.gen(function*() {
          const proposal = yield* submit(op, "MatchProposal", { orders })
          const m = (yield* runner.state(mempool).pipe(Effect.orDie)).state as MempoolState
          const o = (yield* runner.state(operators).pipe(Effect.orDie)).state as OperatorsState
          const verdict = decideMatch({ operator: op.publicKey, proposal: { orders } as never, deps: [], proof: undefined, now: o.now }, m, o.intents)
          expect(verdict).toEqual({ ok: true })
          yield* submit(cancel.key, "UserOrderCancellation", { orderId: cancel.orderId })
          const matched = yield* author.publish("OrdersMatched", { orderIds: orders.map((x) => x.orderId) }, { deps: [proposal.id as never] })
          yield* runner.awaitOffset(matched.offset + 1)
          return { proposal, matched }
        })
      // A bundle (g with f) and an order a: f is cancelled by its sender.
      const withBundle = yield* raced([clearing(a.id, 21), clearing(g.id, 23), clearing(f.id, 22)], { key: users[1]!, orderId: f.id })
      // No bundle: b and c; c is cancelled.
      const plain = yield* raced([clearing(b.id, 24), clearing(c.id, 25)], { key: users[0]!, orderId: c.id })

      for (const id of [a.id, g.id, b.id]) expect(yield* statusById(id)).toBe("revealed")
      for (const id of [f.id, c.id]) expect(yield* statusById(id)).toBe("cancelled")
      const state = yield* view
      expect(state.processedCount).toBe(0)
      for (const [r, cancelled] of [[withBundle, f.id], [plain, c.id]] as const) {
        const reason = `refused whole, nothing matched: 1 of ${r === plain ? 2 : 3} orders not matchable: ${cancelled}: not revealed and sealed (cancelled)`
        expect(statusView(state, r.matched.id)).toMatchObject({ kind: "message", type: "OrdersMatched", accepted: false, reason, target: r.proposal.id })
        expect(statusView(state, r.proposal.id)).toEqual({
          kind: "message",
          id: r.proposal.id,
          type: "MatchProposal",
          offset: r.matched.offset,
          accepted: false,
          target: r.matched.id,
          reason: `its OrdersMatched ${r.matched.id} was refused at the fold: ${reason}`
        })
      }

      // Settlement started over this log decides nothing again (each proposal has its verdict), and refuses a fill of the refused proposal.
      const end = yield* log.endOffset
      const fillReason = yield* Effect.scoped(Effect.gen(function*() {
        const settlement = yield* Settlement.make
        yield* settlement.awaitProcessed(end)
        expect(yield* log.endOffset).toBe(end)
        const report = yield* submit(op, "FillReport", { proposalId: plain.proposal.id, orderId: b.id, chain: "eth", txHash: "bb" })
        yield* settlement.awaitProcessed(report.offset + 1)
        const decision = Option.getOrThrow(yield* settlement.decisionOf(report.id))
        expect(decision.type).toBe("FillRefused")
        return (bodyOf(decision).payload as { reason: string }).reason
      }))
      // Settlement reads the fold's outcome of its OrdersMatched: the report is refused with the fold's own reason.
      expect(fillReason).toBe(
        `the proposal ${plain.proposal.id} was refused when applied: refused whole, nothing matched: 1 of 2 orders not matchable: ${c.id}: not revealed and sealed (cancelled)`
      )
      expect(yield* statusById(b.id)).toBe("revealed")

      // Replay from offset 0 reaches the live digest.
      const last = yield* log.endOffset
      yield* runner.awaitOffset(last)
      const status = yield* runner.status
      const replayed = yield* ProjectionRunner.replay(log, [mempool])
      expect(replayed.digests[mempool.name]).toBe(status.find((s) => s.name === mempool.name)!.digest)
    }).pipe(Effect.provide(stack({ windowMs: 12_000, revealWindowMs: 24_000 }))), 60_000)

  it.effect("a fill naming evidence needs the instance's CrossChainEvent of that transaction on the order's chain", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      yield* register(op, rival)
      const sealer = yield* Sealer.Sealer
      const author = yield* Author.Author
      const a = yield* submit(users[0]!, "UserOrder", order(11))
      yield* submit(op, "ComputationIntent", { orderIds: [a.id], windowStart: T0, windowEnd: T0 + 100_000 })
      yield* sealer.tick
      yield* TestClock.adjust("12 seconds")
      expect((yield* sealer.tick).sealed).toBe(0)
      const match = yield* send(op, "MatchProposal", { orders: [clearing(a.id, 11)] })
      expect(Option.getOrThrow(match.decision).type).toBe("OrdersMatched")

      const event = { sourceChain: "eth", targetChain: "osmosis", height: 7, txHash: "beef", logIndex: 0, data: "" }
      const verified = yield* author.publish("CrossChainEvent", event)
      const forged = yield* submit(op, "CrossChainEvent", event)
      const report = (evidence: string, txHash = "beef") =>
        Effect.map(send(op, "FillReport", { proposalId: match.id, orderId: a.id, chain: "eth", txHash, evidence }, [evidence]), (r) => Option.getOrThrow(r.decision))
      expect((yield* report(forged.id)).payload).toMatchObject({ reason: expect.stringMatching(/not a record the instance verified/) })
      expect((yield* report(verified.id, "cafe")).payload).toMatchObject({ reason: expect.stringMatching(/is not transaction cafe on eth/) })
      expect(yield* statusById(a.id)).toBe("matched")
      expect(yield* report(verified.id)).toMatchObject({ type: "OrderFilled", payload: { orderId: a.id, txHash: "beef" } })
      expect(yield* statusById(a.id)).toBe("filled")
    }).pipe(Effect.provide(layer)), 60_000)

  it.effect("refuses a non-operator's proposals, reports and intents at ingest with no verdict and nothing logged; a removal refuses later ones; an older version's non-operator proposal gets no verdict; replay equals live", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sealer = yield* Sealer.Sealer
      const settlement = yield* Settlement.Settlement
      const runner = yield* ProjectionRunner.Projections
      const ingest = yield* Ingest.Ingest
      const log = yield* CausalLog
      yield* register(op)
      const junk = testKey("settle-junk")
      const a = yield* submit(users[0]!, "UserOrder", order(31))
      const refusedAs = (key: KeyFile, type: MessageType, payload: unknown) => Effect.map(Effect.flip(submit(key, type, payload)), (e) => e._tag)

      // Junk from a key nobody registered: refused before the writer appends anything.
      const before = yield* log.endOffset
      const junkIntent = { orderIds: [a.id], windowStart: T0, windowEnd: T0 + 100_000 }
      for (let i = 0; i < 20; i++) {
        expect(yield* refusedAs(junk, "MatchProposal", { orders: [clearing(a.id, 31)] })).toBe("OperatorNotRegistered")
        expect(yield* refusedAs(junk, "FillReport", { proposalId: a.id, orderId: a.id, chain: "eth", txHash: "aa" })).toBe("OperatorNotRegistered")
      }
      expect(yield* refusedAs(junk, "ComputationIntent", junkIntent)).toBe("OperatorNotRegistered")
      expect(yield* refusedAs(junk, "IntentCommitment", { commitment: "ab".repeat(32) })).toBe("OperatorNotRegistered")
      const refusal = yield* Effect.flip(submit(junk, "MatchProposal", { orders: [clearing(a.id, 31)] }))
      expect(refusal).toMatchObject({ _tag: "OperatorNotRegistered", type: "MatchProposal", reason: expect.stringMatching(/only from operators the deployment registered/) })
      yield* settlement.awaitProcessed(yield* log.endOffset)
      expect(yield* log.endOffset).toBe(before)

      // The registered operator's intent, proposal and fill go through end to end.
      yield* submit(op, "ComputationIntent", junkIntent)
      yield* sealer.tick
      yield* TestClock.adjust("12 seconds")
      expect((yield* sealer.tick).sealed).toBe(0)
      const match = yield* send(op, "MatchProposal", { orders: [clearing(a.id, 31)] })
      expect(Option.getOrThrow(match.decision)).toMatchObject({ type: "OrdersMatched", sender: instance.publicKey, payload: { orderIds: [a.id] } })

      // Removed: its later proposals and reports are refused at ingest too.
      const author = yield* Author.Author
      const removed = yield* author.publish("OperatorRemoved", { operator: op.publicKey })
      yield* runner.awaitOffset(removed.offset + 1)
      expect(yield* refusedAs(op, "FillReport", { proposalId: match.id, orderId: a.id, chain: "eth", txHash: "a1" })).toBe("OperatorNotRegistered")
      expect(yield* refusedAs(op, "MatchProposal", { orders: [clearing(a.id, 31)] })).toBe("OperatorNotRegistered")

      // A proposal and a report an older version accepted from a non-operator (appended past
      // ingest): settlement publishes no verdict on them.
      const old = [
        envelope(junk, { type: "MatchProposal", payload: { orders: [clearing(a.id, 31)] }, nonce: 1000, lamport: (yield* ingest.clock) + 1 }),
        envelope(junk, { type: "FillReport", payload: { proposalId: match.id, orderId: a.id, chain: "eth", txHash: "a2" }, nonce: 1001, lamport: (yield* ingest.clock) + 2 })
      ]
      const appended = yield* log.append(old.map((e) => ({ id: idOf(e), lamport: e.lamport, type: e.type, sender: e.sender, nonce: e.nonce, deps: e.deps, body: canonicalize(e) })))
      const end = (appended.at(-1)?.offset ?? 0) + 1
      yield* settlement.awaitProcessed(end)
      for (const r of appended) expect(Option.isNone(yield* settlement.decisionOf(r.id))).toBe(true)
      expect(yield* log.endOffset).toBe(end)
      expect(yield* statusById(a.id)).toBe("matched")

      // Replay from offset 0 reaches the live digests.
      yield* runner.awaitOffset(end)
      const status = yield* runner.status
      const replayed = yield* ProjectionRunner.replay(log, [mempool, operators])
      expect(replayed.digests[mempool.name]).toBe(status.find((s) => s.name === mempool.name)!.digest)
      expect(replayed.digests[operators.name]).toBe(status.find((s) => s.name === operators.name)!.digest)
    }).pipe(Effect.provide(layer)), 60_000)

  it.effect(`an operator may have at most ${MAX_OPEN_INTENTS} intents open: more are refused at ingest, within one batch too`, () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const ingest = yield* Ingest.Ingest
      const log = yield* CausalLog
      const busy = testKey("settle-busy")
      yield* register(busy)
      const clock = yield* ingest.clock
      const intents = Array.from({ length: MAX_OPEN_INTENTS + 2 }, (_, i) =>
        envelope(busy, {
          type: i % 2 === 0 ? "ComputationIntent" : "IntentCommitment",
          payload: i % 2 === 0 ? { orderIds: [idOf(envelope(busy, { nonce: 10_000 + i }))], windowStart: T0, windowEnd: T0 + 100_000 } : { commitment: salt(`busy-${i}`) },
          nonce: 100 + i,
          lamport: clock + 1 + i
        }))
      const before = yield* log.endOffset
      const results = yield* ingest.submitMany(intents)
      expect(results.slice(0, MAX_OPEN_INTENTS).every(Result.isSuccess)).toBe(true)
      for (const r of results.slice(MAX_OPEN_INTENTS)) {
        expect(Result.isFailure(r) && r.failure).toMatchObject({ _tag: "TooManyOpenIntents", open: MAX_OPEN_INTENTS, limit: MAX_OPEN_INTENTS })
      }
      expect(yield* log.endOffset).toBe(before + MAX_OPEN_INTENTS)
      // Once folded, still refused (the projection's count).
      yield* (yield* ProjectionRunner.Projections).awaitOffset(before + MAX_OPEN_INTENTS)
      const more = envelope(busy, { type: "ComputationIntent", payload: { orderIds: [idOf(envelope(busy, { nonce: 1 }))], windowStart: T0, windowEnd: T0 + 100_000 }, nonce: 1000, lamport: (yield* ingest.clock) + 1 })
      expect(yield* Effect.flip(ingest.submit(more))).toMatchObject({ _tag: "TooManyOpenIntents" })
    }).pipe(Effect.provide(layer)), 60_000)
})
