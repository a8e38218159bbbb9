/**
 * The broker the Kafka suites run against, picked once per test file:
 *
 * 1. a Docker engine is reachable: real Kafka (KRaft) through @testcontainers/kafka;
 * 2. else librdkafka's mock cluster, through the launcher in infra/mock-kafka (built here
 *    with make/gcc if needed; CI builds it in .ci/run);
 * 3. else none: the suites report skipped, with the reason (unless CAUSEWAY_REQUIRE_KAFKA_TESTS=1,
 *    as .ci/run sets: then they fail).
 *
 * The mock lacks CreateTopics, so topics are made through the launcher's stdin there; it can
 * also take brokers down and up. Each test uses its own topic prefix, so tests share a broker.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { existsSync, mkdtempSync, renameSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { createInterface, type Interface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Kafka, logLevel } from "kafkajs"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..")
const launcherDir = join(root, "infra", "mock-kafka")
const launcherPath = join(launcherDir, "build", "mock_kafka")

/** A running broker the tests can use. */
export interface TestBroker {
  readonly kind: "testcontainers" | "mock"
  readonly brokers: ReadonlyArray<string>
  /** Create the adapter's topics under `prefix` (events, sequence, and the leader election's control topic; the adapters would create them on real Kafka too). */
  readonly createTopics: (prefix: string, partitions: number) => Promise<void>
  /** Take every broker down (connections dropped and refused) or bring them back. */
  readonly down: () => Promise<void>
  readonly up: () => Promise<void>
  readonly stop: () => Promise<void>
}

/**
 * Create the log's topics under `prefix` on a broker that implements CreateTopics (real Kafka):
 * events (`partitions`), sequence and control (one each); `replicationFactor` absent: the
 * broker's default.
 */
export const createTopicsOn = async (brokers: ReadonlyArray<string>, prefix: string, partitions: number, replicationFactor?: number): Promise<void> => {
  const rf = replicationFactor === undefined ? {} : { replicationFactor }
  const admin = new Kafka({ brokers: [...brokers], logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: `${prefix}events`, numPartitions: partitions, ...rf },
        { topic: `${prefix}sequence`, numPartitions: 1, ...rf },
        { topic: `${prefix}control`, numPartitions: 1, ...rf }
      ]
    })
  } finally {
    await admin.disconnect()
  }
}

/** The broker, or why there is none. */
export type BrokerChoice = { readonly broker: TestBroker } | { readonly skipped: string }

const dockerReachable = (): boolean => {
  try {
    execFileSync("docker", ["version", "--format", "{{.Server.Version}}"], { stdio: "pipe", timeout: 5000 })
    return true
  } catch {
    return false
  }
}

/** Build the launcher if it is missing or older than its source; atomic, so parallel files may race. */
export const buildLauncher = (): string => {
  const source = join(launcherDir, "mock_kafka.c")
  if (existsSync(launcherPath) && statSync(launcherPath).mtimeMs >= statSync(source).mtimeMs) return launcherPath
  const out = mkdtempSync(join(tmpdir(), "mock-kafka-build-"))
  execFileSync("make", ["-s", "-C", launcherDir, `OUT=${out}`], { stdio: "pipe" })
  execFileSync("mkdir", ["-p", dirname(launcherPath)])
  renameSync(join(out, "mock_kafka"), launcherPath)
  return launcherPath
}

const startMock = async (): Promise<TestBroker> => {
  const child: ChildProcessWithoutNullStreams = spawn(buildLauncher(), ["--brokers", "1"], { stdio: ["pipe", "pipe", "pipe"] })
  const lines: Interface = createInterface({ input: child.stdout })
  const queue: Array<string> = []
  const waiting: Array<(line: string) => void> = []
  lines.on("line", (line) => {
    const w = waiting.shift()
    if (w !== undefined) w(line)
    else queue.push(line)
  })
  let stderr = ""
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`mock_kafka exited with ${code}: ${stderr}`)))
  )
  exited.catch(() => undefined)
  const nextLine = (): Promise<string> => {
    const q = queue.shift()
    if (q !== undefined) return Promise.resolve(q)
    return Promise.race([new Promise<string>((r) => waiting.push(r)), exited])
  }
  const command = async (line: string): Promise<void> => {
    child.stdin.write(`${line}\n`)
    const answer = await nextLine()
    if (!answer.startsWith("ok")) throw new Error(`mock_kafka ${line}: ${answer}`)
  }
  const first = await nextLine()
  if (!first.startsWith("bootstrap ")) throw new Error(`mock_kafka said ${first}`)
  const brokers = first.slice("bootstrap ".length).split(",")
  if ((await nextLine()) !== "ready") throw new Error("mock_kafka did not get ready")
  return {
    kind: "mock",
    brokers,
    createTopics: async (prefix, partitions) => {
      await command(`create ${prefix}events ${partitions}`)
      await command(`create ${prefix}sequence 1`)
      await command(`create ${prefix}control 1`)
    },
    down: () => command("down -1"),
    up: () => command("up -1"),
    stop: async () => {
      child.stdin.end()
      await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once("exit", r)))
    }
  }
}

const startContainer = async (): Promise<TestBroker> => {
  const { KafkaContainer } = await import("@testcontainers/kafka")
  const container = await new KafkaContainer("confluentinc/cp-kafka:7.9.0")
    .withKraft()
    .withEnvironment({ KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: "0" })
    .start()
  const brokers = [`${container.getHost()}:${container.getMappedPort(9093)}`]
  const docker = (verb: string) => {
    execFileSync("docker", [verb, container.getId()], { stdio: "pipe" })
    return Promise.resolve()
  }
  return {
    kind: "testcontainers",
    brokers,
    createTopics: (prefix, partitions) => createTopicsOn(brokers, prefix, partitions, 1),
    down: () => docker("pause"),
    up: () => docker("unpause"),
    stop: async () => {
      await container.stop()
    }
  }
}

/** Start the broker for this test file. */
export const startBroker = async (): Promise<BrokerChoice> => {
  if (dockerReachable()) return { broker: await startContainer() }
  try {
    return { broker: await startMock() }
  } catch (cause) {
    const reason = `no Docker engine, and the librdkafka mock cluster is unavailable (${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)}); install librdkafka-dev, gcc and make`
    // CI sets this: there the suites must run, never skip.
    if (process.env["CAUSEWAY_REQUIRE_KAFKA_TESTS"] === "1") throw new Error(reason)
    return { skipped: reason }
  }
}

/** A topic prefix no other test uses. */
export const freshPrefix = (label: string): string => `t.${label}.${randomUUID().slice(0, 8)}.`
