/**
 * Readiness follows the broker connection after start: the whole service on a Kafka log,
 * the brokers taken down → /readyz 503 with the reason within the grace (plus a margin), the
 * brokers back → /readyz 200, appends work again, and nothing acknowledged is lost.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Logger, Scope } from "effect"
import * as KafkaCausalLog from "../../src/adapters/kafka/KafkaCausalLog.ts"
import { coreLayer } from "../../src/main.ts"
import * as Server from "../http/support/server.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"
import { freshTopics, optionsFor } from "./support/kafkaLayer.ts"
import { freshPrefix, startBroker } from "./support/TestBroker.ts"

const choice = await startBroker()
const graceMs = 1500
const marginMs = 5000

if ("skipped" in choice) {
  describe.skip(`Kafka readiness (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())

  describe(`Kafka readiness (${broker.kind})`, () => {
    it.live("brokers lost after start: /readyz 503 with the reason, then 200 again once they are back; appends resume", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("readyz")
        yield* Effect.promise(() => broker.createTopics(prefix, 3))
        const scope = yield* Scope.make()
        try {
          const context = yield* Layer.build(Server.layer({
            core: (config, runner) =>
              coreLayer({ ...config, log: { kind: "kafka", brokers: broker.brokers, topicPrefix: prefix, disconnectGraceMs: graceMs } }, runner)
          })).pipe(Scope.provide(scope))
          const run = <A, E>(effect: Effect.Effect<A, E, Server.TestServer>) => Effect.provideContext(effect, context)
          const readyz = run(Server.get("/readyz"))
          const key = testKey("readyz-kafka")

          expect((yield* Server.eventually(readyz, (r) => r.status === 200, 15_000)).status).toBe(200)
          const before = yield* run(Server.post(envelope(key, { nonce: 1, lamport: 1 })))
          expect(before.status).toBe(201)

          yield* Effect.promise(() => broker.down())
          const lost = yield* Server.eventually(readyz, (r) => r.status === 503, graceMs + marginMs)
          expect(lost.status).toBe(503)
          expect(lost.json).toMatchObject({ _tag: "NotReady", ready: false })
          expect(lost.json.reason).toMatch(/lost the Kafka brokers: no fetch or produce has succeeded since \S+ \(.+\)/)
          // Liveness is unaffected (no restart wanted), and reads still answer from the local copy.
          expect((yield* run(Server.get("/healthz"))).status).toBe(200)
          expect((yield* run(Server.get(`/v1/messages/${before.json.id}`))).status).toBe(200)
          // An append during the outage: kafkajs retries it; it either lands or fails with 503.
          const during = yield* Effect.forkChild(run(Server.post(envelope(key, { nonce: 2, lamport: 2 }))))

          yield* Effect.promise(() => broker.up())
          const back = yield* Server.eventually(readyz, (r) => r.status === 200, 20_000)
          expect(back.status).toBe(200)
          const after = yield* run(Server.post(envelope(key, { nonce: 3, lamport: 3 })))
          expect(after.status).toBe(201)
          const outage = yield* Fiber.join(during)
          expect([201, 503]).toContain(outage.status)
          // Every acknowledged message is in the log.
          for (const ack of [before, after, ...(outage.status === 201 ? [outage] : [])]) {
            expect((yield* run(Server.get(`/v1/messages/${ack.json.id}`))).status).toBe(200)
          }
        } finally {
          yield* Scope.close(scope, Exit.void)
        }
      }), 40_000)

    it.live("the adapter: Ready → Disconnected (with the reason) → Ready, one log line per transition, no acknowledged record lost", () => {
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => {
        lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const lostLines = () => lines.filter((l) => l.includes("kafka log: lost the brokers"))
      const backLines = () => lines.filter((l) => l.includes("answer again after"))
      return Effect.scoped(Effect.gen(function*() {
        const prefix = yield* freshTopics(broker, "status")
        const handle = yield* KafkaCausalLog.start(optionsFor(broker, prefix, { disconnectGraceMs: graceMs }))
        yield* handle.ready
        const key = testKey("status-kafka")
        const first = yield* handle.service.append([recordOf(envelope(key, { nonce: 1, lamport: 1 }))])
        expect(handle.service.unavailable).toBeDefined()
        const unavailable = handle.service.unavailable ?? Effect.die("no readiness")
        expect((yield* unavailable)._tag).toBe("None")

        yield* Effect.promise(() => broker.down())
        const lost = yield* Server.eventually(handle.status, (s) => s._tag === "Disconnected", graceMs + marginMs)
        expect(lost._tag).toBe("Disconnected")
        expect(lost._tag === "Disconnected" && lost.reason).toMatch(/ECONNREFUSED|Connection|timeout|answer/i)
        const reason = yield* unavailable
        expect(reason._tag === "Some" && reason.value).toMatch(/^lost the Kafka brokers/)
        // Several more checks of the watcher while still down: still one line for the transition.
        yield* Server.eventually(handle.status, () => false, graceMs)
        expect((yield* handle.status)._tag).toBe("Disconnected")
        expect(lostLines().length).toBe(1)
        expect(lostLines()[0]).toMatch(new RegExp(`lost the brokers ${broker.brokers.join(",")}: no fetch or produce has succeeded for \\d+ ms`))

        yield* Effect.promise(() => broker.up())
        const back = yield* Server.eventually(handle.status, (s) => s._tag === "Ready", 20_000)
        expect(back._tag).toBe("Ready")
        expect((yield* unavailable)._tag).toBe("None")
        expect(backLines().length).toBe(1)
        const second = yield* handle.service.append([recordOf(envelope(key, { nonce: 2, lamport: 2 }))])
        expect(second[0]?.offset).toBe(1)
        expect((yield* handle.service.read(0, 10)).map((r) => r.id)).toEqual([first[0]?.id, second[0]?.id])
        expect(lostLines().length).toBe(1)
      })).pipe(Effect.provide(Logger.layer([capture])))
    }, 40_000)
  })
}
