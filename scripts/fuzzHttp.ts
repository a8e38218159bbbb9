/**
 * `npm run fuzz:http`: generated and mutated requests (test/http/support/httpFuzz.ts: every
 * operation of the OpenAPI document, its parameters, headers and bodies, and envelopes mutated
 * from valid signed ones) against a real `causeway serve` child on a temporary data directory.
 *
 * It seeds twelve valid messages, sends the cases with bounded concurrency over keep-alive
 * connections, and checks: no answer 5xx, every 4xx a JSON body with `_tag` and `reason`, the
 * child never exits and /healthz answers at the end, and the log's end offset moved by exactly
 * the messages answered as accepted. While it runs, a probe times GET /healthz every 100 ms
 * (the largest answer time bounds the server's event-loop delay from above, queueing included).
 *
 * Env (or flags): FUZZ_COUNT / --count (default 1,000,000), FUZZ_SEED / --seed (default
 * 20260521), FUZZ_FROM / --from (first case index, to reproduce one: --from N --count 1),
 * FUZZ_CONCURRENCY / --concurrency (32). A failing case is printed with its seed and index.
 * Progress goes to stderr; the last line of stdout is one JSON object with the figures. Exits 1
 * when a check fails.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { startWatchedServer } from "./support/WatchedServer.ts"
import { describeFailure, run, type Summary, world } from "../test/http/support/httpFuzz.ts"

const { values } = parseArgs({
  options: { count: { type: "string" }, seed: { type: "string" }, from: { type: "string" }, concurrency: { type: "string" } }
})
const COUNT = Number(values.count ?? process.env["FUZZ_COUNT"] ?? 1_000_000)
const SEED = Number(values.seed ?? process.env["FUZZ_SEED"] ?? 20_260_521)
const FROM = Number(values.from ?? process.env["FUZZ_FROM"] ?? 0)
const CONCURRENCY = Number(values.concurrency ?? process.env["FUZZ_CONCURRENCY"] ?? 32)

const log = (line: string) => process.stderr.write(`${line}\n`)

const endOffset = async (base: string): Promise<number> => {
  const text = await (await fetch(`${base}/metrics`)).text()
  const match = /^causeway_log_end_offset(?:\{[^}]*\})? (\d+)$/m.exec(text)
  if (match === null) throw new Error("no causeway_log_end_offset in /metrics")
  return Number(match[1])
}

const main = async (): Promise<number> => {
  const watched = await startWatchedServer("causeway-fuzz-", 24 * 3600_000, log)
  const { server, dataDir } = watched
  try {
    const base = server.url.replace(/\/$/, "")
    const token = readFileSync(join(dataDir, "api-token"), "utf8").trim()
    const w = world(token)
    for (const e of w.seeded) {
      const r = await fetch(`${base}/v1/messages`, { method: "POST", body: JSON.stringify(e), headers: { "content-type": "application/json" } })
      if (r.status !== 201) throw new Error(`seeding failed: ${r.status} ${await r.text()}`)
    }
    const before = await endOffset(base)
    log(`fuzz:http: ${COUNT} cases from index ${FROM}, seed ${SEED}, concurrency ${CONCURRENCY}, against ${base} (log end offset ${before})`)

    let probeMaxMs = 0
    let probing = true
    const probe = (async () => {
      while (probing) {
        const t = performance.now()
        try {
          await (await fetch(`${base}/healthz`)).text()
          probeMaxMs = Math.max(probeMaxMs, performance.now() - t)
        } catch {
          // the crash check reports a dead server
        }
        await new Promise((r) => setTimeout(r, 100))
      }
    })()

    const started = performance.now()
    const progress = (done: number, s: Summary) => {
      const seconds = (performance.now() - started) / 1000
      log(`${done} cases, ${Math.round(done / seconds)}/s, ${s.failureCount} failing, statuses ${JSON.stringify(s.statuses)}, healthz max ${Math.round(probeMaxMs)} ms`)
    }
    const summary = await run({ base, world: w, seed: SEED, count: COUNT, from: FROM, concurrency: CONCURRENCY, onProgress: progress, progressEvery: Math.max(1000, Math.min(50_000, Math.round(COUNT / 20))) })
    const durationMs = performance.now() - started
    probing = false
    await probe

    const health = await fetch(`${base}/healthz`).then((r) => r.status, () => 0)
    // Accepted messages are appended before they are answered; give the gauge a moment to follow.
    let after = await endOffset(base)
    for (let i = 0; i < 50 && after !== before + summary.appended; i++) {
      await new Promise((r) => setTimeout(r, 100))
      after = await endOffset(base)
    }
    const serverErrors = Object.entries(summary.statuses).filter(([s]) => Number(s) >= 500).reduce((n, [, k]) => n + k, 0)
    for (const f of summary.failures) log(describeFailure(SEED, f))
    log(`by family: ${JSON.stringify(summary.byKind)}`)
    const slowest = Object.entries(summary.timeByKind).sort(([, a], [, b]) => b.totalMs - a.totalMs).slice(0, 12)
    log(`time by family (total ms, slowest ms): ${slowest.map(([k, t]) => `${k}: ${Math.round(t.totalMs)}, ${Math.round(t.maxMs)}`).join("; ")}`)
    const figures = {
      cases: summary.cases,
      seed: SEED,
      from: FROM,
      concurrency: CONCURRENCY,
      durationMs: Math.round(durationMs),
      requestsPerSec: Math.round(summary.cases / (durationMs / 1000)),
      statuses: summary.statuses,
      serverErrors,
      failing: summary.failureCount,
      unsendable: summary.unsendable,
      crashes: watched.crashed() ? 1 : 0,
      healthzAtEnd: health,
      healthzMaxMs: Math.round(probeMaxMs),
      logBefore: before,
      logAfter: after,
      accepted: summary.appended,
      logMovedOnlyByAccepted: after - before === summary.appended
    }
    const ok = serverErrors === 0 && summary.failureCount === 0 && !watched.crashed() && health === 200 && figures.logMovedOnlyByAccepted
    console.log(JSON.stringify({ ok, ...figures }))
    return ok ? 0 : 1
  } finally {
    await watched.stop()
  }
}

process.exitCode = await main()
