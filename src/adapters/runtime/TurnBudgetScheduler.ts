/**
 * An Effect scheduler that bounds how long one turn of the event loop runs fibers.
 *
 * Effect's default scheduler gives each fiber a dispatcher of its own, each queueing its own
 * setImmediate, and a fiber resumed by a callback (a socket's data or close, a Deferred
 * completed) runs at once, inside that callback. So when a thousand fibers are woken together —
 * a thousand event streams by one append, a thousand connections closed at once, 128 batches
 * arriving in one poll — all of their work runs in one turn of the event loop, and every timer,
 * probe and other client waits behind it: 250 ms for a thousand closes, measured.
 *
 * This scheduler gives every fiber the same dispatcher, and measures the current turn: once
 * fibers have run for `budgetMs` in it (counted from the first fiber step of the turn, whether
 * the turn began in a timer, an I/O callback or the dispatcher), each running fiber yields at
 * its next check (every CHECK_EVERY operations) and the dispatcher keeps the rest of its queue
 * for later turns, in order. Between them Node runs its timers and I/O. Nothing is dropped or
 * reordered: a fiber's steps run in the order they ran before, only spread over more turns.
 * One synchronous step longer than the budget (a big JSON.parse, a SQLite transaction) is not
 * cut: it is measured, and the fibers after it yield.
 */
import type { Fiber } from "effect"
import type { Scheduler, SchedulerDispatcher } from "effect/Scheduler"

/** Operations a fiber runs between two looks at the clock (a look is a performance.now()), from its first. */
const CHECK_EVERY = 32

/** The scheduler; one per process (the dispatcher is shared by every fiber that uses it). */
export class TurnBudgetScheduler implements Scheduler {
  readonly executionMode = "async" as const
  readonly budgetMs: number
  /** When fibers began running in the current turn (undefined: none has yet). */
  private turnStart: number | undefined = undefined
  private readonly dispatcher: TurnBudgetDispatcher

  constructor(budgetMs = 10) {
    this.budgetMs = budgetMs
    this.dispatcher = new TurnBudgetDispatcher(this)
  }

  shouldYield(fiber: Fiber.Fiber<unknown, unknown>): boolean {
    if (fiber.currentOpCount >= fiber.cache.maxOpsBeforeYield) return true
    // At a fiber's first step too: one resumed (a socket closed, a Deferred completed) after
    // the budget is spent goes to the dispatcher at once instead of running 32 steps first.
    if (fiber.currentOpCount % CHECK_EVERY !== 1) return false
    return this.overBudget()
  }

  makeDispatcher(): SchedulerDispatcher {
    return this.dispatcher
  }

  /** Has the current turn run fibers for longer than the budget? Starts measuring a turn if none is. */
  overBudget(): boolean {
    const now = performance.now()
    if (this.turnStart === undefined) {
      this.beginTurn(now)
      return false
    }
    return now - this.turnStart > this.budgetMs
  }

  /** A new turn from `now`: it ends at the next check phase of the event loop, or when the dispatcher's run ends. */
  beginTurn(now: number): void {
    if (this.turnStart === undefined) setImmediate(this.endTurn)
    this.turnStart = now
  }

  readonly endTurn = (): void => {
    this.turnStart = undefined
  }
}

class TurnBudgetDispatcher implements SchedulerDispatcher {
  /** Tasks by priority, lowest first, each in the order scheduled. */
  private buckets: Array<[number, Array<() => void>]> = []
  /** Tasks taken from the buckets and not run yet: they run before anything scheduled since. */
  private current: Array<() => void> = []
  private at = 0
  private armed = false
  private readonly scheduler: TurnBudgetScheduler

  constructor(scheduler: TurnBudgetScheduler) {
    this.scheduler = scheduler
  }

  scheduleTask(task: () => void, priority: number): void {
    const buckets = this.buckets
    let index = 0
    while (index < buckets.length && (buckets[index] as [number, Array<() => void>])[0] < priority) index++
    const bucket = buckets[index]
    if (bucket !== undefined && bucket[0] === priority) bucket[1].push(task)
    else buckets.splice(index, 0, [priority, [task]])
    this.arm()
  }

  flush(): void {
    while (this.take()) {
      while (this.at < this.current.length) (this.current[this.at++] as () => void)()
    }
  }

  private arm(): void {
    if (this.armed) return
    this.armed = true
    setImmediate(this.run)
  }

  /** Move the buckets' tasks to `current` when it is done; false when there is nothing to run. */
  private take(): boolean {
    if (this.at < this.current.length) return true
    if (this.buckets.length === 0) {
      this.current = []
      this.at = 0
      return false
    }
    const tasks: Array<() => void> = []
    for (const [, bucket] of this.buckets) for (const t of bucket) tasks.push(t)
    this.buckets = []
    this.current = tasks
    this.at = 0
    return true
  }

  // What was scheduled before this turn runs in it, until the budget is spent; tasks scheduled
  // while it runs wait for the next turn, as with Effect's own dispatcher.
  private readonly run = (): void => {
    this.armed = false
    const scheduler = this.scheduler
    scheduler.beginTurn(performance.now())
    if (!this.take()) return
    const stop = this.current.length
    while (this.at < stop) {
      ;(this.current[this.at++] as () => void)()
      if (this.at < stop && scheduler.overBudget()) break
    }
    // The dispatcher's run is a turn of its own: a callback after it starts the next.
    scheduler.endTurn()
    if (this.at < this.current.length || this.buckets.length > 0) this.arm()
  }
}
