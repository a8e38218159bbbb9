/**
 * An Effect scheduler that bounds how long one turn of the event loop runs fibers' queued work.
 *
 * Effect's default scheduler gives each fiber a dispatcher of its own, each queueing its own
 * setImmediate, and Node runs every immediate queued before a check phase in that phase. So
 * when a thousand fibers are ready together (a thousand event streams woken by one append, 128
 * batches decoded at once), all of their work runs in one turn of the event loop, and every
 * timer, probe and other client waits behind it.
 *
 * This scheduler is Effect's own (MixedScheduler: a dispatcher per fiber, the same tasks in the
 * same order), except that its dispatchers' setImmediate goes through one queue that runs, in
 * each check phase, only what was queued before it and only until the turn has run for
 * `budgetMs`; the rest waits for the next turn, in order, while Node runs its timers and I/O.
 * Nothing is dropped or reordered, and no fiber is made to yield where it would not have:
 * only when a dispatcher's batch runs changes, as if the event loop were busier.
 *
 * Work that starts a fiber inside an I/O callback (a thousand connections closed at once,
 * each interrupting its request's fiber inline in its `close` event) is not a dispatcher's;
 * `defer` queues it on the same budget.
 *
 * Not done, on purpose: yielding a running fiber once the turn is over budget (a time-based
 * `shouldYield`). It also spreads the work of fibers resumed inside a callback, and brought the
 * attack suite's streams scenario from 277 to 59-90 ms, but with it one request to a Kafka-backed server starting under CPU load was never
 * answered, 5 times in 5 (test/cli/serveKafkaSecurity.test.ts, test/infra/Deployment.test.ts
 * with both cores busy; yielding from a fiber's 2nd step on too). The cause was not found.
 */
import { MixedScheduler } from "effect/Scheduler"

/** The dispatchers' setImmediate: one queue, run a budget's worth per check phase. */
class BudgetedImmediates {
  private queue: Array<{ readonly run: () => void; cancelled: boolean }> = []
  private at = 0
  private armed = false
  private readonly budgetMs: number

  constructor(budgetMs: number) {
    this.budgetMs = budgetMs
  }

  readonly schedule = (run: () => void): () => void => {
    const entry = { run, cancelled: false }
    this.queue.push(entry)
    this.arm()
    return () => {
      entry.cancelled = true
    }
  }

  private arm(): void {
    if (this.armed) return
    this.armed = true
    setImmediate(this.drain)
  }

  // What was queued before this turn runs in it, until the budget is spent; what is queued
  // while it runs waits for the next turn, as with setImmediate itself.
  private readonly drain = (): void => {
    this.armed = false
    const until = performance.now() + this.budgetMs
    const stop = this.queue.length
    while (this.at < stop) {
      const entry = this.queue[this.at++] as { readonly run: () => void; cancelled: boolean }
      if (!entry.cancelled) entry.run()
      if (this.at < stop && performance.now() > until) break
    }
    if (this.at >= 1024 && this.at * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.at)
      this.at = 0
    }
    if (this.at < this.queue.length) this.arm()
  }
}

/**
 * The scheduler. Every fiber of the process that uses one instance shares its turn budget, and
 * so does work that is not a fiber's, given to `defer`.
 */
export class TurnBudgetScheduler extends MixedScheduler {
  /**
   * Runs `run` from the same queue as the fibers' work: in this turn's check phase if its
   * budget allows, else in a later one, after what was queued before it. For callbacks that
   * would otherwise run a fiber inline in one I/O phase, a thousand at once (see the HTTP
   * server's deferred `close`).
   */
  readonly defer: (run: () => void) => void

  constructor(budgetMs = 10) {
    const turn = new BudgetedImmediates(budgetMs)
    super("async", turn.schedule)
    this.defer = turn.schedule
  }
}
