/**
 * The frontrun simulation's referee: what counts as a successful attack.
 *
 * A success is a profitable sandwich that used the victim's content:
 *   1. the searcher's front leg, the victim's order and the searcher's back leg are all in
 *      the same sealed batch, at positions front < victim < back (the AMM processes a batch
 *      in position order: docs/mempool.md);
 *   2. all three executed at the pool (a victim pushed past its slippage bound is no sandwich);
 *   3. the front leg is on the victim's side and the back leg opposite, and the searcher ends
 *      with more of the token it paid and no less of the other: backOut − frontIn > 0 and
 *      frontOut − backIn ≥ 0, exact;
 *   4. with its front leg the searcher stated the victim's order — its exact content
 *      (chain, market, side, amountIn, minAmountOut, limitPrice, byte for byte in canonical
 *      form) — to the referee before submitting that leg, so before the victim's position was
 *      final (the front leg precedes the victim in its batch).
 *
 * Condition 4 is what luck cannot meet: a victim's amountIn is drawn uniformly from at least
 * 1.2·10^19 values (63 bits; a buy's from 3.6·10^22), so a searcher that did not read the
 * order states it exactly with probability below 10^-19 per attempt. A sandwich that meets 1–3 without a statement is counted apart,
 * as a blind sandwich that happened to profit (`blindProfitable`), never as a success.
 */
import { equalBytes } from "@noble/curves/utils.js"
import type { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import { orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import type { Execution } from "./frontrunAmm.ts"

/** An order's place in the sequence. */
export interface Seat {
  readonly batch: number
  readonly position: number
}

/** What happened to an order: its seat (from the signed receipts) and the pool's execution. */
export interface Processed {
  readonly seat: Seat
  readonly execution: Execution
}

/** One attack as the referee sees it: the victim's true order and the searcher's legs. */
export interface Attempt {
  readonly victimId: string
  /** The victim's order (from the victim's own client). */
  readonly victim: UserOrder
  readonly frontId: string | null
  readonly backId: string | null
  /** What the searcher stated with its front leg, if anything. */
  readonly claim: UserOrder | null
}

/** The referee's verdict on one attempt. */
export type Verdict =
  | { readonly outcome: "success" }
  | { readonly outcome: "blindProfitable" }
  | { readonly outcome: "failed"; readonly reason: string }

const failed = (reason: string): Verdict => ({ outcome: "failed", reason })

/** Judge one attempt against what the pool did with every sealed order (by id). */
export const judge = (attempt: Attempt, processed: ReadonlyMap<string, Processed>): Verdict => {
  if (attempt.frontId === null) return failed("no front leg")
  if (attempt.backId === null) return failed("no back leg")
  const v = processed.get(attempt.victimId)
  const f = processed.get(attempt.frontId)
  const b = processed.get(attempt.backId)
  if (v === undefined || f === undefined || b === undefined) return failed("a leg or the victim is in no sealed batch")
  if (f.seat.batch !== v.seat.batch || b.seat.batch !== v.seat.batch) return failed("the legs and the victim are not in one batch")
  if (!(f.seat.position < v.seat.position && v.seat.position < b.seat.position)) return failed("not front < victim < back")
  if (!v.execution.executed) return failed(`the victim did not execute (${v.execution.reason})`)
  if (!f.execution.executed) return failed(`the front leg did not execute (${f.execution.reason})`)
  if (!b.execution.executed) return failed(`the back leg did not execute (${b.execution.reason})`)
  const front = f.execution
  const back = b.execution
  if (front.side !== attempt.victim.side || back.side === front.side) return failed("the legs are not a sandwich around the victim's side")
  if (!(back.amountOut - front.amountIn > 0n && front.amountOut - back.amountIn >= 0n)) return failed("no profit")
  if (attempt.claim === null) return { outcome: "blindProfitable" }
  if (!equalBytes(orderBytes(attempt.claim), orderBytes(attempt.victim))) return failed("profitable, but the stated order is not the victim's")
  return { outcome: "success" }
}

/** A statement the searcher made with a front leg. */
export interface Claim {
  readonly victimId: string
  readonly frontId: string
  readonly order: UserOrder
  /** When it was made (ms since the epoch). */
  readonly at: number
}

/** Where the searcher states, before submitting a front leg, the victim's order it acts on. */
export class Referee {
  readonly #claims = new Map<string, Claim>()

  /** Record a statement for the front leg `frontId` (once; call before submitting the leg). */
  claim(victimId: string, frontId: string, order: UserOrder): void {
    if (this.#claims.has(frontId)) throw new Error(`a statement for ${frontId} was already made`)
    this.#claims.set(frontId, { victimId, frontId, order, at: Date.now() })
  }

  /** The statement made for a front leg aimed at `victimId`, if any. */
  claimFor(frontId: string | null, victimId: string): UserOrder | null {
    const c = frontId === null ? undefined : this.#claims.get(frontId)
    return c !== undefined && c.victimId === victimId ? c.order : null
  }
}
