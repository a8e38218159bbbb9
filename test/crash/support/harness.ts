/**
 * The crash-safety machinery the test (test/crash/crashSafety.test.ts, the CI-sized run) and
 * the benchmark (bench/crash.ts, `npm run bench:crash`) share: drive the ingesting child
 * (test/crash/ingestChild.ts), SIGKILL it, and check the log and the snapshots it left behind
 * on the parent's own read-only connections.
 *
 * A round starts a child on the data directory, waits for its READY line, lets it ingest for
 * the given time, kills it with SIGKILL and checks: the READY digests equal the parent's own
 * replay of the log up to the READY offset (which must be the log end after the previous
 * kill); the log's integrity, dense offsets, every body re-decodes to its id and signature,
 * dependencies before their dependents, the dependency table matching the records, nonces
 * rising per sender; every acknowledged message at its acknowledged offset; the stored
 * snapshots equal to a replay of the log up to their offsets. Nothing here throws on a failed
 * check: a round returns what it found, sorted into lost acknowledged messages, replay
 * mismatches and other problems, each prefixed with the round's label.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Deferred, Duration, Effect, Result, Stream } from "effect"
import * as NodeCryptoSignatureVerifier from "../../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../../src/adapters/storage/SqliteProjectionStore.ts"
import { instanceKeyPath, logPath, snapshotPath } from "../../../src/Config.ts"
import { admit } from "../../../src/domain/Admission.ts"
import { canonicalize } from "../../../src/domain/CanonicalJson.ts"
import { fromHex, idOf, signingBytes } from "../../../src/domain/Envelope.ts"
import type { MessageId } from "../../../src/domain/Primitives.ts"
import { projections as projectionsFor } from "../../../src/main.ts"
import type { CausalLogService, LogRecord } from "../../../src/ports/CausalLog.ts"
import type { AnyProjection } from "../../../src/projections/Projection.ts"
import { digestText } from "../../../src/projections/Projection.ts"
import { replay } from "../../../src/projections/ProjectionRunner.ts"
import * as Ingest from "../../../src/services/Ingest.ts"

const NODE = resolve(import.meta.dirname, "../../../node_modules/.bin/node")
const CHILD = resolve(import.meta.dirname, "../ingestChild.ts")

// ---------------------------------------------------------------------------------------
// The child process

export interface Ready {
  readonly offset: number
  /** name -> [offset, digest] as the live runner reported them. */
  readonly digests: ReadonlyMap<string, readonly [number, string]>
}

export interface Child {
  readonly process: ChildProcess
  /** Complete stdout lines (a line cut by the kill is not one). */
  readonly acks: Array<readonly [MessageId, number]>
  readonly rejects: Array<string>
  readonly unexpected: Array<string>
  readonly logs: Array<string>
  readonly ready: Deferred.Deferred<Ready, Error>
  readonly closed: Deferred.Deferred<{ readonly code: number | null; readonly signal: string | null }>
}

const parseReady = (line: string): Ready => {
  const [, offset, ...entries] = line.split(" ")
  const digests = new Map<string, readonly [number, string]>()
  for (const e of entries) {
    const m = /^(.+)=(\d+):([0-9a-f]{64})$/.exec(e)
    if (m === null) throw new Error(`bad READY entry ${e}`)
    digests.set(m[1] as string, [Number(m[2]), m[3] as string])
  }
  return { offset: Number(offset), digests }
}

const lineReader = (onLine: (line: string) => void) => {
  let buffer = ""
  return (chunk: Buffer) => {
    buffer += chunk.toString("utf8")
    const lines = buffer.split("\n")
    buffer = lines.pop() as string
    for (const l of lines) onLine(l)
  }
}

