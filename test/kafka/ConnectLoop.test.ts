/**
 * The Kafka log's connect loop under TestClock: failed attempts are retried after a backoff
 * doubling to its cap, each reported once with its delay; a connection that ends is cleaned
 * up and replaced at once, its backoff starting over.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Clock, Deferred, Effect, Ref } from "effect"
import { TestClock } from "effect/testing"
import { connectLoop } from "../../src/adapters/kafka/ConnectLoop.ts"

/** A loop whose attempts fail while `up` is false; each success's connection ends when `end` is completed. */
const loop = Effect.gen(function*() {
  const up = yield* Ref.make(false)
  const attempts = yield* Ref.make<Array<number>>([])
  const failures = yield* Ref.make<Array<readonly [number, string, number]>>([])
  const ends = yield* Ref.make<Array<string>>([])
  const connections = yield* Ref.make<Array<Deferred.Deferred<string>>>([])
  yield* Effect.forkScoped(connectLoop({
    connect: Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* Ref.update(attempts, (a) => [...a, now])
      if (!(yield* Ref.get(up))) return yield* Effect.fail("ECONNREFUSED")
      const end = yield* Deferred.make<string>()
      yield* Ref.update(connections, (c) => [...c, end])
      return Deferred.await(end)
    }),
    initialDelayMs: 500,
    maxDelayMs: 3000,
    failed: (attempt, cause, delay) => Ref.update(failures, (f) => [...f, [attempt, String(Cause.squash(cause)), delay] as const]),
    ended: (reason) => Ref.update(ends, (e) => [...e, reason])
  }))
  return { up, attempts, failures, ends, connections }
})

describe("connectLoop (driven by TestClock)", () => {
  it.effect("retries with a backoff doubling to its cap, one report per failed attempt", () =>
    Effect.scoped(Effect.gen(function*() {
      const { attempts, connections, failures, up } = yield* loop
      yield* TestClock.adjust("10 seconds")
      // Attempts at 0, 0.5, 1.5, 3.5, 6.5 (capped: +3), 9.5 s.
      expect(yield* Ref.get(attempts)).toEqual([0, 500, 1500, 3500, 6500, 9500])
      expect((yield* Ref.get(failures)).map(([attempt, reason, delay]) => `${attempt} ${reason} ${delay}`)).toEqual([
        "1 ECONNREFUSED 500",
        "2 ECONNREFUSED 1000",
        "3 ECONNREFUSED 2000",
        "4 ECONNREFUSED 3000",
        "5 ECONNREFUSED 3000",
        "6 ECONNREFUSED 3000"
      ])
      yield* Ref.set(up, true)
      yield* TestClock.adjust(2499)
      expect((yield* Ref.get(connections)).length).toBe(0)
      yield* TestClock.adjust(1)
      expect((yield* Ref.get(connections)).length).toBe(1)
      expect((yield* Ref.get(attempts)).at(-1)).toBe(12_500)
    })))

  it.effect("a connection that ends is cleaned up and replaced at once, with the backoff starting over", () =>
    Effect.scoped(Effect.gen(function*() {
      const { attempts, connections, ends, failures, up } = yield* loop
      yield* TestClock.adjust(1500) // attempts at 0, 500, 1500: the third delay is 2000
      yield* Ref.set(up, true)
      yield* TestClock.adjust(2000)
      const [first] = yield* Ref.get(connections)
      expect(first).toBeDefined()
      // Down while connected: the connection ends; the next attempt fails and waits only 500 ms.
      yield* Ref.set(up, false)
      yield* Deferred.succeed(first as Deferred.Deferred<string>, "consumer crashed")
      yield* TestClock.adjust(0)
      expect(yield* Ref.get(ends)).toEqual(["consumer crashed"])
      expect((yield* Ref.get(failures)).at(-1)).toEqual([1, "ECONNREFUSED", 500])
      yield* Ref.set(up, true)
      yield* TestClock.adjust(500)
      expect((yield* Ref.get(connections)).length).toBe(2)
      expect(yield* Ref.get(attempts)).toEqual([0, 500, 1500, 3500, 3500, 4000])
    })))
})
