/**
 * Crash safety of the embedded log: a child process (ingestChild.ts) ingests real signed
 * envelopes through `coreLayer` and is killed with SIGKILL at a random moment, over and
 * over, on the same data directory. After every kill the log is opened read-only on its own
 * connection and checked: integrity, every acknowledged message at its acknowledged offset,
 * dense offsets, every body re-decodes to its id and signature, dependencies before their
 * dependents, the dependency table matching the records, nonces rising per sender, and the
 * stored snapshot equal to a replay of the log up to its offset. Every restart's live
 * digests (after catch-up from that snapshot) must equal the parent's own replay, and its
 * only log line is taking over the data directory lock the killed child left behind.
 *
 * Reproduce a failure with CRASH_SEED=<seed printed on start>; keep the data directory with
 * CRASH_KEEP=1.
 */
import { describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, resolve } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Deferred, Duration, Effect, Result, Stream } from "effect"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { instanceKeyPath, logPath, snapshotPath } from "../../src/Config.ts"
import { admit } from "../../src/domain/Admission.ts"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { fromHex, idOf, signingBytes } from "../../src/domain/Envelope.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { projections as projectionsFor } from "../../src/main.ts"
import type { CausalLogService, LogRecord } from "../../src/ports/CausalLog.ts"
import { digestText } from "../../src/projections/Projection.ts"
import { replay } from "../../src/projections/ProjectionRunner.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { mulberry32 } from "./prng.ts"

/** Kills at least this many times... */
const MIN_ROUNDS = 24
/** ...and until this many kills hit a child that had acknowledged messages (on a loaded
 * machine the shortest windows can end before the first commit), but at most this many. */
const MIN_INGESTING_ROUNDS = 20
const MAX_ROUNDS = 48
const SNAPSHOT_EVERY = 100
const SEED = process.env.CRASH_SEED !== undefined ? Number(process.env.CRASH_SEED) : Date.now() % 2 ** 31
const NODE = resolve(import.meta.dirname, "../../node_modules/.bin/node")
const CHILD = resolve(import.meta.dirname, "ingestChild.ts")

// ---------------------------------------------------------------------------------------
// The child process

interface Ready {
  readonly offset: number
  /** name -> [offset, digest] as the live runner reported them. */
  readonly digests: ReadonlyMap<string, readonly [number, string]>
}

