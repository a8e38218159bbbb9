/**
 * Projection rebuild throughput against its peer, a raw SQLite scan of the same rows, in one run.
 *
 * The log: BENCH_ROWS (default 1,000,000) rows written straight into a database whose schema
 * SqliteCausalLog itself created. Signing a million envelopes would take minutes, so 1,000
 * real envelopes are signed (ed25519, five message types, each checked by `admit` and its
 * signature verified) and their canonical bodies repeated; every row gets its own id,
 * offset, Lamport time, sender (one of 10,000) and nonce, and depends on its sender's
 * previous row (deps column and log_deps), so rows and indexes have realistic sizes. The
 * body of a row therefore does not hash to the row's id: nothing here reads it.
 *
 * - rawScanPerSec (peer): every row of `SELECT * FROM log` through node:sqlite
 *   `StatementSync.iterate()` with setReturnArrays(true), touching nothing.
 * - eventsPerSec: `replay(log, [LogIndex])` from offset 0 over SqliteCausalLog on the same
 *   file (header columns only: LogIndex.needsBody is false).
 * Also printed, not in the JSON: a raw scan of just the header columns replay reads.
 *
 * Rounds alternate peer and replay (after one warm-up of each, which also pulls the file into
 * the OS cache); figures are medians with min and max. Last line:
 * {"eventsPerSec","rawScanPerSec","ratio"}. Env: BENCH_ROWS, BENCH_ROUNDS (3), BENCH_DB=<file> to
 * keep the generated log there and reuse it on later runs.
 */
import { createHash } from "node:crypto"
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Effect, Result } from "effect"
import * as NodeCryptoSignatureVerifier from "../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteCausalLog from "../src/adapters/storage/SqliteCausalLog.ts"
import { admit } from "../src/domain/Admission.ts"
import { fromHex, signingBytes } from "../src/domain/Envelope.ts"
import type { MessageId } from "../src/domain/Primitives.ts"
import { LogIndex, type LogIndexState } from "../src/projections/LogIndex/LogIndex.ts"
import { replay } from "../src/projections/ProjectionRunner.ts"
import { type SignedEnvelope, benchSender, orderPayload, signWith } from "./support/signedEnvelopes.ts"
import { fmt, median, spread } from "./support/stats.ts"

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const TEMPLATES = 1000
const SENDERS = 10_000

const hex = (s: string): string => createHash("sha256").update(s).digest("hex")

// ---------------------------------------------------------------------------------------
// 1,000 real envelopes
// ---------------------------------------------------------------------------------------

const payloadOf = (i: number): { readonly type: string; readonly payload: unknown } => {
  const k = i % 20
  if (k < 12) return { type: "UserOrder", payload: orderPayload(i) }
  if (k < 15) return { type: "UserOrderCancellation", payload: { orderId: hex(`order:${i}`) } }
  if (k < 17) return { type: "NetworkHealth", payload: { component: `relayer-${i % 7}`, status: "ok", latencyMs: 10 + (i % 90) } }
  if (k < 19) {
    return {
      type: "CrossChainEvent",
      payload: { sourceChain: "eip155:1", targetChain: "eip155:42161", height: 19_000_000 + i, txHash: hex(`tx:${i}`), logIndex: i % 16, data: hex(`data:${i}`) + hex(`more:${i}`) }
    }
  }
  return {
    type: "ProofAnnouncement",
    payload: { computationId: `batch-${i}`, proofSystem: "groth16", vkId: hex(`v:${i % 4}`), commitment: hex(`c:${i}`), publicInputs: [String(i)], shares: 4, bytes: 100_000 }
  }
}