/** Start the child on `dataDir`; the scope kills it if it is still running. */
export const spawnChild = (dataDir: string, seed: number, snapshotEvery: number) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const proc = spawn(NODE, [CHILD, dataDir, String(seed), String(snapshotEvery)], { stdio: ["ignore", "pipe", "pipe"] })
      const child: Child = {
        process: proc,
        acks: [],
        rejects: [],
        unexpected: [],
        logs: [],
        ready: Deferred.makeUnsafe<Ready, Error>(),
        closed: Deferred.makeUnsafe()
      }
      proc.stdout?.on("data", lineReader((line) => {
        if (line.startsWith("ACK ")) {
          const [, id, offset] = line.split(" ")
          child.acks.push([id as MessageId, Number(offset)])
        } else if (line.startsWith("READY ")) {
          Deferred.doneUnsafe(child.ready, Effect.try({ try: () => parseReady(line), catch: (e) => new Error(String(e)) }))
        } else if (line.startsWith("REJECT ")) child.rejects.push(line)
        else child.unexpected.push(line)
      }))
      proc.stderr?.on("data", lineReader((line) => child.logs.push(line)))
      proc.on("error", (e) => {
        Deferred.doneUnsafe(child.ready, Effect.fail(e))
        Deferred.doneUnsafe(child.closed, Effect.succeed({ code: null, signal: null }))
      })
      proc.on("close", (code, signal) => {
        Deferred.doneUnsafe(child.ready, Effect.fail(new Error(`child ended (${code ?? signal}) before READY: ${child.logs.join("\n")}`)))
        Deferred.doneUnsafe(child.closed, Effect.succeed({ code, signal }))
      })
      return child
    }),
    (child) =>
      Effect.sync(() => {
        if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill("SIGKILL")
      }).pipe(Effect.andThen(Deferred.await(child.closed)))
  )

// ---------------------------------------------------------------------------------------
// The parent's own view of the log: read-only connections, never the service's adapter

export type Row = [number, string, number, string, string, number, string, string]

/** A read-only CausalLog over its own connection, with just what `replay` uses. */
export const readOnlyLog = (db: DatabaseSync): CausalLogService => {
  const headers = db.prepare("SELECT seq, id, lamport, type, sender, nonce, deps, '' FROM log WHERE seq >= ? AND seq < ? ORDER BY seq")
  const full = db.prepare("SELECT seq, id, lamport, type, sender, nonce, deps, body FROM log WHERE seq >= ? AND seq < ? ORDER BY seq")
  headers.setReturnArrays(true)
  full.setReturnArrays(true)
  const toRecord = (r: Row): LogRecord => ({
    offset: r[0],
    id: r[1] as MessageId,
    lamport: r[2],
    type: r[3],
    sender: r[4],
    nonce: r[5],
    deps: r[6] === "" ? [] : (r[6].split(",") as Array<MessageId>),
    body: r[7]
  })
  const unused = (what: string) => Effect.die(new Error(`${what} is not used by replay`))
  return {
    endOffset: Effect.sync(() => Number((db.prepare("SELECT COUNT(*) AS n FROM log").get() as { n: number }).n)),
    scan: (from, to, options, visit) =>
      Effect.sync(() => {
        let n = 0
        for (const r of (options.withBody ? full : headers).iterate(from, to)) {
          visit(toRecord(r as unknown as Row))
          n++
        }
        return n
      }),
    read: (from, to) => Effect.sync(() => (full.all(from, to) as unknown as Array<Row>).map(toRecord)),
    append: () => unused("append"),
    readCausal: () => unused("readCausal"),
    get: () => unused("get"),
    lookup: () => unused("lookup"),
    dependents: () => unused("dependents"),
    highestNonce: () => unused("highestNonce"),
    senders: () => unused("senders"),
    maxLamport: unused("maxLamport"),
    subscribe: () => Stream.die(new Error("subscribe is not used by replay"))
  }
}

export interface StoredSnapshot {
  readonly name: string
  readonly version: number
  readonly offset: number
  readonly digest: string
  readonly state: string
}

