// The Kafka flags of `causeway serve`: --topic-prefix, --kafka-index and
// --kafka-disconnect-grace-ms (and their environment variables) decoded by `logConfig`, the
// adapter options `kafkaLogOptions` builds from them (the index defaulting to the data
// directory), and the exit code and message of the usage errors from the real CLI.
import { join } from "node:path"
import { Option, Result } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import { logConfig } from "../../src/cli/ServeCommand.ts"
import { kafkaIndexPath } from "../../src/Config.ts"
import { kafkaLogOptions } from "../../src/main.ts"
import { cleanup, cli, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const flags = (over: Partial<Parameters<typeof logConfig>[0]> = {}): Parameters<typeof logConfig>[0] => ({
  log: Option.some("kafka"),
  brokers: Option.some("k1:9092,k2:9092"),
  topicPrefix: Option.none(),
  index: Option.none(),
  disconnectGraceMs: Option.none(),
  ...over
})

const failure = (result: ReturnType<typeof logConfig>): string => {
  if (Result.isSuccess(result)) throw new Error(`expected a usage error, got ${JSON.stringify(result.success)}`)
  return result.failure
}

describe("logConfig: the Kafka flags", () => {
  it("defaults: the prefix causeway., no index (the data directory's), no grace (the adapter's 5 s)", () => {
    expect(logConfig(flags())).toStrictEqual(Result.succeed({ kind: "kafka", brokers: ["k1:9092", "k2:9092"], topicPrefix: "causeway." }))
  })

  it("--kafka-index: a path is kept, memory (or :memory:) is the in-memory index", () => {
    const index = (text: string) => {
      const r = logConfig(flags({ index: Option.some(text) }))
      return Result.isSuccess(r) && r.success.kind === "kafka" ? r.success.index : `failed: ${failure(r)}`
    }
    expect(index("/var/lib/causeway/idx.sqlite")).toBe("/var/lib/causeway/idx.sqlite")
    expect(index("memory")).toBe(":memory:")
    expect(index(":memory:")).toBe(":memory:")
    expect(failure(logConfig(flags({ index: Option.some("  ") })))).toBe("--kafka-index needs a file path or memory")
  })

  it("--kafka-disconnect-grace-ms: a positive whole number of ms, up to an hour", () => {
    const r = logConfig(flags({ disconnectGraceMs: Option.some(250) }))
    expect(Result.isSuccess(r) && r.success.kind === "kafka" ? r.success.disconnectGraceMs : undefined).toBe(250)
    for (const bad of [0, -1, 1.5, 3_600_001]) {
      expect(failure(logConfig(flags({ disconnectGraceMs: Option.some(bad) })))).toBe(
        `--kafka-disconnect-grace-ms ${bad} is not a whole number of milliseconds in 1..3600000`
      )
    }
  })

  it("the Kafka-only flags are a usage error with the embedded log, each named", () => {
    const embedded = { log: Option.none(), brokers: Option.none() }
    expect(logConfig(flags(embedded))).toStrictEqual(Result.succeed({ kind: "embedded" }))
    expect(failure(logConfig(flags({ ...embedded, index: Option.some("memory") })))).toBe("--kafka-index needs --log kafka")
    expect(failure(logConfig(flags({ log: Option.some("embedded"), disconnectGraceMs: Option.some(100) })))).toBe(
      "--kafka-disconnect-grace-ms needs --log kafka"
    )
    expect(failure(logConfig(flags({ ...embedded, topicPrefix: Option.some("x."), index: Option.some("/i") })))).toBe(
      "--topic-prefix, --kafka-index need --log kafka"
    )
  })
})

describe("kafkaLogOptions: what the adapter is given", () => {
  const kafka = { kind: "kafka", brokers: ["k:9092"], topicPrefix: "p." } as const

  it("the index defaults to kafka-index.sqlite in the data directory", () => {
    expect(kafkaIndexPath("/srv/data")).toBe(join("/srv/data", "kafka-index.sqlite"))
    expect(kafkaLogOptions(kafka, "/srv/data")).toStrictEqual({ brokers: ["k:9092"], topicPrefix: "p.", indexPath: join("/srv/data", "kafka-index.sqlite") })
  })

  it("a set index and grace are passed through", () => {
    expect(kafkaLogOptions({ ...kafka, index: ":memory:", disconnectGraceMs: 750 }, "/srv/data")).toStrictEqual({
      brokers: ["k:9092"],
      topicPrefix: "p.",
      indexPath: ":memory:",
      disconnectGraceMs: 750
    })
  })
})

describe("causeway serve: Kafka flag usage errors (exit 2)", () => {
  it("flags and environment variables alike", async () => {
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, Record<string, string>, RegExp]> = [
      [["--kafka-index", "memory"], {}, /--kafka-index needs --log kafka/],
      [[], { KAFKA_DISCONNECT_GRACE_MS: "100" }, /--kafka-disconnect-grace-ms needs --log kafka/],
      [[], { KAFKA_TOPIC_PREFIX: "x." }, /--topic-prefix needs --log kafka/],
      [["--log", "kafka", "--brokers", "a:1", "--kafka-disconnect-grace-ms", "0"], {}, /--kafka-disconnect-grace-ms 0 is not a whole number of milliseconds in 1\.\.3600000/],
      [["--log", "kafka", "--brokers", "a:1"], { KAFKA_DISCONNECT_GRACE_MS: "-5" }, /--kafka-disconnect-grace-ms -5 is not/],
      [["--log", "kafka", "--brokers", "a:1", "--kafka-disconnect-grace-ms", "soon"], {}, /kafka-disconnect-grace-ms/]
    ]
    const runs = await Promise.all(cases.map(([args, env]) => cli(["serve", "--port", "0", "--data-dir", tempDir(), ...args], { env })))
    runs.forEach((run, i) => {
      expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(cases[i]?.[2] as RegExp) })
    })
  }, 60_000)
})
