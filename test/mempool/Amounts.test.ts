/**
 * Amounts in orders: what an order spends (`amountIn`) and its `limitPrice` are positive
 * integers in base units; zero, a sign, a decimal point or an exponent is refused at admission
 * with a reason that says so (before: `amountIn: "0"` was admitted and got a position).
 * `minAmountOut` may be 0 (no minimum). A reveal or time-locked order discloses the same
 * UserOrder schema, so a zero amount is refused there too.
 */
import { describe, expect, it } from "vitest"
import { Result } from "effect"
import { admit } from "../../src/domain/Admission.ts"
import type { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { order, salt } from "./support.ts"

const alice = testKey("amounts-alice")
const limits = { maxMessageBytes: 65_536 }
const admitOrder = (payload: unknown, type = "UserOrder") => admit(envelope(alice, { type, payload }), undefined, limits)
const reasonOf = (r: ReturnType<typeof admitOrder>): string => Result.isFailure(r) ? `${r.failure._tag}: ${r.failure.reason}` : "admitted"

describe("order amounts", () => {
  it("a well-formed order is admitted, minAmountOut 0 included", () => {
    expect(reasonOf(admitOrder(order(1)))).toBe("admitted")
    expect(reasonOf(admitOrder({ ...order(1), minAmountOut: "0" }))).toBe("admitted")
  })

  it.each([
    ["amountIn", "0"],
    ["amountIn", "-5"],
    ["amountIn", "1.5"],
    ["amountIn", "1e18"],
    ["amountIn", "007"],
    ["limitPrice", "0"],
    ["minAmountOut", "-1"]
  ])("%s %s is refused with the reason", (field, value) => {
    const reason = reasonOf(admitOrder({ ...order(1), [field]: value }))
    expect(reason).toMatch(/^MalformedMessage: UserOrder payload/)
    expect(reason).toContain(field)
    if (field !== "minAmountOut") expect(reason).toContain("positive integer in base units")
  })

  it("a reveal disclosing a zero amount is refused too", () => {
    const zero = { ...order(2), amountIn: "0" } as unknown as UserOrder
    const reveal = { commitmentId: "ab".repeat(32), order: zero, salt: salt("amounts") }
    expect(reasonOf(admitOrder(reveal, "OrderReveal"))).toMatch(/^MalformedMessage: OrderReveal payload.*positive integer in base units/)
  })
})