const templates = (): Array<{ readonly type: string; readonly body: string }> => {
  const senders = Array.from({ length: 100 }, (_, i) => benchSender(i))
  const verifier = NodeCryptoSignatureVerifier.make()
  const out: Array<{ type: string; body: string }> = []
  for (let i = 0; i < TEMPLATES; i++) {
    const { type, payload } = payloadOf(i)
    const s: SignedEnvelope = signWith(senders[i % senders.length] as (typeof senders)[number], {
      v: 1,
      flags: 0,
      type,
      nonce: i + 1,
      lamport: i + 1,
      deps: [] as ReadonlyArray<MessageId>,
      expiry: null,
      payload
    })
    const a = admit(JSON.parse(JSON.stringify(s.envelope)), 0, { maxMessageBytes: 65_536 })
    if (Result.isFailure(a)) throw new Error(`template ${i} (${type}) is refused: ${a.failure.reason}`)
    const e = a.success.envelope
    if (!verifier.verify(e.scheme, e.sender, signingBytes(a.success.idBytes), fromHex(e.sig))) {
      throw new Error(`template ${i} does not verify`)
    }
    out.push({ type, body: a.success.body })
  }
  return out
}

// ---------------------------------------------------------------------------------------
// The log, written directly
// ---------------------------------------------------------------------------------------

const generate = (path: string): void => {
  // The schema is the adapter's own: open the log once through it.
  Effect.runSync(Effect.scoped(Effect.asVoid(SqliteCausalLog.make({ path, synchronous: "FULL" }))))
  const tpl = templates()
  const senders = Array.from({ length: SENDERS }, (_, k) => hex(`sender:${k}`))
  const last = new Array<string>(SENDERS)
  const db = new DatabaseSync(path)
  db.exec("PRAGMA synchronous = OFF")
  // Bulk load without the secondary indexes, then build them as the adapter defines them.
  const indexes = (db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").all() as Array<{ name: string; sql: string }>)
  for (const ix of indexes) db.exec(`DROP INDEX ${ix.name}`)
  const insert = db.prepare("INSERT INTO log (seq, id, lamport, type, sender, nonce, deps, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
  const insertDep = db.prepare("INSERT INTO log_deps (dep, seq) VALUES (?, ?)")
  const CHUNK = 50_000
  for (let from = 0; from < ROWS; from += CHUNK) {
    db.exec("BEGIN")
    for (let seq = from; seq < Math.min(ROWS, from + CHUNK); seq++) {
      const t = tpl[seq % TEMPLATES] as { type: string; body: string }
      const k = seq % SENDERS
      const id = createHash("sha256").update(`row:${seq}`).digest("hex")
      const dep = last[k]
      insert.run(seq, id, seq + 1, t.type, senders[k] as string, Math.floor(seq / SENDERS) + 1, dep ?? "", t.body)
      if (dep !== undefined) insertDep.run(dep, seq)
      last[k] = id
    }
    db.exec("COMMIT")
  }
  for (const ix of indexes) db.exec(ix.sql)
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
  db.close()
}

// ---------------------------------------------------------------------------------------
// Peer and subject
// ---------------------------------------------------------------------------------------

const rawScan = (path: string, sql: string): { perSec: number; rows: number } => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    const stmt = db.prepare(sql)
    stmt.setReturnArrays(true)
    const start = performance.now()
    let rows = 0
    for (const _ of stmt.iterate()) rows++
    const ms = performance.now() - start
    return { perSec: rows / (ms / 1000), rows }
  } finally {
    db.close()
  }
}

const replayOnce = (path: string): { perSec: number; offset: number; total: number; digest: string } =>
  Effect.runSync(Effect.scoped(Effect.gen(function*() {
    const log = yield* SqliteCausalLog.make({ path, synchronous: "FULL" })
    const start = performance.now()
    const result = yield* replay(log, [LogIndex])
    const ms = performance.now() - start
    const state = result.states[0] as LogIndexState
    return { perSec: result.offset / (ms / 1000), offset: result.offset, total: state.total, digest: result.digests[LogIndex.name] as string }
  })).pipe(Effect.orDie))

// ---------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------

