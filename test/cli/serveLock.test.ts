// One server per data directory (issue #11): `causeway serve` holds DATA_DIR/serve.lock (mode
// 0600, its pid inside) while it runs. A second server on the directory exits 1 naming the
// directory, the reason and the holder's pid, before it creates or opens anything; after the
// first stops the lock is gone and a new server starts; a stale lock (a dead pid, a pid reused
// by another process, a boot ago, an unreadable file left long ago) is taken over, and of
// several processes taking over one stale lock at once exactly one gets it.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import { createInterface } from "node:readline"
import { Effect, Exit } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as DataDirectoryLock from "../../src/adapters/files/DataDirectoryLock.ts"
import { cleanup, cli, getJson, root, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const modeOf = (path: string): number => statSync(path).mode & 0o777
const lockOf = (dir: string) => join(dir, DataDirectoryLock.LOCK_FILE)
const readLock = (dir: string) => JSON.parse(readFileSync(lockOf(dir), "utf8")) as DataDirectoryLock.LockHolder

/** A pid no process has: a child's, after it exited. */
const deadPid = (): number => {
  const child = spawnSync("true")
  expect(child.status).toBe(0)
  return child.pid as number
}

const bootId = (): string => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()

/** Write a lock file in `dir` as a holder would. */
const writeLock = (dir: string, holder: Record<string, unknown>): void => {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  writeFileSync(lockOf(dir), `${JSON.stringify({ host: hostname(), startedAt: "2020-01-01T00:00:00.000Z", ...holder })}\n`, { mode: 0o600 })
}

/** Run `hold` on `dir` and report: held (and released), or the failure's tag and message. */
const tryHold = (dir: string) =>
  Effect.runPromise(Effect.exit(Effect.scoped(Effect.map(DataDirectoryLock.hold(dir), (held) => ({ tookOver: held.tookOver, holder: readLock(dir) }))))).then((exit) =>
    Exit.isSuccess(exit)
      ? { held: true as const, ...exit.value }
      : { held: false as const, error: (exit.cause.reasons[0] as { readonly error: { readonly _tag: string; readonly message: string } }).error }
  )

describe("causeway serve: one server per data directory", () => {
  it("refuses a second server (exit 1, the directory, the reason, the holder's pid); after the first stops a new one starts", async () => {
    const dataDir = join(tempDir(), "data")
    const first = await startServer(dataDir)
    let stopped = false
    try {
      const pid = first.announcement.annotations["pid"]
      expect(pid).toBe(first.child.pid)
      expect(modeOf(lockOf(dataDir))).toBe(0o600)
      expect(readLock(dataDir)).toMatchObject({ pid, host: hostname() })

      const second = await cli(["serve", "--port", "0", "--data-dir", dataDir])
      expect(second.code).toBe(1)
      expect(second.stdout).not.toContain("causeway serving")
      expect(second.stderr).toContain(
        `causeway: the server failed: data directory ${dataDir} is in use by another causeway server: pid ${pid} (running on this host, since `
      )
      expect(second.stderr).toContain(`holds its lock ${lockOf(dataDir)}. Stop that server first, or give this one another --data-dir`)
      // The first one goes on, its lock untouched.
      expect((await getJson(`${first.url}/readyz`)).status).toBe(200)
      expect(readLock(dataDir).pid).toBe(pid)

      const exit = await first.stop("SIGTERM")
      stopped = true
      expect(exit.code).toBe(0)
      expect(existsSync(lockOf(dataDir))).toBe(false)

      const third = await startServer(dataDir)
      try {
        expect(readLock(dataDir).pid).toBe(third.child.pid)
      } finally {
        expect((await third.stop()).code).toBe(0)
      }
    } finally {
      if (!stopped) await first.stop()
    }
  }, 90_000)

  it("refuses before it creates or opens anything: the directory holds only the lock", async () => {
    // This test process is alive on this host: the lock is held.
    const dataDir = join(tempDir(), "held")
    writeLock(dataDir, { pid: process.pid, procStart: DataDirectoryLock.processStart(process.pid) })
    const run = await cli(["serve", "--port", "0", "--data-dir", dataDir])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`data directory ${dataDir} is in use by another causeway server: pid ${process.pid} (running on this host`)
    expect(readdirSync(dataDir)).toStrictEqual([DataDirectoryLock.LOCK_FILE])
  }, 60_000)

  it("takes over a stale lock left by a dead pid, with a warning, and holds it 0600 with its own pid", async () => {
    const dataDir = join(tempDir(), "stale")
    const dead = deadPid()
    writeLock(dataDir, { pid: dead })
    const server = await startServer(dataDir)
    try {
      expect(server.stdout()).toContain(`took over the stale lock ${lockOf(dataDir)}: pid ${dead} is not running`)
      expect(readLock(dataDir).pid).toBe(server.child.pid)
      expect(modeOf(lockOf(dataDir))).toBe(0o600)
    } finally {
      expect((await server.stop()).code).toBe(0)
    }
    expect(existsSync(lockOf(dataDir))).toBe(false)
  }, 60_000)
})

