/**
 * `causeway replay` on the Kafka log, end to end in child processes: a server on Kafka takes
 * messages (and the topics a forged one, which it refuses); then replay reaches the server's
 * live digests from the local index it keeps in its data directory (which replay used to call
 * "no log"), beside the running server; after a graceful stop `--verify` finds every snapshot
 * equal, from the index and from the topics themselves (`--log kafka --brokers`, read by a
 * consumer of its own that produces nothing, each event checked as the server checks it).
 * What replay cannot do it says, with exit 1 or 2. `log tail` reads the index too.
 */
import { randomUUID } from "node:crypto"
import { join } from "node:path"
import { Effect } from "effect"
import { Kafka, logLevel } from "kafkajs"
import { afterAll, describe, expect, it } from "vitest"
import { encodeSequence, eventHeaders, partitionFor } from "../../src/adapters/kafka/KafkaRecordCodec.ts"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import { kafkaIndexPath, logPath } from "../../src/Config.ts"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { cleanup, cli, closedPort, eventually, getJson, lines, startServer, tempDir } from "../cli/support/cli.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"
import { freshPrefix, startBroker } from "./support/TestBroker.ts"

const choice = await startBroker()
afterAll(cleanup)

interface Status {
  readonly name: string
  readonly offset: number
  readonly digest: string
}

/** Post `count` envelopes from several senders straight to the API. */
const seed = async (url: string, count: number): Promise<void> => {
  const senders = [testKey("kreplay-a"), testKey("kreplay-b", "secp256k1"), testKey("kreplay-c")]
  const batch = Array.from({ length: count }, (_, i) =>
    envelope(senders[i % senders.length] as KeyFile, { nonce: i + 1, lamport: i + 1, payload: { component: `c${i}`, status: "ok", latencyMs: i } }))
  const response = await fetch(`${url}/v1/messages`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(batch) })
  const body = await response.json() as { results: Array<{ ok: boolean }> }
  expect(response.status).toBe(200)
  expect(body.results.every((r) => r.ok)).toBe(true)
}