interface Child {
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
const spawnChild = (dataDir: string, seed: number) =>
  Effect.acquireRelease(
    Effect.sync((): Child => {
      const proc = spawn(NODE, [CHILD, dataDir, String(seed), String(SNAPSHOT_EVERY)], { stdio: ["ignore", "pipe", "pipe"] })
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

type Row = [number, string, number, string, string, number, string, string]

/** A read-only CausalLog over its own connection, with just what `replay` uses. */
const readOnlyLog = (db: DatabaseSync): CausalLogService => {
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
    maxLamport: unused("maxLamport"),
    subscribe: () => Stream.die(new Error("subscribe is not used by replay"))
  }
}

interface StoredSnapshot {
  readonly name: string
  readonly version: number
  readonly offset: number
  readonly digest: string
  readonly state: string
}

const readSnapshots = (dataDir: string): { integrity: string; snapshots: Array<StoredSnapshot> } => {
  const db = new DatabaseSync(snapshotPath(dataDir), { readOnly: true })
  try {
    const integrity = (db.prepare("PRAGMA integrity_check").all() as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join("; ")
    const snapshots = db.prepare("SELECT name, version, offset_ AS offset, digest, state FROM snapshots").all() as unknown as Array<StoredSnapshot>
    return { integrity, snapshots }
  } finally {
    db.close()
  }
}

const verifier = NodeCryptoSignatureVerifier.make()

/** Full check of one stored row: body decodes and is canonical, id and signature and header columns agree. */
const verifyRow = (row: Row, now: number): Array<string> => {
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

interface LogCheck {
  readonly end: number
  readonly problems: Array<string>
  readonly withDeps: number
}

/**
 * Check the whole log after a kill. `verified` (by offset) holds rows fully verified in
 * earlier rounds: they must be unchanged; new rows are verified in full.
 */
const checkLog = (db: DatabaseSync, acked: ReadonlyMap<string, number>, verified: Map<number, Row>): LogCheck => {
  const problems: Array<string> = []
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
    if (r === undefined) problems.push(`acknowledged ${id} (offset ${offset}) is missing`)
    else if (r[0] !== offset) problems.push(`acknowledged ${id} at offset ${offset} is stored at ${r[0]}`)
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
  return { end, problems, withDeps }
}

// ---------------------------------------------------------------------------------------

interface RoundStats {
  readonly round: number
  readonly killAfterMs: number
  readonly resumedFrom: number
  readonly acks: number
  readonly end: number
  readonly unacked: number
}

describe("crash safety", () => {
  it.live("SIGKILL at random points loses no acknowledged message and breaks nothing", () =>
    Effect.gen(function*() {
      console.log(`crash safety: seed ${SEED} (CRASH_SEED=${SEED} reproduces the schedule)`)
      const random = mulberry32(SEED)
      const dataDir = mkdtempSync(join(tmpdir(), "causeway-crash-"))
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => (process.env.CRASH_KEEP === undefined ? rmSync(dataDir, { recursive: true, force: true }) : console.log(`kept ${dataDir}`)))
      )

      const acked = new Map<string, number>()
      const verified = new Map<number, Row>()
      const stats: Array<RoundStats> = []
      let prevEnd = 0
      let withDeps = 0

      /** The service's projections, built with the instance key the child created in the data directory. */
      const projections = () => projectionsFor({ instanceKey: (JSON.parse(readFileSync(instanceKeyPath(dataDir), "utf8")) as { publicKey: string }).publicKey })

      /** Replay the projections over the parent's read-only view, up to `to`. */
      const replayTo = (db: DatabaseSync, to: number) => replay(readOnlyLog(db), projections(), { to })

      /** Check the stored snapshots against the log; returns the offset the next start resumes from. */
      const checkSnapshots = (db: DatabaseSync, end: number, label: string) =>
        Effect.gen(function*() {
          const { integrity, snapshots } = readSnapshots(dataDir)
          expect(integrity, `${label}: projections.sqlite integrity_check`).toBe("ok")
          let resumeFrom = 0
          for (const s of snapshots) {
            const p = projections().find((q) => q.name === s.name)
            expect(p, `${label}: snapshot of unknown projection ${s.name}`).toBeDefined()
            expect(s.version, `${label}: snapshot version of ${s.name}`).toBe(p?.version)
            expect(s.offset, `${label}: snapshot of ${s.name} is ahead of the log`).toBeLessThanOrEqual(end)
            expect(digestText(s.state), `${label}: snapshot digest of ${s.name} vs its state`).toBe(s.digest)
            const replayed = yield* replayTo(db, s.offset)
            expect(replayed.offset).toBe(s.offset)
            expect(s.digest, `${label}: snapshot of ${s.name} at ${s.offset} vs replay`).toBe(replayed.digests[s.name])
            resumeFrom = s.offset
          }
          return resumeFrom
        })

      /** Open the log read-only, run `f`, close. */
      const withLog = <A, E>(f: (db: DatabaseSync) => Effect.Effect<A, E>) =>
        Effect.acquireUseRelease(
          Effect.sync(() => new DatabaseSync(logPath(dataDir), { readOnly: true })),
          f,
          (db) => Effect.sync(() => db.close())
        )

      /** Check the READY line against an independent replay of the log up to its offset. */
      const checkReady = (ready: Ready, label: string) =>
        withLog((db) =>
          Effect.gen(function*() {
            expect(ready.offset, `${label}: READY offset vs the log end after the last kill`).toBe(prevEnd)
            const replayed = yield* replayTo(db, ready.offset)
            expect(replayed.offset).toBe(ready.offset)
            expect([...ready.digests.keys()], `${label}: projections reported`).toEqual(projections().map((p) => p.name))
            for (const p of projections()) {
              const [offset, digest] = ready.digests.get(p.name) ?? [-1, ""]
              expect(offset, `${label}: live ${p.name} offset at READY`).toBe(ready.offset)
              expect(digest, `${label}: live ${p.name} digest vs replay at ${ready.offset}`).toBe(replayed.digests[p.name])
            }
          })
        )

      let resumeFrom = 0
      let ingestingRounds = 0
      // The child killed last: its data directory lock is left behind, and the next child takes it over.
      let killedPid: number | undefined
      for (let round = 1; round <= MIN_ROUNDS || (ingestingRounds < MIN_INGESTING_ROUNDS && round <= MAX_ROUNDS); round++) {
        const label = `seed ${SEED} round ${round}`
        const killAfterMs = 50 + Math.floor(random() * 351)
        const childSeed = Math.floor(random() * 2 ** 31)
        const child = yield* Effect.scoped(
          Effect.gen(function*() {
            const child = yield* spawnChild(dataDir, childSeed)
            const ready = yield* Deferred.await(child.ready).pipe(Effect.timeout("30 seconds"))
            yield* Effect.sleep(Duration.millis(killAfterMs))
            expect(child.process.exitCode, `${label}: child exited by itself: ${child.logs.join("\n")}`).toBeNull()
            expect(child.process.kill("SIGKILL")).toBe(true)
            const closed = yield* Deferred.await(child.closed)
            expect(closed.signal, `${label}: child ended by ${closed.code ?? closed.signal}`).toBe("SIGKILL")
            yield* checkReady(ready, label)
            return child
          })
        )
        expect(child.rejects, `${label}: rejections`).toEqual([])
        expect(child.unexpected, `${label}: unexpected stdout`).toEqual([])
        // The one line expected: the stale lock of the child killed before (none in round 1).
        const tookOver = killedPid === undefined ? [] : [`LOG Warn data directory: took over the stale lock ${join(dataDir, "serve.lock")}: pid ${killedPid} is not running`]
        expect(child.logs, `${label}: the child logged (a rebuilt snapshot or a failure)`).toEqual(tookOver)
        killedPid = child.process.pid

        for (const [id, offset] of child.acks) {
          expect(acked.has(id), `${label}: ${id} acknowledged twice`).toBe(false)
          acked.set(id, offset)
        }
        const result = yield* withLog((db) =>
          Effect.gen(function*() {
            const log = checkLog(db, acked, verified)
            expect(log.problems.slice(0, 20), `${label}: ${log.problems.length} problems`).toEqual([])
            return { log, snapshotAt: yield* checkSnapshots(db, log.end, label) }
          })
        )
        const lastAcked = Math.max(-1, ...child.acks.map(([, o]) => o))
        // Committed but not acknowledged: the kill fell between a commit and its ACK line.
        const unacked = result.log.end - Math.max(prevEnd, lastAcked + 1)
        stats.push({ round, killAfterMs, resumedFrom: resumeFrom, acks: child.acks.length, end: result.log.end, unacked })
        if (child.acks.length > 0) ingestingRounds++
        expect(result.log.end, `${label}: the log shrank`).toBeGreaterThanOrEqual(prevEnd)
        prevEnd = result.log.end
        resumeFrom = result.snapshotAt
        withDeps = result.log.withDeps
      }

      // Control: a tampered snapshot must be noticed (so the "no log lines" check above can
      // fail), and the rebuild from offset 0 must still reach the replay's digests.
      yield* Effect.sync(() => {
        const db = new DatabaseSync(snapshotPath(dataDir))
        try {
          expect(db.prepare("UPDATE snapshots SET digest = ?").run("00".repeat(32)).changes).toBeGreaterThan(0)
        } finally {
          db.close()
        }
      })
      const control = yield* Effect.scoped(
        Effect.gen(function*() {
          const child = yield* spawnChild(dataDir, 1)
          const ready = yield* Deferred.await(child.ready).pipe(Effect.timeout("30 seconds"))
          yield* checkReady(ready, "control")
          return child
        })
      )
      expect(control.logs.some((l) => l.includes("rebuilding from offset 0"))).toBe(true)

      console.table(stats)
      const totalAcks = stats.reduce((n, s) => n + s.acks, 0)
      console.log(`crash safety: ${stats.length} kills (${ingestingRounds} after acknowledgments), ${totalAcks} acknowledged, ` +
        `log end ${prevEnd}, ${withDeps} records with deps, ${stats.filter((s) => s.resumedFrom > 0).length} restarts resumed from a snapshot`)
      expect(stats.length).toBeGreaterThanOrEqual(MIN_ROUNDS)
      expect(ingestingRounds, "kills that hit a child with acknowledged messages").toBeGreaterThanOrEqual(MIN_INGESTING_ROUNDS)
      expect(acked.size).toBe(totalAcks)
      expect(withDeps).toBeGreaterThan(prevEnd / 4)
      // Snapshot resume was exercised: most restarts began from a stored, verified snapshot.
      expect(stats.filter((s) => s.resumedFrom > 0).length).toBeGreaterThanOrEqual(MIN_ROUNDS / 2)
    }), { timeout: 150_000 })
})
