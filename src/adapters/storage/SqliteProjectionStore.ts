/**
 * Projection snapshots in SQLite (its own file beside the log), and the archive of entries the
 * projections dropped from memory (retention), plus an in-memory store for tests.
 */
import { DatabaseSync } from "node:sqlite"
import { Effect, Layer, Option } from "effect"
import { type ArchivedRow, ProjectionStore, ProjectionStoreError, type ProjectionStoreService, type Snapshot } from "../../ports/ProjectionStore.ts"
import * as SqlitePrivateDatabase from "./SqlitePrivateDatabase.ts"

const fail = (operation: string) => (cause: unknown) => new ProjectionStoreError({ operation, cause })

/**
 * A state longer than this (in UTF-16 code units) is written in parts of about this size, one
 * statement each with the event loop given back between them: one 20 MB INSERT held the loop
 * for about 90 ms under an ingest flood. The snapshot row then names the parts' generation,
 * and is switched to it in one small transaction once every part is written, so a reader (or
 * a restart after a kill midway) sees the old snapshot or the new one, never a mix.
 */
export const PART_CHARS = 1 << 20

/** `text` cut into parts of about `size` code units, never between the halves of a surrogate pair. */
export const partsOf = (text: string, size: number): Array<string> => {
  const parts: Array<string> = []
  for (let at = 0; at < text.length;) {
    let end = Math.min(text.length, at + size)
    const last = text.charCodeAt(end - 1)
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end++
    parts.push(text.slice(at, end))
    at = end
  }
  return parts
}

/** The state of the snapshot row `s`, as SQL: inline, or its generation's parts in order. */
export const STATE_SQL = "CASE WHEN s.generation IS NULL THEN s.state ELSE " +
  "coalesce((SELECT group_concat(p.text, '' ORDER BY p.part) FROM snapshot_parts p WHERE p.name = s.name AND p.generation = s.generation), '') END"

const archivedValue = (row: unknown): Option.Option<string> =>
  row === undefined ? Option.none() : Option.some((row as { readonly value: string }).value)

/** The least string above every string that starts with `prefix` (non-empty): the prefix's last character plus one. */
export const prefixEnd = (prefix: string): string => prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)

const RANGE_SQL = "SELECT key, value FROM archive WHERE name = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?"

