/**
 * Run the real `causeway` CLI as a child process (the Node that runs vitest: Node 24, whose
 * type stripping runs src/cli/causeway.ts directly), and start/stop real servers with it.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"

/** The repository root. */
export const root = resolve(import.meta.dirname, "..", "..", "..")

/** The CLI entry point. */
export const entry = join(root, "src", "cli", "causeway.ts")

/** A finished run. */
export interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** stdout as lines, without the empty last one. */
export const lines = (text: string): Array<string> => text.split("\n").filter((l) => l !== "")

/** The environment of every run: the settings the CLI reads cleared, so only what a test sets counts. */
export const baseEnv = (): NodeJS.ProcessEnv => {
  const env = { ...process.env }
  // Every variable the CLI reads (src/cli/ServeCommand.ts, CAUSEWAY_URL: src/cli/Flags.ts), so a developer's shell cannot leak into a test.
  for (const name of [
    "CAUSEWAY_URL",
    "HOST", "PORT", "DATA_DIR", "LOG_LEVEL", "NODE_OPTIONS", "CAUSEWAY_LOG", "KAFKA_BROKERS", "KAFKA_TOPIC_PREFIX", "KAFKA_INDEX", "KAFKA_DISCONNECT_GRACE_MS",
    "KAFKA_SSL_CA", "KAFKA_SSL_CERT", "KAFKA_SSL_KEY", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_CREDENTIALS_FILE", "KAFKA_SASL_USERNAME", "KAFKA_SASL_PASSWORD",
    "EVM_RPC_URLS", "EVM_CHAIN_ID", "EVM_CONFIRMATIONS", "COSMOS_RPC", "COSMOS_CHAIN_ID", "COSMOS_TRUSTED_HEIGHT",
    "COSMOS_TRUSTED_HASH", "COSMOS_WITNESS", "BEACON", "DRAND_URL", "DRAND_CHAIN_HASH", "BATCH_WINDOW_MS", "UV_THREADPOOL_SIZE", "BEACON_KEY", "CLUSTER_ADMIN", "CLUSTER_SESSION_TIMEOUT_MS", "PROOF_DEADLINE_MS",
    "OTEL_EXPORTER_OTLP_ENDPOINT", "API_TOKENS_FILE", "PRIVATE_READS", "CAUSEWAY_TOKEN", "MAX_STREAMS", "MAX_STREAMS_PER_ADDRESS", "ADDRESS_RATE", "ADDRESS_BURST", "INGEST_QUEUE",
    "RETENTION_MS", "ORDER_LIFETIME_MS", "MAX_OPEN_ORDERS", "MAX_EFFECTS"
  ]) delete env[name]
  return env
}

/** Spawn the CLI with `args`. */
export const spawnCli = (args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly cwd?: string } = {}): ChildProcess =>
  spawn(process.execPath, [entry, ...args], {
    cwd: options.cwd ?? root,
    env: { ...baseEnv(), ...options.env },
    stdio: ["ignore", "pipe", "pipe"]
  })

/** Collect a child's output until it exits. */
export const finished = (child: ChildProcess, timeoutMs = 30_000): Promise<Run> =>
  new Promise((resolvePromise, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d))
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`causeway did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      resolvePromise({ code, signal, stdout, stderr })
    })
  })

/** Run the CLI to its end. */
export const cli = (args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly cwd?: string; readonly timeoutMs?: number } = {}): Promise<Run> =>
  finished(spawnCli(args, options), options.timeoutMs)

/** A fresh temporary directory; `cleanup` removes every one made. */
const made: Array<string> = []
export const tempDir = (prefix = "causeway-cli-"): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.push(dir)
  return dir
}
export const cleanup = (): void => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** A TCP port nothing listens on (bound then released). */
export const closedPort = (): Promise<number> =>
  new Promise((resolvePromise, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolvePromise(port))
    })
  })

/** Wait until `read()` holds a line matching `test`, or the child exits, or time runs out. */
export const waitForLine = (
  child: ChildProcess,
  read: () => string,
  test: (line: string) => boolean,
  timeoutMs = 20_000
): Promise<string> =>
  new Promise((resolvePromise, reject) => {
    const check = () => {
      const found = lines(read()).find(test)
      if (found !== undefined) {
        done()
        resolvePromise(found)
      }
    }
    const onExit = (code: number | null) => {
      done()
      reject(new Error(`causeway exited (${code}) before the expected line; output:\n${read()}`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no expected line within ${timeoutMs} ms; output:\n${read()}`))
    }, timeoutMs)
    const interval = setInterval(check, 20)
    const done = () => {
      clearTimeout(timer)
      clearInterval(interval)
      child.off("exit", onExit)
    }
    child.on("exit", onExit)
    check()
  })

/** A child whose output is being collected. */
export interface Running {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Resolves when it exits. */
  readonly exited: Promise<Run>
  /** Send a signal and wait for the exit. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<Run>
}

/** Spawn the CLI and keep its output readable while it runs. */
export const start = (args: ReadonlyArray<string>, options: { readonly env?: Record<string, string>; readonly timeoutMs?: number } = {}): Running => {
  const child = spawnCli(args, options)
  let out = ""
  let err = ""
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (out += d))
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (err += d))
  const exited = new Promise<Run>((resolvePromise) => {
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout: out, stderr: err }))
  })
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000)
  void exited.then(() => clearTimeout(timer))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop: (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
}

/** A `causeway serve` child listening on a free port. */
export interface Server extends Running {
  readonly url: string
  readonly port: number
  /** The parsed `causeway serving` log line. */
  readonly announcement: { readonly message: string; readonly annotations: Record<string, unknown> }
}

/**
 * Start `causeway serve --port 0` over `dataDir` and wait for its `causeway serving` line. The
 * server is SIGKILLed after `timeoutMs` (default 120 s, `start`'s), so a stuck test cannot leak it.
 */
export const startServer = async (
  dataDir: string,
  options: { readonly args?: ReadonlyArray<string>; readonly env?: Record<string, string>; readonly timeoutMs?: number } = {}
): Promise<Server> => {
  const running = start(["serve", ...(options.args ?? ["--port", "0", "--data-dir", dataDir])], { env: options.env ?? {}, timeoutMs: options.timeoutMs })
  const line = await waitForLine(running.child, () => running.stdout() + running.stderr(), (l) => l.includes("\"causeway serving\""))
  const announcement = JSON.parse(line) as Server["announcement"]
  const url = announcement.annotations["url"] as string
  return { ...running, url, port: announcement.annotations["port"] as number, announcement }
}

/** GET a JSON answer from a server. */
export const getJson = async (url: string): Promise<{ readonly status: number; readonly body: any }> => {
  const response = await fetch(url)
  const text = await response.text()
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) }
}

/** Poll until `check` holds (or fail after `timeoutMs`). */
export const eventually = async <A>(probe: () => Promise<A>, check: (a: A) => boolean, timeoutMs = 10_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last = await probe()
  while (!check(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last)}`)
    await new Promise((r) => setTimeout(r, 50))
    last = await probe()
  }
  return last
}