export const readSnapshots = (dataDir: string): { integrity: string; snapshots: Array<StoredSnapshot> } => {
  const db = new DatabaseSync(snapshotPath(dataDir), { readOnly: true })
  try {
    const integrity = (db.prepare("PRAGMA integrity_check").all() as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join("; ")
    // A large state is kept in parts: joined as the store joins them.
    const snapshots = db.prepare(`SELECT s.name, s.version, s.offset_ AS offset, s.digest, ${SqliteProjectionStore.STATE_SQL} AS state FROM snapshots s`)
      .all() as unknown as Array<StoredSnapshot>
    return { integrity, snapshots }
  } finally {
    db.close()
  }
}

const verifier = NodeCryptoSignatureVerifier.make()

/** Full check of one stored row: body decodes and is canonical, id and signature and header columns agree. */
export const verifyRow = (row: Row, now: number): Array<string> => {
  const [seq, id, lamport, type, sender, nonce, deps, body] = row
  const problems: Array<string> = []
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (e) {
    return [`seq ${seq}: body is not JSON (${String(e)})`]
  }
  const admitted = admit(value, now, { maxMessageBytes: Ingest.defaultOptions.maxMessageBytes })
  if (Result.isFailure(admitted)) return [`seq ${seq}: body does not decode: ${admitted.failure.reason}`]
  if (idOf(value as Parameters<typeof idOf>[0]) !== id) problems.push(`seq ${seq}: id does not recompute from the body`)
  if (canonicalize(value) !== body) problems.push(`seq ${seq}: body is not canonical`)
  const { envelope: e, idBytes } = admitted.success
  if (admitted.success.id !== id) problems.push(`seq ${seq}: decoded id differs`)
  if (!verifier.verify(e.scheme, e.sender, signingBytes(idBytes), fromHex(e.sig))) problems.push(`seq ${seq}: signature does not verify`)
  const header = [e.lamport, e.type, e.sender, e.nonce, e.deps.join(",")]
  if (JSON.stringify(header) !== JSON.stringify([lamport, type, sender, nonce, deps])) {
    problems.push(`seq ${seq}: header columns ${JSON.stringify([lamport, type, sender, nonce, deps])} differ from the envelope ${JSON.stringify(header)}`)
  }
  return problems
}

export interface LogCheck {
  readonly end: number
  /** Acknowledged messages missing from the log or stored at another offset. */
  readonly lost: Array<string>
  /** Everything else found wrong with the log. */
  readonly problems: Array<string>
  readonly withDeps: number
}

/**
 * Check the whole log after a kill. `verified` (by offset) holds rows fully verified in
 * earlier rounds: they must be unchanged; new rows are verified in full.
 */
export const checkLog = (db: DatabaseSync, acked: ReadonlyMap<string, number>, verified: Map<number, Row>): LogCheck => {
  const problems: Array<string> = []
  const lost: Array<string> = []
  const integrity = (db.prepare("PRAGMA integrity_check").all() as Array<{ integrity_check: string }>).map((r) => r.integrity_check)
  if (integrity.join() !== "ok") problems.push(`log integrity_check: ${integrity.join("; ")}`)
  const mode = (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode
  if (mode !== "wal") problems.push(`log journal_mode is ${mode}, not wal`)

  const select = db.prepare("SELECT seq, id, lamport, type, sender, nonce, deps, body FROM log ORDER BY seq")
  select.setReturnArrays(true)
  const rows = select.all() as unknown as Array<Row>
  const end = rows.length
  rows.forEach((r, i) => {
    if (r[0] !== i) problems.push(`offsets are not dense: row ${i} has offset ${r[0]}`)
  })

  const now = Date.now()
  const byId = new Map<string, Row>()
  for (const r of rows) {
    if (byId.has(r[1])) problems.push(`id ${r[1]} stored twice`)
    byId.set(r[1], r)
    const before = verified.get(r[0])
    if (before !== undefined) {
      if (JSON.stringify(before) !== JSON.stringify(r)) problems.push(`seq ${r[0]} changed since it was verified`)
    } else {
      const p = verifyRow(r, now)
      problems.push(...p)
      if (p.length === 0) verified.set(r[0], r)
    }
  }
  for (const seq of verified.keys()) if (seq >= end) problems.push(`seq ${seq}, verified earlier, is gone (end ${end})`)

  for (const [id, offset] of acked) {
    const r = byId.get(id)
    if (r === undefined) lost.push(`acknowledged ${id} (offset ${offset}) is missing`)
    else if (r[0] !== offset) lost.push(`acknowledged ${id} at offset ${offset} is stored at ${r[0]}`)
  }

  // Dependencies: each in the log, earlier and lower in Lamport time than its dependent.
  let withDeps = 0
  const expectedDeps: Array<string> = []
  const lastNonce = new Map<string, number>()
  for (const r of rows) {
    const deps = r[6] === "" ? [] : r[6].split(",")
    if (deps.length > 0) withDeps++
    for (const d of deps) {
      expectedDeps.push(`${d}:${r[0]}`)
      const dep = byId.get(d)
      if (dep === undefined) problems.push(`seq ${r[0]} depends on ${d}, which is not in the log`)
      else if (dep[0] >= r[0] || dep[2] >= r[2]) problems.push(`seq ${r[0]} (lamport ${r[2]}) depends on ${d} at seq ${dep[0]} (lamport ${dep[2]})`)
    }
    const n = lastNonce.get(r[4])
    if (n !== undefined && r[5] <= n) problems.push(`seq ${r[0]}: nonce ${r[5]} of ${r[4]} is not above ${n}`)
    lastNonce.set(r[4], r[5])
  }
  const depRows = (db.prepare("SELECT dep, seq FROM log_deps").all() as Array<{ dep: string; seq: number }>).map((d) => `${d.dep}:${d.seq}`)
  expectedDeps.sort()
  depRows.sort()
  if (JSON.stringify(depRows) !== JSON.stringify(expectedDeps)) {
    problems.push(`log_deps (${depRows.length} rows) does not match the records' deps (${expectedDeps.length})`)
  }
  return { end, lost, problems, withDeps }
}

// ---------------------------------------------------------------------------------------
// Rounds of kills on one data directory

export interface RoundStats {
  readonly round: number
  readonly killAfterMs: number
  readonly resumedFrom: number
  readonly acks: number
  readonly end: number
  readonly unacked: number
}

export interface RoundResult {
  readonly stats: RoundStats
  /** Acknowledged messages the log lost or moved (and acknowledgments the log shrank below). */
  readonly lost: Array<string>
  /** Live digests or offsets at READY, or stored snapshots, that differ from the parent's replay. */
  readonly replayMismatches: Array<string>
  /** Anything else: a child that exited by itself, rejections, log lines, a damaged log or snapshot store. */
  readonly problems: Array<string>
}

/** What a restart after a tampered snapshot did: it must log a rebuild and still match the replay. */
export interface ControlResult {
  readonly logs: Array<string>
  readonly replayMismatches: Array<string>
}

/**
 * Kill rounds over one data directory. The state (what was acknowledged, rows verified, the
 * log end after the last kill) carries from one round to the next.
 */
export const crashRun = (dataDir: string, snapshotEvery: number) => {
  const acked = new Map<string, number>()
  const verified = new Map<number, Row>()
  let prevEnd = 0
  let withDeps = 0
  let resumeFrom = 0
  // The child killed last: its data directory lock is left behind, and the next child takes it over.
  let killedPid: number | undefined

  /** The service's projections, built with the instance key the first child created in the data directory. */
  let cachedProjections: ReadonlyArray<AnyProjection> | undefined
  const projections = () =>
    (cachedProjections ??= projectionsFor({ instanceKey: (JSON.parse(readFileSync(instanceKeyPath(dataDir), "utf8")) as { publicKey: string }).publicKey }))

  // Replays of the log, remembered by offset; a later offset continues from the furthest replay
  // below it (the log only grows, and a changed row is reported by checkLog), else from 0.
  const digestsAt = new Map<number, Readonly<Record<string, string>>>()
  let cursor: { offset: number; states: ReadonlyArray<unknown> } = { offset: 0, states: [] }
  const replayTo = (db: DatabaseSync, to: number) =>
    Effect.gen(function*() {
      const known = digestsAt.get(to)
      if (known !== undefined) return { offset: to, digests: known }
      const from = to >= cursor.offset && cursor.offset > 0 ? cursor : undefined
      const r = yield* replay(readOnlyLog(db), projections(), from === undefined ? { to } : { to, from: from.offset, states: from.states })
      if (r.offset >= cursor.offset) cursor = { offset: r.offset, states: r.states }
      digestsAt.set(r.offset, r.digests)
      return r
    })

  /** Open the log read-only, run `f`, close. */
  const withLog = <A, E>(f: (db: DatabaseSync) => Effect.Effect<A, E>) =>
    Effect.acquireUseRelease(
      Effect.sync(() => new DatabaseSync(logPath(dataDir), { readOnly: true })),
      f,
      (db) => Effect.sync(() => db.close())
    )

  /** The READY line against an independent replay of the log up to its offset. */
  const checkReady = (ready: Ready, label: string) =>
    withLog((db) =>
      Effect.gen(function*() {
        const mismatches: Array<string> = []
        if (ready.offset !== prevEnd) mismatches.push(`${label}: READY offset ${ready.offset} vs the log end after the last kill ${prevEnd}`)
        const replayed = yield* replayTo(db, ready.offset)
        if (replayed.offset !== ready.offset) mismatches.push(`${label}: replay reached ${replayed.offset}, not the READY offset ${ready.offset}`)
        const names = projections().map((p) => p.name)
        if (JSON.stringify([...ready.digests.keys()]) !== JSON.stringify(names)) {
          mismatches.push(`${label}: projections reported ${[...ready.digests.keys()].join(",")}, expected ${names.join(",")}`)
        }
        for (const p of projections()) {
          const [offset, digest] = ready.digests.get(p.name) ?? [-1, ""]
          if (offset !== ready.offset) mismatches.push(`${label}: live ${p.name} offset at READY is ${offset}, not ${ready.offset}`)
          if (digest !== replayed.digests[p.name]) mismatches.push(`${label}: live ${p.name} digest differs from the replay at ${ready.offset}`)
        }
        return mismatches
      })
    )

  /** The stored snapshots against the log; returns the offset the next start resumes from. */
  const checkSnapshots = (db: DatabaseSync, end: number, label: string) =>
    Effect.gen(function*() {
      const problems: Array<string> = []
      const replayMismatches: Array<string> = []
      const { integrity, snapshots } = readSnapshots(dataDir)
      if (integrity !== "ok") problems.push(`${label}: projections.sqlite integrity_check: ${integrity}`)
      let resumeAt = 0
      for (const s of [...snapshots].sort((a, b) => a.offset - b.offset)) {
        const p = projections().find((q) => q.name === s.name)
        if (p === undefined) problems.push(`${label}: snapshot of unknown projection ${s.name}`)
        else if (s.version !== p.version) problems.push(`${label}: snapshot version of ${s.name} is ${s.version}, not ${p.version}`)
        if (s.offset > end) {
          problems.push(`${label}: snapshot of ${s.name} at ${s.offset} is ahead of the log (end ${end})`)
          continue
        }
        if (digestText(s.state) !== s.digest) problems.push(`${label}: snapshot digest of ${s.name} does not match its state`)
        const replayed = yield* replayTo(db, s.offset)
        if (replayed.offset !== s.offset) replayMismatches.push(`${label}: replay reached ${replayed.offset}, not the snapshot offset ${s.offset}`)
        if (s.digest !== replayed.digests[s.name]) replayMismatches.push(`${label}: snapshot of ${s.name} at ${s.offset} differs from the replay`)
        resumeAt = s.offset
      }
      return { problems, replayMismatches, resumeAt }
    })

  /** Start a child, let it ingest for `killAfterMs` after READY, SIGKILL it, check everything. */
  const round = (round: number, label: string, killAfterMs: number, childSeed: number) =>
    Effect.gen(function*() {
      const lost: Array<string> = []
      const replayMismatches: Array<string> = []
      const problems: Array<string> = []
      const child = yield* Effect.scoped(
        Effect.gen(function*() {
          const child = yield* spawnChild(dataDir, childSeed, snapshotEvery)
          const ready = yield* Deferred.await(child.ready).pipe(Effect.timeout("30 seconds"))
          yield* Effect.sleep(Duration.millis(killAfterMs))
          if (child.process.exitCode !== null) problems.push(`${label}: child exited by itself: ${child.logs.join("\n")}`)
          if (!child.process.kill("SIGKILL")) problems.push(`${label}: the kill did not reach the child`)
          const closed = yield* Deferred.await(child.closed)
          if (closed.signal !== "SIGKILL") problems.push(`${label}: child ended by ${closed.code ?? closed.signal}`)
          replayMismatches.push(...(yield* checkReady(ready, label)))
          return child
        })
      )
      if (child.rejects.length > 0) problems.push(`${label}: rejections: ${child.rejects.slice(0, 5).join(" | ")}`)
      if (child.unexpected.length > 0) problems.push(`${label}: unexpected stdout: ${child.unexpected.slice(0, 5).join(" | ")}`)
      // The one line expected: the stale lock of the child killed before (none on a fresh directory).
      const tookOver = killedPid === undefined ? [] : [`LOG Warn data directory: took over the stale lock ${join(dataDir, "serve.lock")}: pid ${killedPid} is not running`]
      if (JSON.stringify(child.logs) !== JSON.stringify(tookOver)) problems.push(`${label}: the child logged (a rebuilt snapshot or a failure): ${child.logs.join(" | ")}`)
      killedPid = child.process.pid

      for (const [id, offset] of child.acks) {
        if (acked.has(id)) problems.push(`${label}: ${id} acknowledged twice`)
        acked.set(id, offset)
      }
      const result = yield* withLog((db) =>
        Effect.gen(function*() {
          const log = checkLog(db, acked, verified)
          return { log, snapshots: yield* checkSnapshots(db, log.end, label) }
        })
      )
      lost.push(...result.log.lost.map((p) => `${label}: ${p}`))
      problems.push(...result.log.problems.slice(0, 20).map((p) => `${label}: ${p}`))
      if (result.log.problems.length > 20) problems.push(`${label}: ... ${result.log.problems.length - 20} more log problems`)
      problems.push(...result.snapshots.problems)
      replayMismatches.push(...result.snapshots.replayMismatches)
      if (result.log.end < prevEnd) lost.push(`${label}: the log shrank from ${prevEnd} to ${result.log.end}`)

      const lastAcked = Math.max(-1, ...child.acks.map(([, o]) => o))
      // Committed but not acknowledged: the kill fell between a commit and its ACK line.
      const unacked = result.log.end - Math.max(prevEnd, lastAcked + 1)
      const stats: RoundStats = { round, killAfterMs, resumedFrom: resumeFrom, acks: child.acks.length, end: result.log.end, unacked }
      prevEnd = result.log.end
      resumeFrom = result.snapshots.resumeAt
      withDeps = result.log.withDeps
      return { stats, lost, replayMismatches, problems } satisfies RoundResult
    })

  /**
   * Control: tamper with every stored snapshot's digest and restart. The restart must notice
   * (log a rebuild from offset 0) and still reach the replay's digests.
   */
  const tamperedRestart = Effect.gen(function*() {
    const tampered = yield* Effect.sync(() => {
      const db = new DatabaseSync(snapshotPath(dataDir))
      try {
        return db.prepare("UPDATE snapshots SET digest = ?").run("00".repeat(32)).changes
      } finally {
        db.close()
      }
    })
    if (tampered === 0) return yield* Effect.fail(new Error("control: no snapshot to tamper with"))
    return yield* Effect.scoped(
      Effect.gen(function*() {
        const child = yield* spawnChild(dataDir, 1, snapshotEvery)
        const ready = yield* Deferred.await(child.ready).pipe(Effect.timeout("30 seconds"))
        const replayMismatches = yield* checkReady(ready, "control")
        return { logs: child.logs, replayMismatches } satisfies ControlResult
      })
    )
  })

  return {
    round,
    tamperedRestart,
    /** Messages acknowledged so far, by id. */
    acknowledged: () => acked.size,
    /** The log end after the last kill. */
    end: () => prevEnd,
    /** Records with dependencies in the log after the last kill. */
    withDeps: () => withDeps
  }
}
