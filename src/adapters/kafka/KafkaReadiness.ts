/**
 * How the Kafka log becomes ready: Connecting (each failed attempt says why) → CatchingUp
 * (once connected, until the merge has decided every sequence record there was as of
 * connecting) → Ready, once; after that `BrokerWatch` moves it between Ready and
 * Disconnected, and a reconnect (a rebuild) sets it back to Connecting.
 */
import { Deferred, Effect, Option, Ref } from "effect"
import type { Capabilities, ConnectionStatus } from "./KafkaConnectionStatus.ts"

/** The connection status of one log, and the latch its `ready` waits on. */
export class KafkaReadiness {
  /** Where the connection stands. */
  readonly status: Ref.Ref<ConnectionStatus>
  private readonly latch: Deferred.Deferred<void>
  // The sequence topic's end as of the latest connect.
  private target = 0

  private constructor(status: Ref.Ref<ConnectionStatus>, latch: Deferred.Deferred<void>) {
    this.status = status
    this.latch = latch
  }

  /** Connecting, not ready. */
  static make: Effect.Effect<KafkaReadiness> = Effect.gen(function*() {
    const status = yield* Ref.make<ConnectionStatus>({ _tag: "Connecting", attempt: 0, lastError: undefined })
    return new KafkaReadiness(status, yield* Deferred.make<void>())
  })

  /** Waits until the log is first ready. */
  get ready(): Effect.Effect<void> {
    return Deferred.await(this.latch)
  }

  /** Connecting again: attempt `attempt` failed (or the index is rebuilt), for `lastError`. */
  connecting(attempt: number, lastError: string): Effect.Effect<void> {
    return Ref.set(this.status, { _tag: "Connecting", attempt, lastError })
  }

  /** What catching up will wait for: the sequence topic's end as the connection found it. */
  aimAt(target: number): void {
    this.target = target
  }

  /** Connected: catching up from `decided`. */
  catchingUp(decided: number): Effect.Effect<void> {
    return Ref.set(this.status, { _tag: "CatchingUp", target: this.target, decided })
  }

  /**
   * The merge has decided through `decided`: while catching up, Ready once that reaches the
   * target (and the clients are up, `capabilities`). Connecting and catching up talked to the
   * brokers: `becoming.traffic` tells the broker health so, before the log is Ready.
   */
  moved<E>(
    decided: number,
    capabilities: Option.Option<Capabilities>,
    becoming: { readonly traffic: Effect.Effect<void>; readonly records: Effect.Effect<number, E> }
  ): Effect.Effect<void, E> {
    return Effect.gen({ self: this }, function*() {
      const s = yield* Ref.get(this.status)
      if (s._tag !== "CatchingUp") return
      if (decided < this.target) return yield* Ref.set(this.status, { ...s, decided })
      if (Option.isNone(capabilities)) return
      yield* becoming.traffic
      yield* Ref.set(this.status, { _tag: "Ready", capabilities: capabilities.value })
      yield* Deferred.succeed(this.latch, undefined)
      yield* Effect.logInfo("kafka log ready").pipe(Effect.annotateLogs({ records: yield* becoming.records, sequence: this.target }))
    })
  }
}
