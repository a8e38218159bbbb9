/**
 * The server's scheduler bounds how long one turn of the event loop runs fibers: a thousand
 * fibers woken at once (streams by an append, connections closed together) no longer hold
 * every timer and socket until all of them are done, and each fiber's steps keep their order.
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
 * 200 fibers wait on one Deferred, then each does 0.5 ms of work in one step. A timer set just
 * before the Deferred is completed counts how many had finished when the event loop got back
 * to timers.
 */
const finishedBeforeTimer = (scheduler: Scheduler.Scheduler | undefined) =>
  Effect.gen(function*() {
    const gate = yield* Deferred.make<void>()
    let finished = 0
    const order: Array<number> = []
    const fibers = yield* Effect.all(Array.from({ length: 200 }, (_, i) =>
      Effect.forkChild(Effect.gen(function*() {
        yield* Deferred.await(gate)
        yield* Effect.sync(() => busy(0.5))
        order.push(i)
        finished++
      }))))
    // Every fiber is waiting on the gate before it opens.
    yield* Effect.yieldNow
    yield* Effect.yieldNow
    let atTimer = -1
    setTimeout(() => (atTimer = finished), 0)
    yield* Effect.sync(() => Deferred.doneUnsafe(gate, Exit.void))
    yield* Effect.all(fibers.map(Fiber.join))
    while (atTimer === -1) yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 1)))
    return { atTimer, finished, order }
  }).pipe(scheduler === undefined ? (e) => e : Effect.provideService(Scheduler.Scheduler, scheduler))

describe("TurnBudgetScheduler", () => {
  it("gives the event loop back once a turn has run fibers for its budget, and keeps their order", async () => {
    const budgeted = await Effect.runPromise(finishedBeforeTimer(new TurnBudgetScheduler(5)))
    expect(budgeted.finished).toBe(200)
    // 200 × 0.5 ms is 100 ms of work: with a 5 ms budget the timer runs after a few dozen at most.
    expect(budgeted.atTimer).toBeLessThan(50)
    expect(budgeted.order).toEqual(Array.from({ length: 200 }, (_, i) => i))
  })

  it("(Effect's own scheduler, for comparison: every fiber runs before the timer)", async () => {
    const plain = await Effect.runPromise(finishedBeforeTimer(undefined))
    expect(plain.atTimer).toBe(200)
  })

  it("flush runs every task scheduled, in priority order then in order scheduled", () => {
    const dispatcher = new TurnBudgetScheduler(5).makeDispatcher()
    const ran: Array<string> = []
    dispatcher.scheduleTask(() => ran.push("a1"), 1)
    dispatcher.scheduleTask(() => ran.push("b0"), 0)
    dispatcher.scheduleTask(() => ran.push("a2"), 1)
    dispatcher.scheduleTask(() => {
      ran.push("c0")
      dispatcher.scheduleTask(() => ran.push("d0 (scheduled while running)"), 0)
    }, 0)
    dispatcher.flush()
    expect(ran).toEqual(["b0", "c0", "a1", "a2", "d0 (scheduled while running)"])
  })
})
