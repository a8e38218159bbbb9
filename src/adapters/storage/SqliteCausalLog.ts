/**
 * The embedded CausalLog: SQLite through node:sqlite, in WAL mode.
 *
 * Durability: `synchronous=FULL` by default, so a commit (and so an acknowledgment) has
 * reached the disk through fsync of the WAL before append returns; `NORMAL` survives a
 * process crash but may lose the last commits on power loss (docs/storage.md). Appends are
 * batched by the caller: one transaction, one fsync, for a whole batch.
 *
 * Schema versions (PRAGMA user_version): 0 had an index on (sender, nonce) that answered
 * `highestNonce`; 1 keeps the highest nonce per sender in its own table, written once per
 * sender per append, which costs less than an index entry per record; 2 adds to that row the
 * sender's record count and latest Lamport time (`senders`: the log index's per-sender table
 * lives on disk, not in a projection's memory). An older file is migrated when opened
 * read-write; opened read-only it is read as it is.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite"
import { Data, Effect, Layer, Option, SubscriptionRef } from "effect"
import type { MessageId } from "../../domain/Primitives.ts"
import {
  type Appended,
  CausalLog,
  CausalLogError,
  type CausalLogService,
  type LogRecord,
  type NewRecord,
  type RecordRef,
  type SenderStats
} from "../../ports/CausalLog.ts"
import { makeLogEnd, sharedPages, tail } from "./LogTail.ts"
import * as SqlitePrivateDatabase from "./SqlitePrivateDatabase.ts"

/** How the embedded log is opened. */
export interface SqliteOptions {
  /** Database file, or ":memory:". */
  readonly path: string
  /** fsync policy on commit. */
  readonly synchronous?: "FULL" | "NORMAL"
  /**
   * Open an existing file read-only (readers beside a running server: replay, log tail).
   * Nothing is created or migrated, and `append` fails with a CausalLogError whose cause is
   * `LogIsReadOnly`.
   */
  readonly readOnly?: boolean
}

/** `append` on a log opened with `readOnly`. */
export class LogIsReadOnly extends Data.TaggedError("LogIsReadOnly")<{ readonly path: string }> {
  override get message() {
    return `the log ${this.path} is open read-only`
  }
}

/** The file's schema is of a version this build does not know (written by a newer causeway). */
export class UnsupportedLogSchema extends Data.TaggedError("UnsupportedLogSchema")<{
  readonly path: string
  readonly found: number
  readonly supported: number
}> {
  override get message() {
    return `the log ${this.path} has schema version ${this.found}; this build reads versions up to ${this.supported}`
  }
}

const CACHE_KIB = 65_536
const CHECKPOINT_PAGES = 10_000

/** The schema version this build writes. */
export const SCHEMA_VERSION = 2

const LOG_TABLES = `
CREATE TABLE IF NOT EXISTS log (
  seq     INTEGER PRIMARY KEY,
  id      TEXT    NOT NULL UNIQUE,
  lamport INTEGER NOT NULL,
  type    TEXT    NOT NULL,
  sender  TEXT    NOT NULL,
  nonce   INTEGER NOT NULL,
  deps    TEXT    NOT NULL,
  body    TEXT    NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS log_causal ON log (lamport, id);
CREATE TABLE IF NOT EXISTS log_deps (
  dep TEXT    NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (dep, seq)
) STRICT, WITHOUT ROWID;
`

// Version 1: the highest nonce of each sender in its own table instead of an index on log.
// Version 2: with the sender's record count and latest Lamport time.
const SENDER_NONCE = `
CREATE TABLE IF NOT EXISTS sender_nonce (
  sender         TEXT    PRIMARY KEY,
  nonce          INTEGER NOT NULL,
  count          INTEGER NOT NULL DEFAULT 0,
  latest_lamport INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
`

