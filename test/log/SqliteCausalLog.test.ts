import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import { CausalLog, type NewRecord } from "../../src/ports/CausalLog.ts"
import { causalLogContract } from "./CausalLogContract.ts"
import { fromHex } from "../../src/domain/Envelope.ts"
import { keyFromSecret } from "../../src/domain/Keys.ts"
import { envelope, recordOf } from "../support/fixtures.ts"

/** A fresh directory under the OS temp dir, removed (with the database in it) on release. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "causeway-log-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** A log in a new file; the file goes away with the layer. */
const tempFileLayer = () => Layer.unwrap(Effect.map(tempDir, (dir) => SqliteCausalLog.layer({ path: join(dir, "log.db") })))

causalLogContract("sqlite :memory:", () => SqliteCausalLog.layer({ path: ":memory:" }))
causalLogContract("sqlite file", tempFileLayer)
causalLogContract("sqlite file, synchronous=NORMAL", () =>
  Layer.unwrap(Effect.map(tempDir, (dir) => SqliteCausalLog.layer({ path: join(dir, "log.db"), synchronous: "NORMAL" }))))

const key = keyFromSecret("ed25519", fromHex("5e".repeat(32)))
const record = (nonce: number, lamport: number) =>
  recordOf(envelope(key, { nonce, lamport, payload: { component: "disk", status: "ok", latencyMs: nonce } }))

describe("SqliteCausalLog", () => {
  it.effect("keeps every record across close and reopen of the same file, and continues its offsets", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "nested", "log.db") // the parent directory is created on open
      const first = [record(1, 1), record(2, 2), record(3, 3)]
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        yield* log.append(first)
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))

      const later = record(9, 7)
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.endOffset).toBe(3)
        expect(yield* log.maxLamport).toBe(3)
        expect(yield* log.read(0, 10)).toEqual(first.map((r, offset) => ({ ...r, offset })))
        expect(yield* log.highestNonce(key.publicKey)).toEqual(Option.some(3))
        expect(yield* log.append([later])).toEqual([{ id: later.id, offset: 3, lamport: 7 }])
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))

      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.endOffset).toBe(4)
        expect(yield* log.get(later.id)).toEqual(Option.some({ ...later, offset: 3 }))
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))
    }))

  it.effect("opens the file in WAL mode", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "log.db")
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        yield* log.append([record(1, 1)])
        // A second connection sees the mode the adapter set, which persists in the file.
        const probe = new DatabaseSync(path, { readOnly: true })
        try {
          expect(probe.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" })
        } finally {
          probe.close()
        }
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))
    }))

  it.effect("fails to open a path it cannot create with a CausalLogError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "not-a-directory")
      writeFileSync(file, "")
      const opened = Effect.gen(function*() {
        return yield* CausalLog
      })
      const error = yield* Effect.flip(
        Effect.provide(opened, SqliteCausalLog.layer({ path: join(file, "log.db") }), { local: true })
      )
      expect(error._tag).toBe("CausalLogError")
      expect(error.operation).toBe("open")
    }))

  it.effect("opened read-only, it reads beside a writer, refuses to append with LogIsReadOnly, and creates nothing", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "log.db")
      const first = [record(1, 1), record(2, 2)]
      const readOnly = SqliteCausalLog.layer({ path, readOnly: true })
      yield* Effect.gen(function*() {
        const writer = yield* CausalLog
        yield* writer.append(first)
        yield* Effect.gen(function*() {
          const reader = yield* CausalLog
          expect(yield* reader.read(0, 10)).toEqual(first.map((r, offset) => ({ ...r, offset })))
          expect(yield* reader.highestNonce(key.publicKey)).toEqual(Option.some(2))
          const error = yield* Effect.flip(reader.append([record(3, 3)]))
          expect(error.operation).toBe("append")
          expect(error.cause).toBeInstanceOf(SqliteCausalLog.LogIsReadOnly)
          // The writer goes on while the reader is open, and the reader sees it.
          yield* writer.append([record(3, 3)])
          expect((yield* reader.read(0, 10)).map((r) => r.nonce)).toEqual([1, 2, 3])
        }).pipe(Effect.provide(readOnly, { local: true }))
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))

      const missing = join(dir, "absent", "log.db")
      const error = yield* Effect.flip(
        Effect.provide(opened, SqliteCausalLog.layer({ path: missing, readOnly: true }), { local: true })
      )
      expect(error.operation).toBe("open")
      expect(existsSync(join(dir, "absent"))).toBe(false)
    }))

  it.effect("migrates a version-0 file (sender and nonce index) to the current version on a read-write open", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "log.db")
      const old = [record(1, 1), record(5, 2), record(3, 3)]
      writeVersion0(path, old)

      // Read-only, the file is read as it is: not migrated.
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.highestNonce(key.publicKey)).toEqual(Option.some(5))
        expect(yield* log.read(0, 10)).toEqual(old.map((r, offset) => ({ ...r, offset })))
        expect(yield* log.senders(undefined, 10)).toEqual({ page: [{ sender: key.publicKey, count: 3, latestLamport: 3 }], total: 1 })
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path, readOnly: true }), { local: true }))
      expect(schemaOf(path)).toEqual({ version: 0, senderNonceIndex: true, senderNonceTable: false })

      const later = record(9, 7)
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.endOffset).toBe(3)
        expect(yield* log.read(0, 10)).toEqual(old.map((r, offset) => ({ ...r, offset })))
        expect(yield* log.highestNonce(key.publicKey)).toEqual(Option.some(5))
        expect(yield* log.dependents(old[0]?.id ?? "")).toEqual([])
        expect(yield* log.senders(undefined, 10)).toEqual({ page: [{ sender: key.publicKey, count: 3, latestLamport: 3 }], total: 1 })
        expect(yield* log.append([later])).toEqual([{ id: later.id, offset: 3, lamport: 7 }])
        expect(yield* log.highestNonce(key.publicKey)).toEqual(Option.some(9))
        expect(yield* log.senders(undefined, 10)).toEqual({ page: [{ sender: key.publicKey, count: 4, latestLamport: 7 }], total: 1 })
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))
      expect(schemaOf(path)).toEqual({ version: SqliteCausalLog.SCHEMA_VERSION, senderNonceIndex: false, senderNonceTable: true })
      const db = new DatabaseSync(path, { readOnly: true })
      try {
        expect(db.prepare("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" })
      } finally {
        db.close()
      }
    }))

  it.effect("migrates a version-1 file (nonces in their own table) to version 2: each sender's count and latest Lamport time", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "log.db")
      const old = [record(1, 4), record(5, 2), record(3, 3)]
      writeVersion0(path, old)
      // Version 1: the nonces in sender_nonce (sender, nonce), the index dropped.
      const db = new DatabaseSync(path)
      db.exec(`CREATE TABLE sender_nonce (sender TEXT PRIMARY KEY, nonce INTEGER NOT NULL) STRICT, WITHOUT ROWID;
        INSERT INTO sender_nonce (sender, nonce) SELECT sender, MAX(nonce) FROM log GROUP BY sender;
        DROP INDEX log_sender_nonce; PRAGMA user_version = 1;`)
      db.close()
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.senders(undefined, 10)).toEqual({ page: [{ sender: key.publicKey, count: 3, latestLamport: 4 }], total: 1 })
        expect(yield* log.highestNonce(key.publicKey)).toEqual(Option.some(5))
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))
      expect(schemaOf(path)).toMatchObject({ version: 2, senderNonceTable: true })
    }))

  it.effect("refuses a file of a newer schema version with UnsupportedLogSchema, read-write or read-only", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "log.db")
      const db = new DatabaseSync(path)
      db.exec(`PRAGMA user_version = ${SqliteCausalLog.SCHEMA_VERSION + 1}`)
      db.close()
      for (const readOnly of [false, true]) {
        const error = yield* Effect.flip(
          Effect.provide(opened, SqliteCausalLog.layer({ path, readOnly }), { local: true })
        )
        expect(error.operation).toBe("open")
        expect(error.cause).toBeInstanceOf(SqliteCausalLog.UnsupportedLogSchema)
        expect(String(error.cause)).toContain(`schema version ${SqliteCausalLog.SCHEMA_VERSION + 1}`)
      }
    }))
})

