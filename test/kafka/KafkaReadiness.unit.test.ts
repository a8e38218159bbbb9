/**
 * How the Kafka log becomes ready, without a broker: Connecting → CatchingUp (towards the
 * sequence topic's end as of connecting) → Ready once the merge has decided that far and the
 * clients are up, with the broker health told first and `ready` released once.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Ref } from "effect"
import type { Capabilities } from "../../src/adapters/kafka/KafkaConnectionStatus.ts"
import { KafkaReadiness } from "../../src/adapters/kafka/KafkaReadiness.ts"

const capabilities: Capabilities = { idempotentProducer: false, describeConfigs: false, maxRecordBytes: 1000 }

describe("KafkaReadiness", () => {
  it.effect("CatchingUp counts the decided records up to the target, then Ready once (traffic first), releasing ready", () =>
    Effect.gen(function*() {
      const r = yield* KafkaReadiness.make
      const events: Array<string> = []
      const becoming = {
        traffic: Ref.get(r.status).pipe(Effect.map((s) => events.push(`traffic while ${s._tag}`))),
        records: Effect.succeed(7)
      }
      const waiting = yield* Effect.forkChild(r.ready)
      expect(yield* Ref.get(r.status)).toEqual({ _tag: "Connecting", attempt: 0, lastError: undefined })
      // The merge moving before the connection is up does nothing.
      yield* r.moved(10, Option.some(capabilities), becoming)
      expect((yield* Ref.get(r.status))._tag).toBe("Connecting")

      r.aimAt(5)
      yield* r.catchingUp(2)
      expect(yield* Ref.get(r.status)).toEqual({ _tag: "CatchingUp", target: 5, decided: 2 })
      yield* r.moved(4, Option.some(capabilities), becoming)
      expect(yield* Ref.get(r.status)).toEqual({ _tag: "CatchingUp", target: 5, decided: 4 })
      // At the target but the clients are not up yet: still catching up.
      yield* r.moved(5, Option.none(), becoming)
      expect((yield* Ref.get(r.status))._tag).toBe("CatchingUp")
      expect(waiting.pollUnsafe()).toBeUndefined()

      yield* r.moved(5, Option.some(capabilities), becoming)
      expect(yield* Ref.get(r.status)).toEqual({ _tag: "Ready", capabilities })
      yield* Fiber.join(waiting)
      expect(events).toEqual(["traffic while CatchingUp"])
      // Once ready, the merge moving on changes nothing (BrokerWatch owns Ready ⇄ Disconnected).
      yield* r.moved(9, Option.some(capabilities), becoming)
      expect(events).toHaveLength(1)
    }))

  it.effect("a failed attempt or a rebuild sets it back to Connecting with the reason; the next catch-up aims at the new end", () =>
    Effect.gen(function*() {
      const r = yield* KafkaReadiness.make
      yield* r.connecting(3, "ECONNREFUSED")
      expect(yield* Ref.get(r.status)).toEqual({ _tag: "Connecting", attempt: 3, lastError: "ECONNREFUSED" })
      r.aimAt(4)
      r.aimAt(9)
      yield* r.catchingUp(0)
      expect(yield* Ref.get(r.status)).toEqual({ _tag: "CatchingUp", target: 9, decided: 0 })
      yield* r.moved(4, Option.some(capabilities), { traffic: Effect.void, records: Effect.succeed(0) })
      expect((yield* Ref.get(r.status))._tag).toBe("CatchingUp")
    }))
})
