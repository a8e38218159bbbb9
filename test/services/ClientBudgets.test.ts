import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import * as ClientBudgets from "../../src/services/ClientBudgets.ts"

const policy = { ratePerSec: 2, burst: 3 }
const client = (key: string): ClientBudgets.Client => ({ key, policy, label: `client address ${key}` })

describe("ClientBudgets", () => {
  it.effect("charges a client's bucket by the clock: refused beyond its burst, refilled as time passes", () =>
    Effect.gen(function*() {
      const budgets = ClientBudgets.make({ address: policy, maxClients: 10 })
      expect((yield* budgets.charge(client("a"), 2)).granted).toBe(2)
      const over = yield* budgets.charge(client("a"), 2)
      expect(over.granted).toBe(1)
      expect(over.refusal?._tag).toBe("RateLimited")
      expect(over.refusal?.retryAfterMs).toBe(500)
      expect(over.refusal?.reason).toMatch(/client address a exceeds 2 messages\/s \(burst 3\)/u)
      // Another client has its own bucket.
      expect((yield* budgets.charge(client("b"), 3)).granted).toBe(3)
      yield* TestClock.adjust("499 millis")
      expect((yield* budgets.charge(client("a"), 1)).granted).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect((yield* budgets.charge(client("a"), 1)).granted).toBe(1)
    }))

  it.effect("keeps at most maxClients buckets: the least recently charged is dropped (and comes back full)", () =>
    Effect.gen(function*() {
      const budgets = ClientBudgets.make({ address: policy, maxClients: 2 })
      yield* budgets.charge(client("a"), 3)
      yield* budgets.charge(client("b"), 3)
      expect((yield* budgets.charge(client("a"), 1)).granted).toBe(0) // a is recent again
      yield* budgets.charge(client("c"), 3) // b is dropped
      expect((yield* budgets.charge(client("a"), 1)).granted).toBe(0)
      expect((yield* budgets.charge(client("b"), 3)).granted).toBe(3)
    }))
})
