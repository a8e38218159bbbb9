/**
 * `causeway serve --log kafka` end to end, in a child process: with the brokers unreachable
 * it stays up, answers /healthz 200 and /readyz 503 with the reason and logs each retry; once
 * they answer it serves, accepts messages into Kafka, and shuts down cleanly. Plus the usage
 * errors of the selection flags.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import { cleanup, cli, eventually, getJson, start, tempDir, waitForLine } from "../cli/support/cli.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { forward, freePort } from "./support/Forwarder.ts"
import { freshPrefix, startBroker } from "./support/TestBroker.ts"

const choice = await startBroker()
afterAll(cleanup)

describe("causeway serve --log kafka: usage", () => {
  it("exit 2 when Kafka is selected without usable brokers, or the log kind is unknown", async () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, RegExp]> = [
      [["--log", "kafka"], /--log kafka needs --brokers/],
      [["--log", "kafka", "--brokers", "localhost"], /is not host:port/],
      [["--log", "kafka", "--brokers", "a:1,b:99999"], /"b:99999" is not host:port/],
      [["--log", "kafka", "--brokers", "a:1", "--topic-prefix", "bad/prefix"], /--topic-prefix/],
      [["--log", "cassandra"], /is not embedded or kafka/]
    ]
    const runs = await Promise.all(cases.map(([args]) => cli(["serve", "--port", "0", "--data-dir", tempDir(), ...args])))
    runs.forEach((run, i) => {
      expect(run.code).toBe(2)
      expect(run.stderr).toMatch(cases[i]?.[1] as RegExp)
    })
  }, 30_000)
})

if ("skipped" in choice) {
  describe.skip(`causeway serve --log kafka (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())

  describe(`causeway serve --log kafka (${broker.kind})`, () => {
    it.live("waits for unreachable brokers without crashing (/readyz 503), then serves and appends to Kafka", () =>
      Effect.gen(function*() {
        const prefix = freshPrefix("serve")
        yield* Effect.promise(() => broker.createTopics(prefix, 3))
        const brokersPort = yield* freePort()
        const httpPort = yield* freePort()
        const url = `http://127.0.0.1:${httpPort}`
        const server = start([
          "serve", "--log", "kafka", "--brokers", `127.0.0.1:${brokersPort}`, "--topic-prefix", prefix,
          "--port", String(httpPort), "--data-dir", tempDir()
        ])
        const scope = yield* Scope.make()
        try {
          const output = () => server.stdout() + server.stderr()
          yield* Effect.promise(() => waitForLine(server.child, output, (l) => l.includes("cannot connect to 127.0.0.1:")))
          expect((yield* Effect.promise(() => getJson(`${url}/healthz`))).status).toBe(200)
          const notReady = yield* Effect.promise(() => getJson(`${url}/readyz`))
          expect(notReady.status).toBe(503)
          expect(notReady.body).toMatchObject({ _tag: "NotReady", ready: false })
          expect(notReady.body.reason).toMatch(/connecting to Kafka \(attempt \d+ failed: .*ECONNREFUSED/)
          expect((yield* Effect.promise(() => getJson(`${url}/v1/projections`))).status).toBe(503)
          yield* Effect.sleep("1 second")
          expect(server.child.exitCode).toBe(null) // still up: no crash loop

          // The brokers become reachable at that address.
          yield* forward(brokersPort, broker.brokers[0] as string).pipe(Scope.provide(scope))
          yield* Effect.promise(() => waitForLine(server.child, output, (l) => l.includes("\"causeway serving\""), 30_000))
          yield* Effect.promise(() => eventually(() => getJson(`${url}/readyz`), (r) => r.status === 200, 15_000))
          const message = envelope(testKey("serve-kafka"), { nonce: 1, lamport: 1 })
          const posted = yield* Effect.promise(() =>
            fetch(`${url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(message) })
              .then(async (r) => ({ status: r.status, body: await r.json() as { offset: number } })))
          expect(posted.status).toBe(201)
          expect(posted.body.offset).toBe(0)
          const stopped = yield* Effect.promise(() => server.stop("SIGTERM"))
          expect(stopped.code).toBe(0)
        } finally {
          yield* Effect.promise(() => server.stop("SIGKILL"))
          yield* Scope.close(scope, Exit.void)
        }
      }), 60_000)
  })
}
