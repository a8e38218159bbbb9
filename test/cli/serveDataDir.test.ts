// The data directory's rules (issue #10, "Keys"): `causeway serve` in a child process makes a
// fresh data directory 0700 with its keys and databases (SQLite's -wal and -shm files
// included) 0600; refuses to start, touching nothing, when the instance key is missing beside
// a log or snapshots; refuses a key file its group or others may open, naming the chmod. The
// SQLite adapters create their files 0600 whatever the umask (this process's is the usual 022),
// and DataDirectory tightens a directory written before these rules.
import { createHash } from "node:crypto"
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Effect, Logger } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as DataDirectory from "../../src/adapters/files/DataDirectory.ts"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"
import { beaconKeyPath, instanceKeyPath, logPath, snapshotPath } from "../../src/Config.ts"
import { cleanup, cli, getJson, startServer, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const modeOf = (path: string): number => statSync(path).mode & 0o777

/** Every file in `dir` with its mode and the hash of its bytes. */
const snapshot = (dir: string) =>
  Object.fromEntries(readdirSync(dir).sort().map((name) => {
    const path = join(dir, name)
    return [name, { mode: modeOf(path), sha256: createHash("sha256").update(readFileSync(path)).digest("hex") }]
  }))

describe("causeway serve's data directory", () => {
  const dataDir = join(tempDir(), "nested", "data")

  it("creates a fresh one 0700, its keys and databases (with -wal and -shm) 0600", async () => {
    const server = await startServer(dataDir)
    try {
      expect((await getJson(`${server.url}/readyz`)).status).toBe(200)
      expect(modeOf(dataDir)).toBe(0o700)
      const files = [instanceKeyPath(dataDir), beaconKeyPath(dataDir), join(dataDir, "api-token")]
      for (const db of [logPath(dataDir), snapshotPath(dataDir)]) files.push(db, `${db}-wal`, `${db}-shm`)
      for (const file of files) expect([file, modeOf(file)]).toStrictEqual([file, 0o600])
    } finally {
      const run = await server.stop()
      expect(run.code, run.stderr).toBe(0)
    }
  }, 60_000)

  it("refuses to start when the instance key is missing beside a log or snapshots, and touches nothing", async () => {
    const key = instanceKeyPath(dataDir)
    const keyText = readFileSync(key)
    rmSync(key)
    const before = snapshot(dataDir)
    expect(Object.keys(before)).toStrictEqual(["api-token", "beacon.key", "log.sqlite", "projections.sqlite"])

    const run = await cli(["serve", "--port", "0", "--data-dir", dataDir])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`causeway: the server failed: the instance key ${key} is missing, but ${logPath(dataDir)}, ${snapshotPath(dataDir)} already exist`)
    expect(run.stderr).toContain(`restore ${key} (mode 0600) from a backup, or start with an empty data directory`)
    expect(run.stdout).not.toContain("causeway serving")
    expect(snapshot(dataDir)).toStrictEqual(before)

    // Snapshots alone are enough; and the key is looked for before the log is created.
    rmSync(logPath(dataDir))
    const alone = await cli(["serve", "--port", "0", "--data-dir", dataDir])
    expect(alone.code).toBe(1)
    expect(alone.stderr).toContain(`but ${snapshotPath(dataDir)} already exists`)
    expect(existsSync(logPath(dataDir))).toBe(false)
    expect(existsSync(key)).toBe(false)
    writeFileSync(key, keyText, { mode: 0o600 })
  }, 60_000)

  it("refuses an instance.key or beacon.key its group or others may open, with the chmod that fixes it", async () => {
    for (const key of [instanceKeyPath(dataDir), beaconKeyPath(dataDir)]) {
      chmodSync(key, 0o644)
      const before = readFileSync(key)
      const run = await cli(["serve", "--port", "0", "--data-dir", dataDir])
      expect(run.code).toBe(1)
      expect(run.stderr).toContain(`causeway: the server failed: ${key} has mode 0644, open to its group or others; a key file must be its owner's only: chmod 600 ${key}`)
      expect([readFileSync(key), modeOf(key)]).toStrictEqual([before, 0o644])
      chmodSync(key, 0o600)
    }
  }, 60_000)
})

describe("the SQLite adapters' files", () => {
  it("are created 0600, -wal and -shm included, in a directory created 0700, whatever the umask", async () => {
    const dir = join(tempDir(), "fresh", "data")
    const log = logPath(dir)
    const snapshots = snapshotPath(dir)
    const modes = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const causal = yield* SqliteCausalLog.make({ path: log, synchronous: "NORMAL" })
      yield* causal.append([recordOf(envelope(testKey("modes"), { nonce: 1, lamport: 1 }))])
      const store = yield* SqliteProjectionStore.make(snapshots)
      yield* store.save({ name: "p", version: 1, offset: 1, lastId: null, digest: "d", state: "{}" })
      return [dir, log, `${log}-wal`, `${log}-shm`, snapshots, `${snapshots}-wal`, `${snapshots}-shm`].map((p) => [p, modeOf(p)])
    })))
    expect(modes).toStrictEqual([[dir, 0o700], ...modes.slice(1).map(([p]) => [p, 0o600])])
  })
})

describe("DataDirectory", () => {
  /** Run `prepare`, collecting the warnings it logs. */
  const prepare = (dir: string, files: ReadonlyArray<string>) => {
    const warnings: Array<string> = []
    const logger = Logger.make<unknown, void>(({ message }) => {
      warnings.push(String(Array.isArray(message) ? message.join(" ") : message))
    })
    return Effect.runPromise(DataDirectory.prepare(dir, files).pipe(Effect.provide(Logger.layer([logger])))).then(() => warnings)
  }

  it("creates a missing directory 0700 and warns about nothing", async () => {
    const dir = join(tempDir(), "a", "b")
    expect(await prepare(dir, [join(dir, "log.sqlite")])).toStrictEqual([])
    expect(modeOf(dir)).toBe(0o700)
    expect(existsSync(join(dir, "log.sqlite"))).toBe(false)
  })

  it("tightens a directory and database files open to group or others, with a warning each; leaves private ones be", async () => {
    const dir = join(tempDir(), "data")
    mkdirSync(dir)
    chmodSync(dir, 0o755)
    const log = join(dir, "log.sqlite")
    const snapshots = join(dir, "projections.sqlite")
    writeFileSync(log, "x")
    chmodSync(log, 0o664)
    writeFileSync(snapshots, "y", { mode: 0o600 })
    const warnings = await prepare(dir, [log, `${log}-wal`, snapshots])
    expect(warnings).toStrictEqual([
      `data directory: ${dir} had mode 0755, open to its group or others; tightened to 0700`,
      `data directory: ${log} had mode 0664, open to its group or others; tightened to 0600`
    ])
    expect([modeOf(dir), modeOf(log), modeOf(snapshots)]).toStrictEqual([0o700, 0o600, 0o600])
    expect(await prepare(dir, [log, snapshots])).toStrictEqual([])
  })

  it("fails when the path is a file", async () => {
    const file = join(tempDir(), "file")
    writeFileSync(file, "")
    await expect(Effect.runPromise(Effect.flip(DataDirectory.prepare(file, [])))).resolves.toMatchObject({ _tag: "DataDirectoryError", path: file })
  })
})
