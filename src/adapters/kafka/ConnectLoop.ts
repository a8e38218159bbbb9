/**
 * Connect until it works, for as long as it runs: a failed attempt is reported and retried
 * after a backoff doubling to a cap (Effect.sleep, so a `TestClock` drives it); a connection
 * that ends is cleaned up and replaced the same way, its backoff starting over.
 */
import { type Cause, Effect, Exit } from "effect"

/** What one connection is, and what to do around it. */
export interface ConnectLoopOptions<E> {
  /** One attempt; on success, what waits for the connection to end (and says why). */
  readonly connect: Effect.Effect<Effect.Effect<string>, E>
  /** The first retry's delay; each next one doubles, up to `maxDelayMs`. */
  readonly initialDelayMs: number
  readonly maxDelayMs: number
  /** Attempt `attempt` (from 1) failed with `cause`; the next comes `delayMs` later. */
  readonly failed: (attempt: number, cause: Cause.Cause<E>, delayMs: number) => Effect.Effect<void>
  /** The connection ended, for `reason`: clean up before the next one. */
  readonly ended: (reason: string) => Effect.Effect<void>
}

/** Keep a connection up (fork it in the owner's scope). */
export const connectLoop = <E>(options: ConnectLoopOptions<E>): Effect.Effect<never> =>
  Effect.gen(function*() {
    let delay = options.initialDelayMs
    for (let attempt = 1;; attempt++) {
      const exit = yield* Effect.exit(options.connect)
      if (Exit.isSuccess(exit)) return exit.value
      yield* options.failed(attempt, exit.cause, delay)
      yield* Effect.sleep(delay)
      delay = Math.min(delay * 2, options.maxDelayMs)
    }
  }).pipe(
    Effect.flatMap((connected) => connected),
    Effect.flatMap(options.ended),
    Effect.forever
  )
