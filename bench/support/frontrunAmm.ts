/**
 * The market the frontrun simulation attacks: one constant-product pool (x · y = k, Uniswap
 * v2 style, fee taken from the input), exact in bigint. A `buy` pays quote and receives
 * base, a `sell` pays base and receives quote; an order whose output would fall below its
 * `minAmountOut` (its slippage bound) does not execute and leaves the pool as it was.
 * `limitPrice` is not used by the pool: `minAmountOut` is the bound it enforces.
 *
 * Also here: the sandwich a searcher who knows a victim's order would place (largest profit
 * that still lets the victim execute), the same arithmetic for everyone.
 */
import type { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"

/** The pool's public description: where it trades, its reference reserves and its fee. */
export interface PoolSpec {
  readonly chain: string
  readonly market: string
  /** Reserves at the start of every batch (see `executeBatch`). */
  readonly base: bigint
  readonly quote: bigint
  /** Fee in basis points of the input. */
  readonly feeBps: number
}

/** Reserves. */
export interface Reserves {
  readonly base: bigint
  readonly quote: bigint
}

/** The simulation's pool: 1,000 ETH against 3,000,000 USDC (both 18 decimals), 0.30% fee. */
export const defaultPool: PoolSpec = {
  chain: "eth",
  market: "ETH-USDC",
  base: 1_000n * 10n ** 18n,
  quote: 3_000_000n * 10n ** 18n,
  feeBps: 30
}

type Side = "buy" | "sell"

/** Output of `amountIn` against reserves `reserveIn`/`reserveOut`, fee taken from the input. */
export const amountOut = (amountIn: bigint, reserveIn: bigint, reserveOut: bigint, feeBps: number): bigint => {
  if (amountIn <= 0n) return 0n
  const inWithFee = amountIn * BigInt(10_000 - feeBps)
  return (inWithFee * reserveOut) / (reserveIn * 10_000n + inWithFee)
}

/** A swap's output and the reserves after it (it always executes; see `execute` for the bound). */
export const swap = (pool: Reserves, side: Side, amountIn: bigint, feeBps: number): { readonly out: bigint; readonly after: Reserves } => {
  if (side === "buy") {
    const out = amountOut(amountIn, pool.quote, pool.base, feeBps)
    return { out, after: { quote: pool.quote + amountIn, base: pool.base - out } }
  }
  const out = amountOut(amountIn, pool.base, pool.quote, feeBps)
  return { out, after: { base: pool.base + amountIn, quote: pool.quote - out } }
}

/** What the pool did with one order. */
export type Execution =
  | { readonly executed: true; readonly side: Side; readonly amountIn: bigint; readonly amountOut: bigint }
  | { readonly executed: false; readonly reason: string }

/** Execute an order against the pool, if it is this pool's and its slippage bound holds. */
export const execute = (spec: PoolSpec, pool: Reserves, order: UserOrder): { readonly execution: Execution; readonly after: Reserves } => {
  if (order.chain !== spec.chain || order.market !== spec.market) return { execution: { executed: false, reason: "another market" }, after: pool }
  const amountIn = BigInt(order.amountIn)
  const { out, after } = swap(pool, order.side, amountIn, spec.feeBps)
  if (out < BigInt(order.minAmountOut) || out === 0n) return { execution: { executed: false, reason: "slippage bound" }, after: pool }
  return { execution: { executed: true, side: order.side, amountIn, amountOut: out }, after }
}

/** Execute orders in the given (processing) order from `start`; one execution per order. */
export const executeBatch = (spec: PoolSpec, start: Reserves, orders: ReadonlyArray<UserOrder>): ReadonlyArray<Execution> => {
  let pool = start
  return orders.map((order) => {
    const r = execute(spec, pool, order)
    pool = r.after
    return r.execution
  })
}

/** An order on the pool's market. */
export const poolOrder = (spec: PoolSpec, side: Side, amountIn: bigint, minAmountOut: bigint): UserOrder => ({
  chain: spec.chain,
  market: spec.market,
  side,
  amountIn: amountIn.toString(),
  minAmountOut: minAmountOut.toString(),
  // Informational only (the pool enforces minAmountOut): input per unit of output, 18 decimals.
  limitPrice: ((amountIn * 10n ** 18n) / (minAmountOut > 0n ? minAmountOut : 1n)).toString()
}) as UserOrder

/** A sandwich around one victim: the front leg on the victim's side, the back leg opposite. */
export interface SandwichPlan {
  readonly frontSide: Side
  readonly frontIn: bigint
  /** The front leg's output as planned (the back leg sells exactly this). */
  readonly frontOut: bigint
  readonly backOut: bigint
  /** backOut − frontIn, in the token the front leg pays. */
  readonly profit: bigint
}

const opposite = (s: Side): Side => (s === "buy" ? "sell" : "buy")

/** The sandwich's outcome with front size `x`, or undefined if the victim would then not execute. */
const sandwichWith = (spec: PoolSpec, pool: Reserves, victim: UserOrder, x: bigint): SandwichPlan | undefined => {
  const front = swap(pool, victim.side, x, spec.feeBps)
  const v = swap(front.after, victim.side, BigInt(victim.amountIn), spec.feeBps)
  if (v.out < BigInt(victim.minAmountOut) || v.out === 0n) return undefined
  const back = swap(v.after, opposite(victim.side), front.out, spec.feeBps)
  return { frontSide: victim.side, frontIn: x, frontOut: front.out, backOut: back.out, profit: back.out - x }
}

/**
 * The most profitable sandwich on `victim` starting from `pool` that still lets the victim
 * execute, with a front leg of at most `budget`; undefined when none makes a profit. The
 * largest admissible front leg is found by bisection, the best size on a grid below it.
 */
export const planSandwich = (spec: PoolSpec, pool: Reserves, victim: UserOrder, budget: bigint): SandwichPlan | undefined => {
  if (victim.chain !== spec.chain || victim.market !== spec.market) return undefined
  if (sandwichWith(spec, pool, victim, 0n) === undefined) return undefined
  let lo = 0n
  let hi = budget
  if (sandwichWith(spec, pool, victim, hi) === undefined) {
    while (hi - lo > 1n) {
      const mid = (lo + hi) / 2n
      if (sandwichWith(spec, pool, victim, mid) === undefined) hi = mid
      else lo = mid
    }
  } else lo = hi
  let best: SandwichPlan | undefined
  const STEPS = 64n
  for (let k = 1n; k <= STEPS; k++) {
    const plan = sandwichWith(spec, pool, victim, (lo * k) / STEPS)
    if (plan !== undefined && plan.profit > 0n && (best === undefined || plan.profit > best.profit)) best = plan
  }
  return best
}

/** The two legs of a planned sandwich as orders: the front bounded to its planned output, the back to a profit. */
export const sandwichOrders = (spec: PoolSpec, plan: SandwichPlan): { readonly front: UserOrder; readonly back: UserOrder } => ({
  front: poolOrder(spec, plan.frontSide, plan.frontIn, plan.frontOut),
  back: poolOrder(spec, opposite(plan.frontSide), plan.frontOut, plan.frontIn + 1n)
})