describe("DataDirectoryLock", () => {
  it("refuses a live holder; takes over a pid now held by another process, and a lock from before a restart", async () => {
    const sleeper = spawn("sleep", ["30"])
    try {
      const pid = sleeper.pid as number
      const start = DataDirectoryLock.processStart(pid)
      expect(start).toMatch(/^\d+$/)

      const live = tempDir()
      writeLock(live, { pid, procStart: start, bootId: bootId() })
      const refused = await tryHold(live)
      expect(refused).toMatchObject({ held: false, error: { _tag: "DataDirectoryLocked" } })
      expect(refused.held ? "" : refused.error.message).toContain(`pid ${pid} (running on this host, since 2020-01-01T00:00:00.000Z)`)

      // The same pid, but the holder had started at another time: the pid was reused.
      const reused = tempDir()
      writeLock(reused, { pid, procStart: "1", bootId: bootId() })
      expect(await tryHold(reused)).toMatchObject({ held: true, tookOver: `pid ${pid} is now another process (started at tick ${start}, the holder at 1)`, holder: { pid: process.pid } })

      const rebooted = tempDir()
      writeLock(rebooted, { pid, procStart: start, bootId: "00000000-0000-0000-0000-000000000000" })
      expect(await tryHold(rebooted)).toMatchObject({ held: true, tookOver: `the machine has restarted since pid ${pid} took it` })
    } finally {
      sleeper.kill("SIGKILL")
    }
  })

  it("never takes over a lock of another host", async () => {
    const dir = tempDir()
    writeLock(dir, { pid: deadPid(), host: "elsewhere.example" })
    const result = await tryHold(dir)
    expect(result).toMatchObject({ held: false, error: { _tag: "DataDirectoryLocked" } })
    expect(result.held ? "" : result.error.message).toContain(`(on host elsewhere.example, not this one (${hostname()}): a lock taken on another host is never taken over`)
    expect(readFileSync(lockOf(dir), "utf8")).toContain("elsewhere.example")
  })

  it("an unreadable lock file: waited for while fresh (a start writing it), taken over once old", async () => {
    const fresh = tempDir()
    writeFileSync(lockOf(fresh), "", { mode: 0o600 })
    expect(await tryHold(fresh)).toMatchObject({ held: false, error: { _tag: "DataDirectoryError", message: expect.stringContaining("the lock file is being written by another start") } })

    const old = tempDir()
    writeFileSync(lockOf(old), "{\"pid\":", { mode: 0o600 })
    const minuteAgo = new Date(Date.now() - 60_000)
    utimesSync(lockOf(old), minuteAgo, minuteAgo)
    expect(await tryHold(old)).toMatchObject({ held: true, tookOver: expect.stringMatching(/^it does not say who holds it and was last written \d+ s ago$/) })
  })

  it("releases only its own lock file", async () => {
    // Someone replaced it meanwhile (by hand), or rewrote it in place: that file is left as it is.
    const change = [(dir: string) => rmSync(lockOf(dir)), (_dir: string) => undefined]
    for (const before of change) {
      const dir = tempDir()
      await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
        yield* DataDirectoryLock.hold(dir)
        before(dir)
        writeLock(dir, { pid: 1 })
      })))
      expect(readLock(dir).pid).toBe(1)
    }
  })

  it("of several processes taking over one stale lock at once, exactly one holds it", async () => {
    const dir = tempDir()
    writeLock(dir, { pid: deadPid() })
    const children: Array<{ child: ChildProcessWithoutNullStreams; lines: Array<string>; next: () => Promise<string> }> = []
    const script = join(root, "test", "cli", "support", "lockChild.ts")
    try {
      for (let i = 0; i < 6; i++) {
        const child = spawn(process.execPath, [script, dir], { stdio: ["pipe", "pipe", "pipe"] })
        const lines: Array<string> = []
        const waiting: Array<(line: string) => void> = []
        createInterface({ input: child.stdout }).on("line", (line) => {
          if (!/^(loaded|held|refused)/.test(line)) return // log lines
          const w = waiting.shift()
          if (w === undefined) lines.push(line)
          else w(line)
        })
        const next = () => {
          const line = lines.shift()
          return line !== undefined ? Promise.resolve(line) : new Promise<string>((resolve) => waiting.push(resolve))
        }
        children.push({ child, lines, next })
      }
      for (const c of children) expect(await c.next()).toBe("loaded")
      for (const c of children) c.child.stdin.write("go\n")
      const outcomes = await Promise.all(children.map((c) => c.next()))
      const holders = children.filter((_, i) => outcomes[i] === "held")
      expect(holders.length, outcomes.join("\n")).toBe(1)
      const holder = (holders[0] as (typeof children)[number]).child.pid
      for (const outcome of outcomes.filter((o) => o !== "held")) {
        expect(outcome).toContain(`refused data directory ${dir} is in use by another causeway server: pid ${holder} (running on this host`)
      }
      expect(readLock(dir).pid).toBe(holder)
      expect(readdirSync(dir)).toStrictEqual([DataDirectoryLock.LOCK_FILE])
    } finally {
      for (const c of children) c.child.stdin.end()
      await Promise.all(children.map((c) => new Promise((r) => (c.child.exitCode !== null ? r(undefined) : c.child.once("exit", r)))))
    }
    expect(existsSync(lockOf(dir))).toBe(false)
  }, 60_000)
})
