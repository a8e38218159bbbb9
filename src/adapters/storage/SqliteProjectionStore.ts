/**
 * Projection snapshots in SQLite (its own file beside the log), and the archive of entries the
 * projections dropped from memory (retention), plus an in-memory store for tests.
 */
import { DatabaseSync } from "node:sqlite"
import { Effect, Layer, Option } from "effect"
import { type ArchivedRow, ProjectionStore, ProjectionStoreError, type ProjectionStoreService, type Snapshot } from "../../ports/ProjectionStore.ts"
import * as SqlitePrivateDatabase from "./SqlitePrivateDatabase.ts"

const fail = (operation: string) => (cause: unknown) => new ProjectionStoreError({ operation, cause })

const archivedValue = (row: unknown): Option.Option<string> =>
  row === undefined ? Option.none() : Option.some((row as { readonly value: string }).value)

/** Open the store at `path` (":memory:" allowed); closed with the scope. */
export const make = (path: string) =>
  Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const db = SqlitePrivateDatabase.open(path)
          db.exec("PRAGMA journal_mode = WAL")
          db.exec("PRAGMA synchronous = NORMAL")
          db.exec(`CREATE TABLE IF NOT EXISTS snapshots (
            name TEXT PRIMARY KEY, version INTEGER NOT NULL, offset_ INTEGER NOT NULL,
            digest TEXT NOT NULL, state TEXT NOT NULL, last_id TEXT) STRICT`)
          // Stores made before snapshots named their last record: add the column; those
          // snapshots then fail the last-record check once and are rebuilt.
          const columns = db.prepare("SELECT name FROM pragma_table_info('snapshots')").all() as Array<{ name: string }>
          if (!columns.some((c) => c.name === "last_id")) db.exec("ALTER TABLE snapshots ADD COLUMN last_id TEXT")
          db.exec(`CREATE TABLE IF NOT EXISTS archive (
            name TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, key)) STRICT, WITHOUT ROWID`)
          return db
        },
        catch: fail("open")
      }),
      (db) => Effect.sync(() => db.isOpen && db.close())
    )
    const select = db.prepare("SELECT name, version, offset_ AS offset, last_id AS lastId, digest, state FROM snapshots WHERE name = ?")
    const upsert = db.prepare(
      "INSERT INTO snapshots (name, version, offset_, last_id, digest, state) VALUES (?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version, offset_ = excluded.offset_, " +
        "last_id = excluded.last_id, digest = excluded.digest, state = excluded.state"
    )
    const putArchived = db.prepare("INSERT INTO archive (name, key, value) VALUES (?, ?, ?) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value")
    const getArchived = db.prepare("SELECT value FROM archive WHERE name = ? AND key = ?")
    const service: ProjectionStoreService = {
      load: (name) =>
        Effect.try({
          try: () => Option.fromUndefinedOr(select.get(name) as unknown as Snapshot | undefined),
          catch: fail("load")
        }),
      save: (s) =>
        Effect.try({ try: () => void upsert.run(s.name, s.version, s.offset, s.lastId, s.digest, s.state), catch: fail("save") }),
      archive: (name, rows) =>
        rows.length === 0 ? Effect.void : Effect.try({
          try: () => {
            db.exec("BEGIN IMMEDIATE")
            try {
              for (const r of rows) putArchived.run(name, r.key, r.value)
              db.exec("COMMIT")
            } catch (cause) {
              if (db.isTransaction) db.exec("ROLLBACK")
              throw cause
            }
          },
          catch: fail("archive")
        }),
      archived: (name, key) => Effect.try({ try: () => archivedValue(getArchived.get(name, key)), catch: fail("archived") })
    }
    return service
  })

/**
 * The snapshots of an existing store at `path`, read-only (readers beside a running server:
 * replay): nothing is created or migrated, and `save` fails. Closed with the scope.
 */
export const makeReadOnly = (path: string) =>
  Effect.gen(function*() {
    const db = yield* Effect.acquireRelease(
      Effect.try({ try: () => new DatabaseSync(path, { readOnly: true }), catch: fail("open") }),
      (db) => Effect.sync(() => db.isOpen && db.close())
    )
    const select = yield* Effect.try({
      try: () => {
        const columns = db.prepare("SELECT name FROM pragma_table_info('snapshots')").all() as Array<{ name: string }>
        if (columns.length === 0) return undefined
        const lastId = columns.some((c) => c.name === "last_id") ? "last_id" : "NULL"
        return db.prepare(`SELECT name, version, offset_ AS offset, ${lastId} AS lastId, digest, state FROM snapshots WHERE name = ?`)
      },
      catch: fail("open")
    })
    const getArchived = yield* Effect.try({
      try: () => {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'archive'").all()
        return tables.length === 0 ? undefined : db.prepare("SELECT value FROM archive WHERE name = ? AND key = ?")
      },
      catch: fail("open")
    })
    const readOnly = (operation: string) => Effect.fail(new ProjectionStoreError({ operation, cause: new Error(`the snapshot store ${path} is open read-only`) }))
    const service: ProjectionStoreService = {
      load: (name) =>
        Effect.try({
          try: () => Option.fromUndefinedOr(select?.get(name) as unknown as Snapshot | undefined),
          catch: fail("load")
        }),
      save: () => readOnly("save"),
      archive: () => readOnly("archive"),
      archived: (name, key) => Effect.try({ try: () => archivedValue(getArchived?.get(name, key)), catch: fail("archived") })
    }
    return service
  })

/** The SQLite store as a layer. */
export const layer = (path: string) => Layer.effect(ProjectionStore, make(path))

/** An in-memory store (tests). */
export const layerMemory = Layer.sync(ProjectionStore, () => {
  const snapshots = new Map<string, Snapshot>()
  const archive = new Map<string, Map<string, string>>()
  const service: ProjectionStoreService = {
    load: (name) => Effect.sync(() => Option.fromUndefinedOr(snapshots.get(name))),
    save: (s) => Effect.sync(() => void snapshots.set(s.name, s)),
    archive: (name, rows: ReadonlyArray<ArchivedRow>) =>
      Effect.sync(() => {
        let kept = archive.get(name)
        if (kept === undefined) archive.set(name, kept = new Map())
        for (const r of rows) kept.set(r.key, r.value)
      }),
    archived: (name, key) => Effect.sync(() => Option.fromUndefinedOr(archive.get(name)?.get(key)))
  }
  return service
})