// Version 1 to 2: the two columns, filled from the log in one pass.
const SENDER_STATS = `
ALTER TABLE sender_nonce ADD COLUMN count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sender_nonce ADD COLUMN latest_lamport INTEGER NOT NULL DEFAULT 0;
CREATE TEMP TABLE sender_stats AS SELECT sender, COUNT(*) AS n, MAX(lamport) AS l FROM log GROUP BY sender;
CREATE UNIQUE INDEX temp.sender_stats_sender ON sender_stats (sender);
UPDATE sender_nonce SET
  count = (SELECT n FROM temp.sender_stats s WHERE s.sender = sender_nonce.sender),
  latest_lamport = (SELECT l FROM temp.sender_stats s WHERE s.sender = sender_nonce.sender);
DROP TABLE temp.sender_stats;
`

/** The file's schema version; a version newer than this build's is refused. */
const versionOf = (db: DatabaseSync, path: string): number => {
  const version = Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version)
  if (version > SCHEMA_VERSION) throw new UnsupportedLogSchema({ path, found: version, supported: SCHEMA_VERSION })
  return version
}

/**
 * Bring the file to SCHEMA_VERSION in one transaction: create a new log, or migrate a
 * version-0 one (fill sender_nonce from its (sender, nonce) index, then drop the index).
 * Returns the version the file is at.
 */