if ("skipped" in choice) {
  describe.skip(`causeway replay on Kafka (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())
  const brokers = broker.brokers.join(",")

  /** Produce one event whose signature is zeros (a writer outside causeway), named by a sequence record of its own. */
  const forge = async (prefix: string): Promise<void> => {
    const forged = { ...envelope(testKey("kreplay-victim"), { nonce: 9, lamport: 1 }), sig: "00".repeat(64) }
    const record = { ...recordOf(forged as never), body: canonicalize(forged) }
    const producer = new Kafka({ clientId: "forger", brokers: [...broker.brokers], logLevel: logLevel.NOTHING }).producer()
    await producer.connect()
    try {
      const partition = partitionFor(record.sender, 3)
      const sent = await producer.send({
        topic: `${prefix}events`,
        acks: -1,
        messages: [{ partition, key: record.sender, value: record.body, headers: eventHeaders(record, 1_000) }]
      })
      await producer.send({
        topic: `${prefix}sequence`,
        acks: -1,
        messages: [{ partition: 0, value: encodeSequence({ v: 1, batch: randomUUID(), events: [[partition, Number(sent[0]?.baseOffset), record.id]] }) }]
      })
    } finally {
      await producer.disconnect()
    }
  }

  /** The sequence topic's end: what was produced to it. */
  const sequenceEnd = async (prefix: string): Promise<string> => {
    const admin = new Kafka({ brokers: [...broker.brokers], logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      return (await admin.fetchTopicOffsets(`${prefix}sequence`)).map((p) => p.high).join(",")
    } finally {
      await admin.disconnect()
    }
  }

  describe(`causeway replay on Kafka (${broker.kind})`, () => {
    it("replays the local index beside the server, then --verify from the index and from the topics: equal, exit 0", async () => {
      const prefix = freshPrefix("replay")
      await broker.createTopics(prefix, 3)
      const dataDir = join(tempDir(), "data")
      const kafka = ["--log", "kafka", "--brokers", brokers, "--topic-prefix", prefix]
      const server = await startServer(dataDir, { args: ["--port", "0", "--data-dir", dataDir, ...kafka] })
      let stopped = false
      try {
        await seed(server.url, 20)
        await forge(prefix)
        const total = 20
        const live = await eventually(
          async () => (await getJson(`${server.url}/v1/projections`)).body as Array<Status>,
          (ps) => ps.length > 0 && ps.every((p) => p.offset === total)
        )
        const liveDigests = Object.fromEntries(live.map((p) => [p.name, p.digest]))
        const refusedByServer = await eventually(() => fetch(`${server.url}/metrics`).then((r) => r.text()), (m) => m.includes("causeway_log_records_refused_total"))
        expect(refusedByServer).toMatch(/causeway_log_records_refused_total\{[^}]*kind="signature"[^}]*\} 1\b/)

        // The data directory holds the index, not an embedded log: replay reads the index.
        const beside = await cli(["replay", "--data-dir", dataDir, "--json"])
        expect(beside.code, beside.stderr).toBe(0)
        expect(beside.stdout).toBe(`${JSON.stringify({ offset: total, digests: liveDigests })}\n`)
        expect(beside.stderr).toBe(
          `causeway: replaying ${kafkaIndexPath(dataDir)}, a Kafka log's local index of ${prefix}events + ${prefix}sequence: the records its server merged (--brokers reads the topics themselves)\n`
        )

        expect((await server.stop("SIGTERM")).code).toBe(0)
        stopped = true

        const expected = { ok: true, projections: live.map((p) => ({ name: p.name, status: "equal", offset: total, snapshot: p.digest, replayed: p.digest })) }
        const fromIndex = await cli(["replay", "--data-dir", dataDir, "--verify", "--json"])
        expect(fromIndex.code, fromIndex.stderr).toBe(0)
        expect(JSON.parse(fromIndex.stdout)).toEqual(expected)

        const before = await sequenceEnd(prefix)
        const fromTopics = await cli(["replay", "--data-dir", dataDir, "--verify", "--json", ...kafka], { timeoutMs: 90_000 })
        expect(fromTopics.code, fromTopics.stderr).toBe(0)
        expect(JSON.parse(fromTopics.stdout)).toEqual(expected)
        // (kafkajs may add a Node warning of its own: only causeway's lines are compared.)
        expect(lines(fromTopics.stderr).filter((l) => l.startsWith("causeway: "))).toEqual([
          `causeway: reading the Kafka log ${prefix}events + ${prefix}sequence on ${brokers} from the beginning`,
          expect.stringMatching(new RegExp(`^causeway: kafka log: event ${prefix.replaceAll(".", "\\.")}events\\[\\d\\]@\\d+ refused \\(signature\\): the signature does not verify`)),
          expect.stringMatching(/^causeway: kafka log: sequence record 1 skipped: event \d+:\d+ is not available$/),
          "causeway: 1 events in the topics failed the record check and got no offset, as on every server ({\"signature\":1})"
        ])
        // A reader: nothing produced.
        expect(await sequenceEnd(prefix)).toBe(before)

        const text = await cli(["replay", "--data-dir", dataDir, ...kafka], { timeoutMs: 90_000 })
        expect(text.code, text.stderr).toBe(0)
        expect(text.stdout).toMatch(new RegExp(`^replayed ${total} records in [0-9.]+ s`))
        for (const p of live) expect(text.stdout).toContain(`${p.name}  ${p.digest}`)

        // log tail reads the same index.
        const tail = await cli(["log", "tail", "--data-dir", dataDir, "--limit", "3"])
        expect(tail.code, tail.stderr).toBe(0)
        expect(lines(tail.stdout).map((l) => (JSON.parse(l) as { offset: number }).offset)).toEqual([0, 1, 2])

        // What it cannot do, it says.
        const [noTopics, noBrokers, memory, embedded, securityAlone, wrongPrefix, wrongAdmin] = await Promise.all([
          cli(["replay", "--data-dir", dataDir, "--log", "kafka", "--brokers", brokers, "--topic-prefix", "t.absent."], { timeoutMs: 90_000 }),
          closedPort().then((port) => cli(["replay", "--data-dir", dataDir, "--brokers", `127.0.0.1:${port}`, "--topic-prefix", prefix], { timeoutMs: 90_000 })),
          cli(["replay", "--data-dir", dataDir, "--log", "kafka", "--kafka-index", "memory"]),
          cli(["replay", "--data-dir", dataDir, "--log", "embedded"]),
          cli(["replay", "--data-dir", dataDir, "--kafka-ssl-ca", "/nonexistent/ca.pem"]),
          cli(["replay", "--data-dir", dataDir, "--topic-prefix", "other."]),
          cli(["replay", "--data-dir", dataDir, "--cluster-admin", "ab".repeat(32)])
        ])
        expect([noTopics.code, noTopics.stderr]).toEqual([1, expect.stringContaining("cannot read the Kafka log: connecting to Kafka (attempt 4 failed: topics t.absent.events, t.absent.sequence do not exist (a reader never creates them))")])
        expect([noBrokers.code, noBrokers.stderr]).toEqual([1, expect.stringMatching(/cannot read the Kafka log: connecting to Kafka \(attempt 4 failed: .*ECONNREFUSED/)])
        expect([memory.code, memory.stderr]).toEqual([2, expect.stringContaining("--kafka-index memory: such an index lives in its server's memory only; read the topics themselves with --brokers host:port")])
        expect([embedded.code, embedded.stderr]).toEqual([1, expect.stringContaining(`no embedded log in ${dataDir} (expected ${logPath(dataDir)}); it holds a Kafka log's local index, ${kafkaIndexPath(dataDir)} (--log kafka)`)])
        expect([securityAlone.code, securityAlone.stderr]).toEqual([2, expect.stringContaining("--kafka-ssl-ca needs --brokers")])
        expect([wrongPrefix.code, wrongPrefix.stderr]).toEqual([1, expect.stringContaining(`mirrors the topics ${prefix}events and ${prefix}sequence, not those of --topic-prefix other.`)])
        expect([wrongAdmin.code, wrongAdmin.stderr]).toEqual([1, expect.stringContaining(`the snapshots in the data directory were folded as a deployment of one, not under --cluster-admin ${"ab".repeat(32)}`)])

        // An embedded log beside the index (the directory served on both): replay asks which;
        // and the snapshots, made from the Kafka log, are not this embedded log's.
        const other = Array.from({ length: total }, (_, i) => recordOf(envelope(testKey("kreplay-other"), { nonce: i + 1, lamport: i + 1 })))
        const lastId = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
          const log = yield* SqliteCausalLog.make({ path: logPath(dataDir) })
          yield* log.append(other)
          const index = yield* SqliteCausalLog.make({ path: kafkaIndexPath(dataDir), readOnly: true })
          return (yield* index.read(total - 1, total))[0]?.id
        })))
        const both = await cli(["replay", "--data-dir", dataDir])
        expect([both.code, both.stderr]).toEqual([2, expect.stringContaining(`holds both an embedded log (${logPath(dataDir)}) and a Kafka log's local index (${kafkaIndexPath(dataDir)}): say which to replay with --log embedded or --log kafka`)])
        const chosen = await cli(["replay", "--data-dir", dataDir, "--log", "kafka", "--verify", "--json"])
        expect([chosen.code, JSON.parse(chosen.stdout)]).toEqual([0, expected])
        const mismatched = await cli(["replay", "--data-dir", dataDir, "--log", "embedded", "--verify"])
        expect(mismatched.code).toBe(1)
        expect(mismatched.stdout).toContain(`log-index @ offset ${total}: snapshot ${liveDigests["log-index"]?.slice(0, 16)} replay `)
        expect(mismatched.stdout).toContain(
          `DIFFERS (the snapshot was made from another log: it ends with record ${lastId}, this log's record at offset ${total - 1} is ${other[total - 1]?.id})`
        )
      } finally {
        if (!stopped) await server.stop()
      }
    }, 240_000)
  })
}
