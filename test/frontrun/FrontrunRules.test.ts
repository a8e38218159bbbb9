/**
 * The frontrun simulation's rules, without a server: the pool's arithmetic, the sandwich a
 * searcher plans, the referee's verdicts (a success needs the victim's exact order; a blind
 * sandwich that profits is not one), and the searcher's reading of orders in what it sees.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import {
  type Execution,
  defaultPool as pool,
  executeBatch,
  planSandwich,
  poolOrder,
  sandwichOrders,
  swap
} from "../../bench/support/frontrunAmm.ts"
import { type Processed, Referee, judge } from "../../bench/support/frontrunReferee.ts"
import { ordersIn, ordersInText } from "../../bench/support/frontrunSearcher.ts"
import { victimOrder } from "../../bench/support/frontrunSim.ts"

const reference = { base: pool.base, quote: pool.quote }
const E18 = 10n ** 18n
const id = (n: number) => n.toString(16).padStart(64, "0")

/** A victim buying `usdc` quote tokens' worth with `toleranceBps` slippage. */
const buyer = (usdc: bigint, toleranceBps: bigint): UserOrder => {
  const amountIn = usdc * E18 + 123_456_789n
  const out = swap(reference, "buy", amountIn, pool.feeBps).out
  return poolOrder(pool, "buy", amountIn, (out * (10_000n - toleranceBps)) / 10_000n)
}

/** Execute orders as one batch (positions 0..n-1) and index the results by the given ids. */
const batch = (entries: ReadonlyArray<readonly [string, UserOrder]>, batchNo = 0): Map<string, Processed> => {
  const executions = executeBatch(pool, reference, entries.map(([, o]) => o))
  return new Map(entries.map(([i], k) => [i, { seat: { batch: batchNo, position: k }, execution: executions[k] as Execution }]))
}

describe("the pool", () => {
  it("keeps x·y from decreasing and charges its fee", () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: pool.quote }), fc.boolean(), (amountIn, buy) => {
      const { out, after } = swap(reference, buy ? "buy" : "sell", amountIn, pool.feeBps)
      expect(after.base * after.quote >= reference.base * reference.quote).toBe(true)
      const feeless = swap(reference, buy ? "buy" : "sell", amountIn, 0).out
      expect(out <= feeless).toBe(true)
    }))
  })

  it("refuses an order whose output falls below its minAmountOut, leaving the pool as it was", () => {
    const greedy = poolOrder(pool, "buy", 3000n * E18, E18)
    const [a] = executeBatch(pool, reference, [greedy])
    expect(a).toMatchObject({ executed: false, reason: "slippage bound" })
    const [x, y] = executeBatch(pool, reference, [greedy, buyer(3000n, 10n)])
    expect(x?.executed).toBe(false)
    expect(y?.executed).toBe(true)
  })
})

describe("the planned sandwich", () => {
  it("lets the victim execute and leaves the searcher richer in the token it paid, and no poorer in the other", () => {
    for (const victim of [buyer(30_000n, 200n), buyer(15_000n, 100n), victimOrder(pool), victimOrder(pool), victimOrder(pool)]) {
      const plan = planSandwich(pool, reference, victim, (victim.side === "buy" ? pool.quote : pool.base) / 10n)
      expect(plan).toBeDefined()
      const legs = sandwichOrders(pool, plan!)
      const [f, v, b] = executeBatch(pool, reference, [legs.front, victim, legs.back])
      expect([f?.executed, v?.executed, b?.executed]).toEqual([true, true, true])
      if (f?.executed && b?.executed) {
        expect(b.amountOut - f.amountIn).toBe(plan!.profit)
        expect(plan!.profit > 0n).toBe(true)
        expect(f.amountOut - b.amountIn).toBe(0n)
      }
    }
  })

  it("finds nothing when the victim leaves no room (tight slippage) or trades elsewhere", () => {
    expect(planSandwich(pool, reference, buyer(3000n, 5n), pool.quote / 10n)).toBeUndefined()
    expect(planSandwich(pool, reference, { ...buyer(30_000n, 200n), market: "BTC-USDC" } as UserOrder, pool.quote / 10n)).toBeUndefined()
  })
})