/** At most `limit` rows of a range read (a limit below 1 reads none: SQLite's LIMIT -1 would read all). */
const rangeOf = (statement: { readonly all: (...args: Array<string | number>) => Array<unknown> } | undefined, name: string, prefix: string, limit: number): ReadonlyArray<ArchivedRow> =>
  statement === undefined || limit < 1 || prefix.length === 0 ? [] : (statement.all(name, prefix, prefixEnd(prefix), Math.floor(limit)) as unknown as ReadonlyArray<ArchivedRow>)

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
          if (!columns.some((c) => c.name === "generation")) db.exec("ALTER TABLE snapshots ADD COLUMN generation INTEGER")
          db.exec(`CREATE TABLE IF NOT EXISTS snapshot_parts (
            name TEXT NOT NULL, generation INTEGER NOT NULL, part INTEGER NOT NULL, text TEXT NOT NULL,
            PRIMARY KEY (name, generation, part)) STRICT, WITHOUT ROWID`)
          db.exec(`CREATE TABLE IF NOT EXISTS archive (
            name TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, key)) STRICT, WITHOUT ROWID`)
          return db
        },
        catch: fail("open")
      }),
      (db) => Effect.sync(() => db.isOpen && db.close())
    )
    const select = db.prepare(`SELECT s.name, s.version, s.offset_ AS offset, s.last_id AS lastId, s.digest, ${STATE_SQL} AS state FROM snapshots s WHERE s.name = ?`)
    const upsert = db.prepare(
      "INSERT INTO snapshots (name, version, offset_, last_id, digest, state, generation) VALUES (?, ?, ?, ?, ?, ?, ?) " +
        "ON CONFLICT (name) DO UPDATE SET version = excluded.version, offset_ = excluded.offset_, " +
        "last_id = excluded.last_id, digest = excluded.digest, state = excluded.state, generation = excluded.generation"
    )
    const generationOf = db.prepare("SELECT coalesce(max(generation), 0) AS g FROM (SELECT generation FROM snapshots WHERE name = ? UNION ALL SELECT generation FROM snapshot_parts WHERE name = ?)")
    const putPart = db.prepare("INSERT INTO snapshot_parts (name, generation, part, text) VALUES (?, ?, ?, ?)")
    const dropPartsBut = db.prepare("DELETE FROM snapshot_parts WHERE name = ? AND generation IS NOT ?")
    const inTransaction = (f: () => void) => {
      db.exec("BEGIN IMMEDIATE")
      try {
        f()
        db.exec("COMMIT")
      } catch (cause) {
        if (db.isTransaction) db.exec("ROLLBACK")
        throw cause
      }
    }
    const putArchived = db.prepare("INSERT INTO archive (name, key, value) VALUES (?, ?, ?) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value")
    const getArchived = db.prepare("SELECT value FROM archive WHERE name = ? AND key = ?")
    const rangeArchived = db.prepare(RANGE_SQL)
    const service: ProjectionStoreService = {
      load: (name) =>
        Effect.try({
          try: () => Option.fromUndefinedOr(select.get(name) as unknown as Snapshot | undefined),
          catch: fail("load")
        }),
      save: (s) => {
        const parts = typeof s.state === "string" ? (s.state.length <= PART_CHARS ? [s.state] : partsOf(s.state, PART_CHARS)) : s.state
        return parts.length <= 1
          ? Effect.try({
            try: () =>
              inTransaction(() => {
                upsert.run(s.name, s.version, s.offset, s.lastId, s.digest, parts[0] ?? "", null)
                dropPartsBut.run(s.name, null)
              }),
            catch: fail("save")
          })
          : Effect.gen(function*() {
            // A generation no row names yet (parts a kill left behind included), its parts
            // written one statement at a time, then the row switched to it.
            const generation = yield* Effect.try({ try: () => (generationOf.get(s.name, s.name) as { g: number }).g + 1, catch: fail("save") })
            for (let i = 0; i < parts.length; i++) {
              yield* Effect.try({ try: () => void putPart.run(s.name, generation, i, parts[i] as string), catch: fail("save") })
              yield* Effect.yieldNow
            }
            yield* Effect.try({
              try: () =>
                inTransaction(() => {
                  upsert.run(s.name, s.version, s.offset, s.lastId, s.digest, "", generation)
                  dropPartsBut.run(s.name, generation)
                }),
              catch: fail("save")
            })
          })
      },
      archive: (name, rows) =>
        rows.length === 0 ? Effect.void : Effect.try({
          try: () => inTransaction(() => {
            for (const r of rows) putArchived.run(name, r.key, r.value)
          }),
          catch: fail("archive")
        }),
      archived: (name, key) => Effect.try({ try: () => archivedValue(getArchived.get(name, key)), catch: fail("archived") }),
      archivedRange: (name, prefix, limit) => Effect.try({ try: () => rangeOf(rangeArchived, name, prefix, limit), catch: fail("archivedRange") })
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
        const lastId = columns.some((c) => c.name === "last_id") ? "s.last_id" : "NULL"
        const state = columns.some((c) => c.name === "generation") ? STATE_SQL : "s.state"
        return db.prepare(`SELECT s.name, s.version, s.offset_ AS offset, ${lastId} AS lastId, s.digest, ${state} AS state FROM snapshots s WHERE s.name = ?`)
      },
      catch: fail("open")
    })
    const getArchived = yield* Effect.try({
      try: () => {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'archive'").all()
        return tables.length === 0 ? undefined : { one: db.prepare("SELECT value FROM archive WHERE name = ? AND key = ?"), range: db.prepare(RANGE_SQL) }
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
      archived: (name, key) => Effect.try({ try: () => archivedValue(getArchived?.one.get(name, key)), catch: fail("archived") }),
      archivedRange: (name, prefix, limit) => Effect.try({ try: () => rangeOf(getArchived?.range, name, prefix, limit), catch: fail("archivedRange") })
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
    save: (s) => Effect.sync(() => void snapshots.set(s.name, { ...s, state: typeof s.state === "string" ? s.state : s.state.join("") })),
    archive: (name, rows: ReadonlyArray<ArchivedRow>) =>
      Effect.sync(() => {
        let kept = archive.get(name)
        if (kept === undefined) archive.set(name, kept = new Map())
        for (const r of rows) kept.set(r.key, r.value)
      }),
    archived: (name, key) => Effect.sync(() => Option.fromUndefinedOr(archive.get(name)?.get(key))),
    archivedRange: (name, prefix, limit) =>
      Effect.sync(() =>
        limit < 1 || prefix.length === 0 ? [] : [...(archive.get(name) ?? new Map<string, string>())]
          .filter(([key]) => key.startsWith(prefix))
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .slice(0, Math.floor(limit))
          .map(([key, value]) => ({ key, value }))
      )
  }
  return service
})
