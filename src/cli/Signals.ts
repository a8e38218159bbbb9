/**
 * Exit codes on SIGINT/SIGTERM. NodeRuntime.runMain interrupts the program on either signal,
 * which runs every finalizer (the server drains, the projections write their last snapshot)
 * and by default exits 130. For commands that run until they are stopped (`serve`,
 * `log tail --follow`) being stopped is their normal end, so they exit 0 instead, which is
 * what service managers expect of a clean shutdown; a signal that cuts short a command with
 * an end of its own (`replay`) still exits 130.
 */
import { Cause, Effect, Exit, Runtime } from "effect"

let stoppedIsSuccess = false

/** Mark the running command as one whose normal end is a signal. */
export const runsUntilStopped: Effect.Effect<void> = Effect.sync(() => {
  stoppedIsSuccess = true
})

/** The process teardown: exit 0 for a stopped long-running command, else the default codes. */
export const teardown: Runtime.Teardown = (exit, onExit) =>
  stoppedIsSuccess && Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause)
    ? onExit(0)
    : Runtime.defaultTeardown(exit, onExit)