const main = () => {
  // BENCH_DB=<file>: generate there once and keep it (later runs reuse it); otherwise a temp file.
  const kept = process.env.BENCH_DB
  const dir = kept === undefined ? mkdtempSync(join(tmpdir(), "causeway-bench-replay-")) : undefined
  const path = kept ?? join(dir as string, "log.sqlite")
  try {
    let t = performance.now()
    const reuse = kept !== undefined && existsSync(kept)
    if (!reuse) generate(path)
    const bytes = statSync(path).size
    const count = (() => {
      const db = new DatabaseSync(path, { readOnly: true })
      const n = Number((db.prepare("SELECT COUNT(*) AS n FROM log").get() as { n: number }).n)
      const avg = Number((db.prepare("SELECT AVG(LENGTH(body)) AS a FROM log").get() as { a: number }).a)
      db.close()
      return { n, avg }
    })()
    console.log(
      `log: ${fmt(count.n)} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB on disk (${path}); ${reuse ? "reused (BENCH_DB)" : `generated in ${fmt(performance.now() - t)} ms`} ` +
        `from ${TEMPLATES} real signed envelopes (5 types, bodies avg ${Math.round(count.avg)} B) repeated with distinct ids, offsets, ` +
        `lamports, ${fmt(SENDERS)} senders, nonces and per-sender deps chains`
    )
    if (count.n !== ROWS) throw new Error(`expected ${ROWS} rows, found ${count.n}`)

    const PEER = "SELECT * FROM log"
    const HEADERS = "SELECT seq, id, lamport, type, sender, nonce, deps, '' FROM log ORDER BY seq"
    t = performance.now()
    const w1 = rawScan(path, PEER)
    const w2 = replayOnce(path)
    console.log(`warm-up: raw scan ${fmt(w1.perSec)}/s, replay ${fmt(w2.perSec)}/s (discarded; ${fmt(performance.now() - t)} ms)`)

    const raw: Array<number> = []
    const hdr: Array<number> = []
    const rep: Array<number> = []
    let digest = ""
    for (let r = 1; r <= ROUNDS; r++) {
      const a = rawScan(path, PEER)
      const b = replayOnce(path)
      const c = rawScan(path, HEADERS)
      if (a.rows !== ROWS || b.offset !== ROWS || b.total !== ROWS || c.rows !== ROWS) {
        throw new Error(`round ${r}: raw ${a.rows}, replay offset ${b.offset} total ${b.total}, headers ${c.rows}; expected ${ROWS}`)
      }
      if (digest !== "" && digest !== b.digest) throw new Error("replay digests differ between rounds")
      digest = b.digest
      raw.push(a.perSec)
      rep.push(b.perSec)
      hdr.push(c.perSec)
      console.log(
        `round ${r}: raw scan (SELECT *) ${fmt(a.perSec)}/s | replay [LogIndex] ${fmt(b.perSec)}/s | ratio ${(b.perSec / a.perSec).toFixed(3)} | header-only raw scan ${fmt(c.perSec)}/s`
      )
    }
    const rawScanPerSec = Math.round(median(raw))
    const eventsPerSec = Math.round(median(rep))
    const ratio = Number((eventsPerSec / rawScanPerSec).toFixed(3))
    console.log(`raw scan SELECT * (peer):  ${spread(raw)}`)
    console.log(`raw scan, header columns:  ${spread(hdr)}`)
    console.log(`replay [LogIndex]:         ${spread(rep)}  (digest ${digest.slice(0, 16)}…)`)
    console.log(
      `targets: >= 200,000 events/s: ${eventsPerSec >= 200_000 ? "MET" : "MISSED"}; ratio ${ratio} >= 0.5: ${ratio >= 0.5 ? "MET" : "MISSED"}` +
        ` (replay / header-only raw scan: ${(eventsPerSec / median(hdr)).toFixed(3)})`
    )
    console.log(JSON.stringify({ eventsPerSec, rawScanPerSec, ratio }))
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  }
}

main()