const migrate = (db: DatabaseSync, path: string): number => {
  if (versionOf(db, path) === SCHEMA_VERSION) return SCHEMA_VERSION
  db.exec("BEGIN IMMEDIATE")
  try {
    // Read again under the write lock: another process may have migrated meanwhile.
    if (versionOf(db, path) === SCHEMA_VERSION) {
      db.exec("COMMIT")
      return SCHEMA_VERSION
    }
    const hadLog = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log'").get() !== undefined
    const hadNonces = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sender_nonce'").get() !== undefined
    db.exec(LOG_TABLES)
    if (hadNonces) db.exec(SENDER_STATS)
    else {
      db.exec(SENDER_NONCE)
      if (hadLog) {
        db.exec("INSERT INTO sender_nonce (sender, nonce, count, latest_lamport) SELECT sender, MAX(nonce), COUNT(*), MAX(lamport) FROM log GROUP BY sender")
        db.exec("DROP INDEX IF EXISTS log_sender_nonce")
      }
    }
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`)
    db.exec("COMMIT")
  } catch (cause) {
    if (db.isTransaction) db.exec("ROLLBACK")
    throw cause
  }
  return SCHEMA_VERSION
}

type Row = [number, string, number, string, string, number, string, string]
const COLUMNS = "seq, id, lamport, type, sender, nonce, deps, body"
const HEADER_COLUMNS = "seq, id, lamport, type, sender, nonce, deps, ''"
const NO_LINK_COLUMNS = "seq, '', lamport, type, sender, nonce, '', body"
const NO_LINK_HEADER_COLUMNS = "seq, '', lamport, type, sender, nonce, '', ''"

/** Rows fetched per call while scanning. */
const SCAN_CHUNK = 8192

const splitDeps = (deps: string): ReadonlyArray<MessageId> => (deps === "" ? [] : (deps.split(",") as Array<MessageId>))

const toRecord = (row: Row): LogRecord => ({
  offset: row[0],
  id: row[1] as MessageId,
  lamport: row[2],
  type: row[3],
  sender: row[4],
  nonce: row[5],
  deps: splitDeps(row[6]),
  body: row[7]
})

const fail = (operation: string) => (cause: unknown) => new CausalLogError({ operation, cause })

const arrays = (stmt: StatementSync): StatementSync => {
  stmt.setReturnArrays(true)
  return stmt
}

/**
 * The log with what an adapter that keeps it as a local index needs besides the port (the
 * Kafka log: docs/adr/0001-kafka-total-order.md): its own rows written in the same
 * transaction as an append, and emptying it to rebuild.
 */
export interface SqliteLogHandle {
  readonly service: CausalLogService
  /** `append`, and `also` run on the same connection inside the same transaction. */
  readonly appendWith: (
    batch: ReadonlyArray<NewRecord>,
    also: (db: DatabaseSync) => void
  ) => Effect.Effect<ReadonlyArray<Appended>, CausalLogError>
  /** `f` on the connection inside one transaction (rolled back if it throws). */
  readonly transact: <A>(operation: string, f: (db: DatabaseSync) => A) => Effect.Effect<A, CausalLogError>
  /** Delete every record: the log is empty again (offsets restart at 0). */
  readonly clear: Effect.Effect<void, CausalLogError>
}

/** Open (creating if needed) the log at `options.path`; closed with the scope. */
export const make = (options: SqliteOptions) => Effect.map(open(options), (h) => h.service)

/** `make`, with the local-index extras of `SqliteLogHandle`. */
export const open = (options: SqliteOptions) =>
  Effect.gen(function*() {
    const readOnly = options.readOnly === true
    const { db, version } = yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          if (readOnly) {
            const db = new DatabaseSync(options.path, { readOnly: true })
            try {
              db.exec("PRAGMA busy_timeout = 5000")
              return { db, version: versionOf(db, options.path) }
            } catch (cause) {
              db.close()
              throw cause
            }
          }
          const db = SqlitePrivateDatabase.open(options.path)
          try {
            db.exec("PRAGMA journal_mode = WAL")
            db.exec(`PRAGMA synchronous = ${options.synchronous ?? "FULL"}`)
            db.exec("PRAGMA busy_timeout = 5000")
            // Ids and dependencies are hashes: each append writes into pages all over the
            // id and dependency indexes. A page cache of 64 MiB (SQLite's default is 2 MiB)
            // keeps those pages in memory instead of reading them back for every batch, and a
            // checkpoint every 10,000 WAL pages (~40 MiB; default 1,000) copies a page that
            // many batches touched to the database file once, not once per batch.
            db.exec(`PRAGMA cache_size = -${CACHE_KIB}`)
            db.exec(`PRAGMA wal_autocheckpoint = ${CHECKPOINT_PAGES}`)
            return { db, version: migrate(db, options.path) }
          } catch (cause) {
            db.close()
            throw cause
          }
        },
        catch: fail("open")
      }),
      ({ db }) => Effect.sync(() => db.isOpen && db.close())
    )

    // Statements that write exist only on a writable connection.
    const writer = readOnly ? undefined : {
      insert: db.prepare("INSERT INTO log (seq, id, lamport, type, sender, nonce, deps, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
      insertDep: db.prepare("INSERT INTO log_deps (dep, seq) VALUES (?, ?)"),
      // RETURNING the count: equal to this batch's, the sender is new to the log.
      raiseNonce: arrays(db.prepare(
        "INSERT INTO sender_nonce (sender, nonce, count, latest_lamport) VALUES (?, ?, ?, ?) ON CONFLICT (sender) DO UPDATE SET " +
          "nonce = MAX(nonce, excluded.nonce), count = count + excluded.count, latest_lamport = MAX(latest_lamport, excluded.latest_lamport) RETURNING count"
      ))
    }
    const selectRange = arrays(db.prepare(`SELECT ${COLUMNS} FROM log WHERE seq >= ? AND seq < ? ORDER BY seq`))
    const scanStatement = (columns: string) =>
      arrays(db.prepare(`SELECT ${columns} FROM log WHERE seq >= ? AND seq < ? ORDER BY seq`))
    const selectHeaders = scanStatement(HEADER_COLUMNS)
    const selectNoLinks = scanStatement(NO_LINK_COLUMNS)
    const selectNoLinkHeaders = scanStatement(NO_LINK_HEADER_COLUMNS)
    const selectCausal = arrays(
      db.prepare(`SELECT ${COLUMNS} FROM log WHERE lamport >= ? ORDER BY lamport, id LIMIT ?`)
    )
    const selectById = arrays(db.prepare(`SELECT ${COLUMNS} FROM log WHERE id = ?`))
    const selectRef = arrays(db.prepare("SELECT seq, lamport FROM log WHERE id = ?"))
    const selectDependents = arrays(
      db.prepare(`SELECT ${COLUMNS} FROM log_deps d JOIN log USING (seq) WHERE d.dep = ? AND seq >= ? ORDER BY seq LIMIT ?`)
    )
    const selectNonce = arrays(
      db.prepare(version >= 1 ? "SELECT nonce FROM sender_nonce WHERE sender = ?" : "SELECT MAX(nonce) FROM log WHERE sender = ?")
    )
    const selectMaxLamport = arrays(db.prepare("SELECT COALESCE(MAX(lamport), 0) FROM log"))
    const selectEnd = arrays(db.prepare("SELECT COALESCE(MAX(seq) + 1, 0) FROM log"))

    const scalar = (stmt: StatementSync, ...args: Array<string | number>): unknown =>
      (stmt.get(...args) as unknown as ReadonlyArray<unknown>)[0]

    let next = Number(scalar(selectEnd))

    // Senders: from their rows (version 2), else (an older file, read-only) from the log itself.
    const selectSenders = arrays(db.prepare(
      version >= 2
        ? "SELECT sender, count, latest_lamport FROM sender_nonce WHERE sender > ? ORDER BY sender LIMIT ?"
        : "SELECT sender, COUNT(*), MAX(lamport) FROM log WHERE sender > ? GROUP BY sender ORDER BY sender LIMIT ?"
    ))
    const countSenders = arrays(db.prepare(version >= 1 ? "SELECT COUNT(*) FROM sender_nonce" : "SELECT COUNT(DISTINCT sender) FROM log"))
    // How many senders the log holds, kept as appends add them (a reader beside a writer counts afresh).
    let senderTotal: number | undefined = readOnly ? undefined : Number(scalar(countSenders))
    const end = yield* makeLogEnd(next)

    const read = (from: number, to: number) =>
      Effect.try({
        try: () => (selectRange.all(Math.max(0, from), to) as unknown as Array<Row>).map(toRecord),
        catch: fail("read")
      })

    // Subscribers' page reads, shared (LogTail.sharedPages): one read per append, not one per stream.
    const subscriberReads = sharedPages(end, read)

    const appendWith = (batch: ReadonlyArray<NewRecord>, also: ((db: DatabaseSync) => void) | undefined) =>
      Effect.suspend(() => {
        if (writer === undefined) return Effect.fail(fail("append")(new LogIsReadOnly({ path: options.path })))
        if (batch.length === 0 && also === undefined) return Effect.succeed([])
        const out: Array<Appended> = []
        try {
          db.exec("BEGIN IMMEDIATE")
          let seq = next
          // The highest nonce, count and latest Lamport time of each sender in the batch: one row write per sender.
          const highest = new Map<string, { nonce: number; count: number; lamport: number }>()
          for (const r of batch) {
            writer.insert.run(seq, r.id, r.lamport, r.type, r.sender, r.nonce, r.deps.join(","), r.body)
            for (const d of r.deps) writer.insertDep.run(d, seq)
            const h = highest.get(r.sender)
            if (h === undefined) highest.set(r.sender, { nonce: r.nonce, count: 1, lamport: r.lamport })
            else {
              h.count++
              if (r.nonce > h.nonce) h.nonce = r.nonce
              if (r.lamport > h.lamport) h.lamport = r.lamport
            }
            out.push({ id: r.id, offset: seq, lamport: r.lamport })
            seq++
          }
          let fresh = 0
          for (const [sender, h] of highest) {
            const row = writer.raiseNonce.get(sender, h.nonce, h.count, h.lamport) as unknown as [number]
            if (row[0] === h.count) fresh++
          }
          also?.(db)
          db.exec("COMMIT")
          next = seq
          if (senderTotal !== undefined) senderTotal += fresh
        } catch (cause) {
          if (db.isTransaction) db.exec("ROLLBACK")
          return Effect.fail(fail("append")(cause))
        }
        return end.set(next).pipe(Effect.as(out as ReadonlyArray<Appended>))
      })

    const transact = <A>(operation: string, f: (db: DatabaseSync) => A) =>
      Effect.try({
        try: () => {
          if (readOnly) throw new LogIsReadOnly({ path: options.path })
          db.exec("BEGIN IMMEDIATE")
          try {
            const a = f(db)
            db.exec("COMMIT")
            return a
          } catch (cause) {
            if (db.isTransaction) db.exec("ROLLBACK")
            throw cause
          }
        },
        catch: fail(operation)
      })

    const clear = transact("clear", (db) => {
      db.exec("DELETE FROM log_deps; DELETE FROM log;")
      if (version >= 1) db.exec("DELETE FROM sender_nonce")
    }).pipe(Effect.andThen(Effect.suspend(() => {
      next = 0
      if (senderTotal !== undefined) senderTotal = 0
      return end.set(0)
    })))

    const service: CausalLogService = {
      append: (batch) => appendWith(batch, undefined),
      read,
      scan: (from, to, options, visit) =>
        Effect.try({
          try: () => {
            const links = options.withLinks !== false
            const stmt = options.withBody
              ? (links ? selectRange : selectNoLinks)
              : (links ? selectHeaders : selectNoLinkHeaders)
            // Rows are fetched a chunk at a time with `all()`: one call into SQLite per chunk
            // rather than one per row (`iterate()`), which measured replay at 0.68 of a raw
            // scan instead of 0.89; chunks keep the memory of a long scan bounded.
            let n = 0
            const stop = Math.min(to, next)
            for (let lo = Math.max(0, from); lo < stop; lo += SCAN_CHUNK) {
              const rows = stmt.all(lo, Math.min(stop, lo + SCAN_CHUNK)) as unknown as Array<Row>
              for (const row of rows) visit(toRecord(row))
              n += rows.length
            }
            return n
          },
          catch: fail("scan")
        }),
      readCausal: (fromLamport, limit) =>
        Effect.try({
          try: () => (selectCausal.all(fromLamport, Math.max(0, limit)) as unknown as Array<Row>).map(toRecord),
          catch: fail("readCausal")
        }),
      get: (id) =>
        Effect.try({
          try: () => Option.map(Option.fromUndefinedOr(selectById.get(id) as unknown as Row | undefined), toRecord),
          catch: fail("get")
        }),
      lookup: (ids) =>
        Effect.try({
          try: () => {
            const out = new Map<string, RecordRef>()
            for (const id of ids) {
              const row = selectRef.get(id) as unknown as [number, number] | undefined
              if (row !== undefined) out.set(id, { offset: row[0], lamport: row[1] })
            }
            return out
          },
          catch: fail("lookup")
        }),
      dependents: (id, page) =>
        Effect.try({
          // LIMIT -1: no limit.
          try: () => (selectDependents.all(id, page?.from ?? 0, page?.limit ?? -1) as unknown as Array<Row>).map(toRecord),
          catch: fail("dependents")
        }),
      highestNonce: (sender) =>
        Effect.try({
          try: () => {
            // No row (version 1) or a NULL maximum (version 0): the sender has no record.
            const row = selectNonce.get(sender) as unknown as [number | null] | undefined
            return row === undefined || row[0] === null ? Option.none() : Option.some(Number(row[0]))
          },
          catch: fail("highestNonce")
        }),
      senders: (after, limit) =>
        Effect.try({
          try: () => {
            const rows = selectSenders.all(after ?? "", Math.max(0, limit)) as unknown as Array<[string, number, number]>
            const page: Array<SenderStats> = rows.map(([sender, count, latestLamport]) => ({ sender, count, latestLamport }))
            return { page, total: senderTotal ?? Number(scalar(countSenders)) }
          },
          catch: fail("senders")
        }),
      maxLamport: Effect.try({ try: () => Number(scalar(selectMaxLamport)), catch: fail("maxLamport") }),
      endOffset: Effect.sync(() => next),
      subscribe: (fromOffset) => tail(end, subscriberReads, fromOffset)
    }
    const handle: SqliteLogHandle = { service, appendWith, transact, clear }
    return handle
  })

/** The SQLite log as a layer. */
export const layer = (options: SqliteOptions) => Layer.effect(CausalLog, make(options))