describe("the referee", () => {
  const victim = buyer(30_000n, 200n)
  const plan = planSandwich(pool, reference, victim, pool.quote / 10n)!
  const legs = sandwichOrders(pool, plan)
  const sandwich = batch([[id(1), legs.front], [id(2), victim], [id(3), legs.back]])
  const attempt = { victimId: id(2), victim, frontId: id(1), backId: id(3), claim: victim }

  it("counts a profitable sandwich with the victim's exact order stated as a success", () => {
    expect(judge(attempt, sandwich)).toEqual({ outcome: "success" })
  })

  it("never counts the same sandwich without the statement as a success: that is a blind sandwich that profited", () => {
    expect(judge({ ...attempt, claim: null }, sandwich)).toEqual({ outcome: "blindProfitable" })
  })

  it("refuses a statement that is not exactly the victim's order (a guess off by one unit)", () => {
    const guess = { ...victim, amountIn: (BigInt(victim.amountIn) + 1n).toString() } as UserOrder
    expect(judge({ ...attempt, claim: guess }, sandwich)).toMatchObject({ outcome: "failed" })
  })

  it("requires front < victim < back in one batch, all executed, at a profit", () => {
    const late = batch([[id(2), victim], [id(1), legs.front], [id(3), legs.back]])
    expect(judge(attempt, late)).toMatchObject({ outcome: "failed", reason: "not front < victim < back" })
    const split = new Map([...sandwich].map(([k, p]) => [k, k === id(3) ? { ...p, seat: { batch: 1, position: 0 } } : p]))
    expect(judge(attempt, split)).toMatchObject({ outcome: "failed", reason: "the legs and the victim are not in one batch" })
    const greedy = sandwichOrders(pool, { ...plan, frontIn: plan.frontIn * 5n, frontOut: swap(reference, "buy", plan.frontIn * 5n, pool.feeBps).out })
    const pushed = batch([[id(1), greedy.front], [id(2), victim], [id(3), greedy.back]])
    expect(judge(attempt, pushed)).toMatchObject({ outcome: "failed", reason: "the victim did not execute (slippage bound)" })
    const small = buyer(10n, 200n)
    const tinyOut = swap(reference, "buy", 10n * E18, pool.feeBps).out
    const lossy = batch([[id(1), poolOrder(pool, "buy", 10n * E18, 1n)], [id(2), small], [id(3), poolOrder(pool, "sell", tinyOut, 1n)]])
    expect(judge({ ...attempt, victim: small, claim: small }, lossy)).toMatchObject({ outcome: "failed", reason: "no profit" })
    expect(judge({ ...attempt, backId: null }, sandwich)).toMatchObject({ outcome: "failed", reason: "no back leg" })
  })

  it("keeps one statement per front leg, for the victim it named", () => {
    const referee = new Referee()
    referee.claim(id(2), id(1), victim)
    expect(referee.claimFor(id(1), id(2))).toEqual(victim)
    expect(referee.claimFor(id(1), id(9))).toBeNull()
    expect(() => referee.claim(id(2), id(1), victim)).toThrow()
  })
})

describe("the searcher's reading", () => {
  const order = buyer(20_000n, 100n)

  it("finds orders and the ids they belong to in records, reveals, decryptions, views and log lines", () => {
    const record = { offset: 3, id: id(7), type: "UserOrder", envelope: { sender: id(8), payload: order } }
    expect(ordersIn(record)).toEqual([{ id: id(7), order }])
    const reveal = { id: id(9), envelope: { payload: { commitmentId: id(4), order, salt: id(5) } } }
    expect(ordersIn(reveal)).toEqual([{ id: id(4), order }])
    const decrypted = { id: id(9), envelope: { payload: { batch: 0, results: [{ orderId: id(6), order }, { orderId: id(1), failure: "x" }] } } }
    expect(ordersIn(decrypted)).toEqual([{ id: id(6), order }])
    expect(ordersIn({ orders: [{ kind: "order", id: id(2), order }] })).toEqual([{ id: id(2), order }])
    expect(ordersInText(JSON.stringify({ message: JSON.stringify({ id: id(3), order }) }))).toEqual([{ id: id(3), order }])
    expect(ordersInText(`some_metric{x="1"} 1\nline ${JSON.stringify({ orderId: id(5), order })}`)).toEqual([{ id: id(5), order }])
  })

  it("finds nothing in a commitment, a ciphertext or a view without content", () => {
    expect(ordersIn({ id: id(1), envelope: { type: "OrderCommitment", payload: { commitment: id(2) } } })).toEqual([])
    expect(ordersIn({ id: id(1), envelope: { type: "TimelockedOrder", payload: { scheme: "tlock", round: 9, ciphertext: "age-encryption.org/v1..." } } })).toEqual([])
    expect(ordersIn({ kind: "order", id: id(1), order: null })).toEqual([])
  })
})