/** Just open the log of the layer. */
const opened = Effect.asVoid(Effect.gen(function*() {
  return yield* CausalLog
}))

/** A log file as the builds before schema versions wrote it (user_version 0). */
const writeVersion0 = (path: string, records: ReadonlyArray<NewRecord>): void => {
  const db = new DatabaseSync(path)
  try {
    db.exec("PRAGMA journal_mode = WAL")
    db.exec(`
      CREATE TABLE log (
        seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, lamport INTEGER NOT NULL, type TEXT NOT NULL,
        sender TEXT NOT NULL, nonce INTEGER NOT NULL, deps TEXT NOT NULL, body TEXT NOT NULL
      ) STRICT;
      CREATE INDEX log_causal ON log (lamport, id);
      CREATE INDEX log_sender_nonce ON log (sender, nonce);
      CREATE TABLE log_deps (dep TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (dep, seq)) STRICT, WITHOUT ROWID;
    `)
    const insert = db.prepare("INSERT INTO log (seq, id, lamport, type, sender, nonce, deps, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    records.forEach((r, seq) => insert.run(seq, r.id, r.lamport, r.type, r.sender, r.nonce, r.deps.join(","), r.body))
  } finally {
    db.close()
  }
}

/** What a file's schema looks like from outside. */
const schemaOf = (path: string) => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    const has = (type: string, name: string) =>
      db.prepare("SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?").get(type, name) !== undefined
    return {
      version: Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version),
      senderNonceIndex: has("index", "log_sender_nonce"),
      senderNonceTable: has("table", "sender_nonce")
    }
  } finally {
    db.close()
  }
}

describe("SqliteCausalLog scan across its fetch chunks", () => {
  it.effect("visits every row of a long range once, in order, whatever the range's bounds", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      // 20,000 rows: more than two of the scan's 8,192-row fetches. One signed template with its
      // nonce, Lamport time and payload changed: the log checks no signature, and signing 20,000
      // envelopes would take most of the test's time.
      const template = envelope(key, { nonce: 1, lamport: 1, payload: { component: "disk", status: "ok", latencyMs: 1 } })
      const rows = Array.from({ length: 20_000 }, (_, i) =>
        recordOf({ ...template, nonce: i + 1, lamport: i + 1, payload: { component: "disk", status: "ok", latencyMs: i + 1 } }))
      yield* log.append(rows)
      for (const [from, to] of [[0, 20_000], [0, 1_000_000], [8_191, 16_385], [8_192, 8_193], [19_999, 25_000], [20_000, 30_000]] as const) {
        const seen: Array<number> = []
        const n = yield* log.scan(from, to, { withBody: false, withLinks: false }, (r) => void seen.push(r.offset))
        const expected = Array.from({ length: Math.max(0, Math.min(to, 20_000) - from) }, (_, i) => from + i)
        expect(n, `${from}..${to}`).toBe(expected.length)
        expect(seen, `${from}..${to}`).toEqual(expected)
      }
    }).pipe(Effect.provide(SqliteCausalLog.layer({ path: ":memory:" }))))
})
