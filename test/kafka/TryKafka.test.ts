/**
 * README's "Try the Kafka log", run as written: its commands are read from the README
 * (they must be exactly these) and run through `sh -c` from the repository, with only the
 * placeholders filled in: the mock's bootstrap address for 127.0.0.1:PORT, a temporary
 * directory for ./data-kafka and try.json, and a free HTTP port (PORT for the server, --url
 * for submit) instead of 8080, which another server may hold. Ctrl-C is SIGINT to the
 * server's process group, as a terminal sends it; Ctrl-D is closing the mock's stdin.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { baseEnv, cleanup, closedPort, lines, root, tempDir, waitForLine } from "../cli/support/cli.ts"
import { buildLauncher } from "./support/TestBroker.ts"

afterAll(cleanup)

/** The commands of the README section, in order. */
const documented = [
  "npm run kafka:mock",
  "npm start -- --log kafka --brokers 127.0.0.1:PORT --data-dir ./data-kafka",
  "npx causeway keygen --out try.json",
  "npx causeway submit --key try.json --type NetworkHealth --payload '{\"component\":\"try\",\"status\":\"ok\",\"latencyMs\":1}'",
  "npx causeway replay --data-dir ./data-kafka --verify",
  "npx causeway replay --data-dir ./data-kafka --verify --brokers 127.0.0.1:PORT"
]

/** The shell commands of the README section `heading`, comments dropped. */
const commandsOf = (heading: string): Array<string> => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const start = readme.indexOf(`\n${heading}\n`)
  expect(start, heading).toBeGreaterThan(0)
  const rest = readme.slice(start + heading.length + 2)
  const section = rest.slice(0, rest.search(/\n#{2,3} /))
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => lines(m[1] ?? ""))
    .map((l) => l.replace(/\s+#\s.*$/, "").trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
}

let launcher: string | undefined
let unavailable: string | undefined
try {
  launcher = buildLauncher()
} catch (e) {
  unavailable = e instanceof Error ? e.message.split("\n")[0] : String(e)
  if (process.env["CAUSEWAY_REQUIRE_KAFKA_TESTS"] === "1") throw e
}

interface Shell {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

/** `sh -c command` from the repository, in a process group of its own (so it can be sent Ctrl-C). */
const shell = (command: string, env: Record<string, string> = {}, stdin: "pipe" | "ignore" = "ignore"): Shell => {
  const child = spawn("sh", ["-c", command], {
    cwd: root,
    env: { ...baseEnv(), npm_config_update_notifier: "false", ...env },
    stdio: [stdin, "pipe", "pipe"],
    detached: true
  })
  let out = ""
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d))
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
  return { child, output: () => out, exited }
}

/** Run a command to its end. */
const run = async (command: string, timeoutMs = 90_000) => {
  const s = shell(command)
  const timer = setTimeout(() => s.child.pid !== undefined && process.kill(-s.child.pid, "SIGKILL"), timeoutMs)
  const code = await s.exited
  clearTimeout(timer)
  return { code, output: s.output() }
}

const killGroup = (s: Shell | undefined): void => {
  if (s?.child.pid !== undefined && s.child.exitCode === null) {
    try {
      process.kill(-s.child.pid, "SIGKILL")
    } catch {
      // already gone
    }
  }
}

describe.skipIf(launcher === undefined)(`README: Try the Kafka log${unavailable === undefined ? "" : ` (skipped: ${unavailable})`}`, () => {
  it("the documented commands: the mock, a server on it, a message, and replay from the index and from the topics", async () => {
    expect(commandsOf("### Try the Kafka log")).toStrictEqual(documented)
    const [mockCommand, serveCommand, keygen, submit, replayIndex, replayTopics] = documented as [string, string, string, string, string, string]
    const dir = tempDir()
    const dataDir = join(dir, "data-kafka")
    const keyPath = join(dir, "try.json")
    let mock: Shell | undefined
    let server: Shell | undefined
    try {
      mock = shell(mockCommand, {}, "pipe")
      const m = mock
      const bootstrap = (await waitForLine(m.child, m.output, (l) => l.startsWith("bootstrap "), 60_000)).slice("bootstrap ".length)
      await waitForLine(m.child, m.output, (l) => l === "ready")
      expect(m.output()).toContain("mock_kafka: topic causeway.events (12 partitions)")
      const fill = (command: string) =>
        command.replaceAll("127.0.0.1:PORT", bootstrap).replaceAll("./data-kafka", dataDir).replaceAll("try.json", keyPath)

      const httpPort = await closedPort()
      server = shell(fill(serveCommand), { PORT: String(httpPort) })
      const s = server
      await waitForLine(s.child, s.output, (l) => l.includes("\"causeway serving\""), 60_000)

      const key = await run(fill(keygen))
      expect(key.code, key.output).toBe(0)
      const submitted = await run(`${fill(submit)} --url http://127.0.0.1:${httpPort}`)
      expect(submitted.code, submitted.output).toBe(0)
      expect(submitted.output).toMatch(/"offset":0/)

      // Ctrl-C in the server's terminal.
      process.kill(-(s.child.pid as number), "SIGINT")
      await s.exited
      expect(s.output()).toContain("\"causeway shutting down\"")
      expect(existsSync(join(dataDir, "serve.lock"))).toBe(false) // it shut down to the end

      for (const command of [replayIndex, replayTopics]) {
        const replayed = await run(fill(command))
        expect(replayed.code, replayed.output).toBe(0)
        expect(replayed.output).toContain("log-index @ offset 1: snapshot ")
        expect(replayed.output).not.toContain("DIFFERS")
      }

      // Ctrl-D in the mock's terminal.
      m.child.stdin?.end()
      expect(await m.exited).toBe(0)
    } finally {
      killGroup(server)
      killGroup(mock)
    }
  }, 300_000)
})
