/**
 * The watcher of a Kafka log's broker health: every `tickMs` (Effect's `Clock`, so a
 * `TestClock` drives it) it applies what `BrokerHealth` calls for to the connection status,
 * one log line per transition, and probes the brokers while they are silent.
 */
import { Clock, Effect, Option, Ref } from "effect"
import type { BrokerHealth } from "./BrokerHealth.ts"
import type { ConnectionStatus } from "./KafkaConnectionStatus.ts"
import { describeError } from "./KafkaErrors.ts"

/** What the watcher needs besides the health. */
export interface BrokerWatchOptions {
  readonly health: BrokerHealth
  readonly status: Ref.Ref<ConnectionStatus>
  /** The brokers, as the log lines name them. */
  readonly brokers: string
  /** A cheap request to the brokers, while connected (none while not). */
  readonly probe: Effect.Effect<Option.Option<Effect.Effect<unknown, unknown>>>
}

/** One probe: its answer or failure (or no answer within the timeout) feeds the health. */
const probeOnce = (health: BrokerHealth, request: Effect.Effect<unknown, unknown>) =>
  request.pipe(
    Effect.timeoutOrElse({
      duration: health.probeTimeoutMs,
      orElse: () => Effect.fail(new Error(`no answer within ${health.probeTimeoutMs} ms`))
    }),
    Effect.matchEffect({
      onSuccess: () => Clock.currentTimeMillis.pipe(Effect.map((now) => health.answered(now))),
      onFailure: (e) => Effect.sync(() => health.failed(`probe: ${describeError(e)}`))
    }),
    Effect.ensuring(Effect.sync(() => health.probeDone()))
  )

/** Watch the brokers for as long as it runs (fork it in the log's scope). */
export const watchBrokers = ({ brokers, health, probe, status }: BrokerWatchOptions): Effect.Effect<never> =>
  Effect.gen(function*() {
    yield* Effect.sleep(health.tickMs)
    const now = yield* Clock.currentTimeMillis
    const s = yield* Ref.get(status)
    const transition = health.step(s, now)
    if (transition !== undefined) {
      yield* Ref.set(status, transition.next)
      if (transition._tag === "Lost") {
        yield* Effect.logError(
          `kafka log: lost the brokers ${brokers}: no fetch or produce has succeeded for ${transition.silentMs} ms (${transition.next.reason}); not ready until they answer again`
        )
      } else if (transition._tag === "Back") {
        yield* Effect.logInfo(`kafka log: the brokers ${brokers} answer again after ${transition.outageMs} ms; ready`)
      }
    }
    const request = yield* probe
    // The probe runs beside the watcher (a child fiber: it ends with it), one at a time.
    if (Option.isSome(request) && health.probeDue(s, now)) yield* Effect.forkChild(probeOnce(health, request.value))
  }).pipe(Effect.forever)
