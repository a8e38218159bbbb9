/**
 * The server's scheduler bounds how long one turn of the event loop runs fibers' queued work: a
 * thousand fibers ready at once no longer hold every timer and socket until all of them are
 * done, and their work keeps its order.
 */
import { describe, expect, it } from "vitest"
import { Deferred, Effect, Exit, Fiber } from "effect"
import * as Scheduler from "effect/Scheduler"
import { TurnBudgetScheduler } from "../../src/adapters/runtime/TurnBudgetScheduler.ts"

const busy = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until) { /* work */ }
}

/**
 * 200 fibers wait on one Deferred, then each yields (its dispatcher queues the rest) and does
 * 0.5 ms of work. A 1 ms interval notes how many had finished at each of its ticks: the most
 * that finished between two ticks is the most that ran in one turn of the event loop.
 */
const mostPerTurn = (scheduler: Scheduler.Scheduler | undefined) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    let finished = 0
    const order: Array<number> = []
    const fibers = yield* Effect.all(Array.from({ length: 200 }, (_, i) =>
      Effect.forkChild(Effect.gen(function*() {
        yield* Deferred.await(gate)
        yield* Effect.yieldNow
        yield* Effect.sync(() => busy(0.5))
        order.push(i)
        finished++
      }))))
    // Every fiber is waiting on the gate before it opens.
    yield* Effect.yieldNow
    yield* Effect.yieldNow
    const ticks: Array<number> = [0]
    const interval = setInterval(() => ticks.push(finished), 1)
    yield* Effect.sync(() => Deferred.doneUnsafe(gate, Exit.void))
    yield* Effect.all(fibers.map(Fiber.join))
    clearInterval(interval)
    ticks.push(finished)
    const most = Math.max(...ticks.slice(1).map((t, k) => t - (ticks[k] as number)))
    return { most, finished, order }
  }).pipe(scheduler === undefined ? (e) => e : Effect.provideService(Scheduler.Scheduler, scheduler))

describe("TurnBudgetScheduler", () => {
  it("gives the event loop back once a turn has run its budget of dispatchers' work, and keeps their order", async () => {
    const budgeted = await Effect.runPromise(mostPerTurn(new TurnBudgetScheduler(5)))
    expect(budgeted.finished).toBe(200)
    // 0.5 ms each and a 5 ms budget: at most 11 in a turn (fewer if the machine is slower).
    expect(budgeted.most).toBeLessThanOrEqual(11)
    expect(budgeted.order).toEqual(Array.from({ length: 200 }, (_, i) => i))
  })

  it("(Effect's own scheduler, for comparison: all 200 in one turn)", async () => {
    const plain = await Effect.runPromise(mostPerTurn(undefined))
    expect(plain.most).toBe(200)
  })

  it("runs every dispatcher's tasks, dispatchers in the order they were scheduled, each in its own priority order", async () => {
    const scheduler = new TurnBudgetScheduler(5)
    const ran: Array<string> = []
    const a = scheduler.makeDispatcher()
    const b = scheduler.makeDispatcher()
    a.scheduleTask(() => ran.push("a1"), 1)
    b.scheduleTask(() => ran.push("b0"), 0)
    a.scheduleTask(() => ran.push("a0"), 0)
    b.scheduleTask(() => {
      busy(10)
      ran.push("b1 (spends the budget)")
      a.scheduleTask(() => ran.push("a2 (scheduled while running)"), 0)
    }, 1)
    const c = scheduler.makeDispatcher()
    c.scheduleTask(() => ran.push("c0"), 0)
    // Three turns at least: a's and b's batches, then (the budget spent) c's, then a's new task.
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(ran).toEqual(["a0", "a1", "b0", "b1 (spends the budget)", "c0", "a2 (scheduled while running)"])
  })
})
