/**
 * The Kafka log's broker health without a broker and without waiting: the state machine
 * (`BrokerHealth`) with explicit times, and its watcher (`BrokerWatch`) driven by TestClock:
 * brokers silent past the grace with a failure → Disconnected (one log line), traffic → Ready
 * again, a quiet consumer whose probe is answered stays Ready, an unanswered probe times out.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Logger, Option, Ref } from "effect"
import { TestClock } from "effect/testing"
import { BrokerHealth } from "../../src/adapters/kafka/BrokerHealth.ts"
import { watchBrokers } from "../../src/adapters/kafka/BrokerWatch.ts"
import type { Capabilities, ConnectionStatus } from "../../src/adapters/kafka/KafkaConnectionStatus.ts"

const capabilities: Capabilities = { idempotentProducer: true, describeConfigs: true, maxRecordBytes: 1000 }
const ready: ConnectionStatus = { _tag: "Ready", capabilities }
const T0 = 1_700_000_000_000

describe("BrokerHealth (the state machine)", () => {
  it("derives its probe and tick periods from the grace", () => {
    const h = new BrokerHealth(1500, T0)
    expect([h.probeAfterMs, h.probeTimeoutMs, h.tickMs]).toEqual([500, 750, 250])
    const tight = new BrokerHealth(60, T0)
    expect([tight.probeAfterMs, tight.probeTimeoutMs, tight.tickMs]).toEqual([20, 100, 20])
  })

  it("Ready → Disconnected only when silent past the grace and something failed", () => {
    const h = new BrokerHealth(1000, T0)
    // A quiet consumer (no failure) stays ready however long it is silent.
    expect(h.step(ready, T0 + 60_000)).toBeUndefined()
    h.failed("produce events: ECONNREFUSED")
    // At the grace exactly: still ready.
    expect(h.step(ready, T0 + 1000)).toBeUndefined()
    const lost = h.step(ready, T0 + 1001)
    expect(lost).toEqual({
      _tag: "Lost",
      next: { _tag: "Disconnected", capabilities, lastContact: T0, since: T0 + 1001, reason: "produce events: ECONNREFUSED" },
      silentMs: 1001
    })
  })

  it("traffic clears the failure and restarts the grace", () => {
    const h = new BrokerHealth(1000, T0)
    h.failed("fetch: timeout")
    h.traffic(T0 + 900)
    expect(h.step(ready, T0 + 1500)).toBeUndefined()
    h.failed("fetch: timeout again")
    expect(h.step(ready, T0 + 1900)).toBeUndefined()
    expect(h.step(ready, T0 + 1901)?._tag).toBe("Lost")
  })

  it("a probe's answer counts as contact (no loss) but not as traffic (no recovery)", () => {
    const h = new BrokerHealth(1000, T0)
    h.answered(T0 + 800)
    h.failed("fetch: timeout")
    expect(h.step(ready, T0 + 1500)).toBeUndefined()
    expect(h.step(ready, T0 + 1800)).toBeUndefined()
    const lost = h.step(ready, T0 + 1801)
    expect(lost?._tag).toBe("Lost")
    // The outage is counted from the last traffic (T0), not the probe's answer.
    expect(lost?._tag === "Lost" && [lost.silentMs, lost.next.lastContact]).toEqual([1801, T0])
    const down = lost?.next as ConnectionStatus
    h.answered(T0 + 2000)
    expect(h.step(down, T0 + 2100)).toBeUndefined()
  })

  it("Disconnected → Ready at the first traffic after the loss; a newer failure only updates the reason", () => {
    const h = new BrokerHealth(1000, T0)
    h.failed("first")
    const lost = h.step(ready, T0 + 2000)
    const down = lost?.next as ConnectionStatus
    expect(h.step(down, T0 + 2100)).toBeUndefined()
    h.failed("second")
    expect(h.step(down, T0 + 2200)).toEqual({ _tag: "Reason", next: { ...down, reason: "second" } })
    h.traffic(T0 + 3000)
    expect(h.step(down, T0 + 3000)).toEqual({ _tag: "Back", next: ready, outageMs: 3000 })
  })

  it("probes only a ready (or lost) log silent past probeAfterMs, one probe at a time", () => {
    const h = new BrokerHealth(1500, T0)
    const connecting: ConnectionStatus = { _tag: "Connecting", attempt: 1, lastError: undefined }
    expect(h.probeDue(ready, T0 + 500)).toBe(false)
    expect(h.probeDue(connecting, T0 + 501)).toBe(false)
    expect(h.probeDue(ready, T0 + 501)).toBe(true)
    expect(h.probeDue(ready, T0 + 600)).toBe(false)
    h.probeDone()
    expect(h.probeDue(ready, T0 + 700)).toBe(true)
    h.probeDone()
    h.traffic(T0 + 800)
    expect(h.probeDue(ready, T0 + 1300)).toBe(false)
  })
})

describe("BrokerWatch (driven by TestClock)", () => {
  const graceMs = 1500

  /** A watcher on a Ready log whose probe is `probe`, with its log lines captured. */
  const watching = (probe: Effect.Effect<unknown, unknown>) =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => {
        lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const health = new BrokerHealth(graceMs, yield* Clock.currentTimeMillis)
      const status = yield* Ref.make<ConnectionStatus>(ready)
      const probes = yield* Ref.make(0)
      yield* Effect.forkScoped(
        watchBrokers({ health, status, brokers: "b1:9092", probe: Effect.succeed(Option.some(Ref.update(probes, (n) => n + 1).pipe(Effect.andThen(probe)))) }).pipe(
          Effect.provide(Logger.layer([capture]))
        )
      )
      return { health, status, probes, lines }
    })

  const now = Clock.currentTimeMillis

  it.effect("brokers silent past the grace → Disconnected with the reason, one log line; traffic → Ready again", () =>
    Effect.scoped(Effect.gen(function*() {
      const { health, lines, status } = yield* watching(Effect.fail(new Error("ECONNREFUSED")))
      health.failed("produce events: ECONNREFUSED")
      yield* TestClock.adjust(graceMs - 250)
      expect((yield* Ref.get(status))._tag).toBe("Ready")
      yield* TestClock.adjust(500)
      const lost = yield* Ref.get(status)
      expect(lost._tag).toBe("Disconnected")
      // The failed probes are the latest failure.
      expect(lost._tag === "Disconnected" && lost.reason).toBe("probe: ECONNREFUSED")
      expect(lost._tag === "Disconnected" && lost.lastContact).toBe(T0)
      // Still down for many more ticks: still the one line.
      yield* TestClock.adjust("10 seconds")
      expect((yield* Ref.get(status))._tag).toBe("Disconnected")
      expect(lines.filter((l) => l.includes("lost the brokers b1:9092: no fetch or produce has succeeded for"))).toHaveLength(1)

      health.traffic(yield* now)
      yield* TestClock.adjust(250)
      expect(yield* Ref.get(status)).toEqual(ready)
      expect(lines.filter((l) => l.includes("the brokers b1:9092 answer again after"))).toEqual([
        `kafka log: the brokers b1:9092 answer again after ${(yield* now) - 250 - T0} ms; ready`
      ])
    })))

  it.effect("a quiet consumer whose probes are answered stays Ready past the grace", () =>
    Effect.scoped(Effect.gen(function*() {
      const { health, probes, status } = yield* watching(Effect.void)
      // Fetches keep failing (kafkajs retrying while the consumer joins), but the brokers answer.
      for (let i = 0; i < 10; i++) {
        health.failed("consumer: joining the group")
        yield* TestClock.adjust("1 second")
        expect((yield* Ref.get(status))._tag).toBe("Ready")
      }
      expect(yield* Ref.get(probes)).toBeGreaterThan(5)
    })))

  it.effect("a probe the brokers never answer fails after probeTimeoutMs, and one probe is out at a time", () =>
    Effect.scoped(Effect.gen(function*() {
      const { health, probes, status } = yield* watching(Effect.never)
      yield* TestClock.adjust(health.probeAfterMs + health.tickMs)
      expect(yield* Ref.get(probes)).toBe(1)
      // Ticks while it is out send no second probe.
      yield* TestClock.adjust(health.probeTimeoutMs - health.tickMs)
      expect(yield* Ref.get(probes)).toBe(1)
      yield* TestClock.adjust(graceMs)
      const lost = yield* Ref.get(status)
      expect(lost._tag).toBe("Disconnected")
      expect(lost._tag === "Disconnected" && lost.reason).toBe(`probe: no answer within ${health.probeTimeoutMs} ms`)
      expect(yield* Ref.get(probes)).toBeGreaterThan(1)
    })))
})
