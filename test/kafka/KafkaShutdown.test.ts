/**
 * Closing the Kafka log stops everything it started, even while its consumer is still joining
 * its group (kafkajs cannot stop a joining consumer: the adapter stops it once it has joined,
 * and does not restart it after a crash). Shown by a process that closes the log and must
 * then end by itself, with the broker still up.
 */
import { spawn } from "node:child_process"
import { afterAll, describe, expect, it } from "vitest"
import { freshPrefix, startBroker } from "./support/TestBroker.ts"

const choice = await startBroker()

if ("skipped" in choice) {
  describe.skip(`Kafka shutdown (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())

  describe(`Kafka shutdown (${broker.kind})`, () => {
    it("a log closed while its consumer is still joining leaves nothing running: the process ends by itself", async () => {
      const prefix = freshPrefix("shutdown")
      await broker.createTopics(prefix, 3)
      const child = spawn(process.execPath, ["test/kafka/support/startAndClose.ts", broker.brokers.join(","), prefix], { stdio: ["ignore", "pipe", "pipe"] })
      let out = ""
      let err = ""
      child.stdout.on("data", (d: Buffer) => (out += d.toString()))
      child.stderr.on("data", (d: Buffer) => (err += d.toString()))
      const exit = await new Promise<{ code: number | null; ended: boolean }>((resolve) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL")
          resolve({ code: null, ended: false })
        }, 20_000)
        child.once("exit", (code) => {
          clearTimeout(timer)
          resolve({ code, ended: true })
        })
      })
      // The case under test: the log closed before its consumer had joined.
      expect(out).toContain("joined before close: 0\n")
      expect(out).toContain("closed\n")
      expect({ ...exit, err: exit.code === 0 ? "" : err }).toEqual({ code: 0, ended: true, err: "" })
    }, 30_000)
  })
}
