/**
 * Ingest throughput against its peer, bare node:crypto Ed25519 verification, in one run.
 *
 * - bareVerifyPerSec: `crypto.verify(null, msg, key, sig)` on one thread with pre-parsed
 *   KeyObjects, over the very 48-byte signing inputs ("causeway/v1/msg\0" || id) of the
 *   envelopes the pipeline then ingests.
 * - engineVerifyPerSec: the verification engine the pipeline runs (BENCH_VERIFIER: "sodium",
 *   libsodium, the default and what src/main.ts wires; or "node"), bare, on one thread, over
 *   the same inputs, interleaved with the peer.
 * - pipelinePerSec: N pre-signed envelopes (JSON-parsed, untimed) through `Ingest.submitMany`
 *   in batches, over SqliteCausalLog (temp file, WAL, synchronous=FULL) and that engine's
 *   verifier: decode, checks, signature, writer, append, fsync, acknowledgment.
 * - nonSignatureUsPerMessage: wall µs per message of the same pipeline with signatures off (a
 *   verifier that accepts everything, on the event loop): decode, checks, writer, append,
 *   fsync, acknowledgment, all on one thread.
 * - httpBatchPerSec: the same envelopes as JSON arrays POSTed to /v1/messages of the server
 *   `appLayer` starts; the client runs in a worker thread (the other core) with pre-built
 *   bodies, one request in flight. null (with the reason printed) when appLayer serves no HTTP.
 *
 * Each round interleaves peer and pipeline (the peer verifies a group's signatures, then the
 * pipeline ingests that group) so load from other processes hits both alike; each figure is
 * the median of the measured rounds, with min, max and each round's CPU share printed. The
 * last line is one JSON object: {"pipelinePerSec","httpBatchPerSec","bareVerifyPerSec","ratio",
 * "engine","engineVerifyPerSec","engineRatio","nonSignatureUsPerMessage","nonSignatureCpuUsPerMessage",
 * "httpRatio"} (ratio:
 * pipeline / bare node:crypto; engineRatio: engine / bare node:crypto; httpRatio: HTTP batch /
 * pipeline).
 *
 * The pipeline runs as the server does: Ingest.defaultOptions, so signatures are checked on
 * libuv's thread pool when the process may use more than one core (`verifyOffThread`), and the
 * pool is sized by src/cli/ThreadPool.ts (imported first, as the CLI does). Pin the process to
 * one core (`taskset -c 0 npm run bench:ingest`) to measure the single-core pipeline.
 *
 * Env: BENCH_N (envelopes, default 20000), BENCH_BATCH (512), BENCH_SENDERS (256),
 * BENCH_ROUNDS (3), BENCH_PROFILE=1 for one extra instrumented round with a time breakdown,
 * BENCH_HTTP=0 to skip the HTTP rounds (for CPU profiles of the in-process path),
 * BENCH_OFF_THREAD=1|0 to force `verifyOffThread` either way, BENCH_VERIFIER=sodium|node.
 */
import { threadPoolSize } from "../src/cli/ThreadPool.ts"
import { verify as cryptoVerify } from "node:crypto"
import { availableParallelism } from "node:os"
import { mkdtempSync, rmSync } from "node:fs"
import { connect, createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import { Effect, Layer, ManagedRuntime, Result, type Scope } from "effect"
import * as NodeCryptoSignatureVerifier from "../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SodiumSignatureVerifier from "../src/adapters/signatures/SodiumSignatureVerifier.ts"
import * as SqliteCausalLog from "../src/adapters/storage/SqliteCausalLog.ts"
import { defaultServeConfig } from "../src/Config.ts"
import { appLayer } from "../src/main.ts"
import { CausalLog } from "../src/ports/CausalLog.ts"
import { SignatureVerifier, type SignatureVerifierService } from "../src/ports/SignatureVerifier.ts"
import * as Ingest from "../src/services/Ingest.ts"
import { type SignedEnvelope, benchSender, orderStream } from "./support/signedEnvelopes.ts"
import { fmt, median, spread } from "./support/stats.ts"

const N = Number(process.env.BENCH_N ?? 20_000)
const BATCH = Number(process.env.BENCH_BATCH ?? 512)
const SENDERS = Number(process.env.BENCH_SENDERS ?? 256)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const PROFILE = process.env.BENCH_PROFILE === "1"
const HTTP = process.env.BENCH_HTTP !== "0"
const GROUP = 4 // batches per interleaving step
const ENGINE = process.env.BENCH_VERIFIER === "node" ? "node" : "sodium"
// The engine's verifier as ingest gets it (sodium: with its worker pool).
const engineVerifier: Effect.Effect<SignatureVerifierService, never, Scope.Scope> = ENGINE === "node"
  ? Effect.sync(() => NodeCryptoSignatureVerifier.make())
  : SodiumSignatureVerifier.make()
// Signatures off: every signature counts as valid (only for measuring the rest of the path).
const acceptAll: SignatureVerifierService = { verify: () => true, verifyMany: (rs) => Effect.succeed(rs.map(() => true)) }
const OPTIONS: Ingest.IngestOptions = {
  ...Ingest.defaultOptions,
  verifyOffThread: process.env.BENCH_OFF_THREAD === undefined ? Ingest.defaultOptions.verifyOffThread : process.env.BENCH_OFF_THREAD === "1"
}


// ---------------------------------------------------------------------------------------
// Set-up (untimed): senders, signed envelopes, their JSON text
// ---------------------------------------------------------------------------------------

let t = performance.now()
const senders = Array.from({ length: SENDERS }, (_, i) => benchSender(i))
const signed: Array<SignedEnvelope> = orderStream(N, senders)
const texts = signed.map((s) => JSON.stringify(s.envelope))
const bodies: Array<string> = []
for (let i = 0; i < N; i += BATCH) bodies.push(`[${texts.slice(i, i + BATCH).join(",")}]`)
console.log(
  `set-up: ${fmt(N)} ed25519 UserOrder envelopes from ${SENDERS} senders (each sender a causal chain: nonce k, lamport k, ` +
    `deps [previous]), ~${Math.round(texts.reduce((a, x) => a + x.length, 0) / N)} B each as JSON; signed in ${fmt(performance.now() - t)} ms`
)
console.log(
  `pipeline options: Ingest.defaultOptions (maxBatch ${OPTIONS.maxBatch}, rate ${OPTIONS.rate.ratePerSec}/s burst ${OPTIONS.rate.burst} per sender: ` +
    `${Math.ceil(N / SENDERS)} msgs per sender, so the limit never bites); batches of ${BATCH} per submitMany, one at a time`
)
console.log(
  `signatures: engine ${ENGINE === "sodium" ? "libsodium (sodium-native)" : "node:crypto"}, ` +
    `${OPTIONS.verifyOffThread ? (ENGINE === "sodium" ? `off the event loop, on a worker pool of ${availableParallelism()}` : `off the event loop, on libuv's thread pool (UV_THREADPOOL_SIZE ${threadPoolSize})`) : "on the event loop"}; ` +
    `this process may run on ${availableParallelism()} core(s)`
)

// ---------------------------------------------------------------------------------------
// Peer: bare node:crypto verify
// ---------------------------------------------------------------------------------------

// Verify signed[from, to) as the peer does; returns the wall milliseconds.
const bareVerify = (from: number, to: number): number => {
  const start = performance.now()
  for (let i = from; i < to; i++) {
    const s = signed[i] as SignedEnvelope
    if (!cryptoVerify(null, s.signed, s.sender.publicKey, s.sig)) throw new Error("bare verify: a signature did not verify")
  }
  return performance.now() - start
}

// The engine, bare: its one-thread `verify` over the same inputs (hex key in, as ingest calls it).
const engineInline: SignatureVerifierService = ENGINE === "node" ? NodeCryptoSignatureVerifier.make() : Effect.runSync(Effect.scoped(SodiumSignatureVerifier.make({ workers: 0 })))
const engineVerify = (from: number, to: number): number => {
  const start = performance.now()
  for (let i = from; i < to; i++) {
    const s = signed[i] as SignedEnvelope
    if (!engineInline.verify("ed25519", s.sender.publicHex, s.signed, s.sig)) throw new Error("engine verify: a signature did not verify")
  }
  return performance.now() - start
}

// ---------------------------------------------------------------------------------------
// The pipeline, in process
// ---------------------------------------------------------------------------------------

interface Probe {
  verifyMs: number
  appendMs: number
  appends: number
  appended: number
}

type Mode = "signatures" | "no-signatures"

const pipelineLayer = (path: string, probe: Probe | undefined, mode: Mode) => {
  const log = SqliteCausalLog.layer({ path, synchronous: "FULL" })
  const verifier = mode === "no-signatures" ? Layer.succeed(SignatureVerifier, acceptAll) : Layer.effect(SignatureVerifier, engineVerifier)
  const storage = probe === undefined
    ? Layer.mergeAll(log, verifier)
    : Layer.mergeAll(
      // Bench-side instrumentation only: wrap the ports to time their calls.
      Layer.effect(
        CausalLog,
        Effect.map(SqliteCausalLog.make({ path, synchronous: "FULL" }), (svc) => ({
          ...svc,
          append: (records: Parameters<typeof svc.append>[0]) =>
            Effect.suspend(() => {
              const t0 = performance.now()
              return svc.append(records).pipe(Effect.tap(() =>
                Effect.sync(() => {
                  probe.appendMs += performance.now() - t0
                  probe.appends++
                  probe.appended += records.length
                })
              ))
            })
        }))
      ),
      Layer.effect(SignatureVerifier, Effect.map(engineVerifier, (inner): SignatureVerifierService => {
        let inFlight = 0
        let busySince = 0
        return {
          verify: (scheme, key, message, sig) => {
            const t0 = performance.now()
            const ok = inner.verify(scheme, key, message, sig)
            probe.verifyMs += performance.now() - t0
            return ok
          },
          // Off the event loop: the time during which at least one hand-off is unanswered
          // (chunks overlap, so their intervals are merged, not summed). Part of it overlaps
          // decoding on the event loop, so "everything else" below is what remains outside it.
          verifyMany: (requests) =>
            Effect.suspend(() => {
              if (inFlight++ === 0) busySince = performance.now()
              return inner.verifyMany(requests).pipe(Effect.ensuring(Effect.sync(() => {
                if (--inFlight === 0) probe.verifyMs += performance.now() - busySince
              })))
            })
        }
      }))
    )
  const options = mode === "no-signatures" ? { ...OPTIONS, verifyOffThread: false } : OPTIONS
  return Ingest.layer(options).pipe(Layer.provideMerge(storage))
}

interface Round {
  readonly bareVerifyPerSec: number
  readonly engineVerifyPerSec: number
  readonly pipelinePerSec: number
  /** CPU seconds per wall second while each ran: below 1 means the process waited (other load, or fsync). */
  readonly bareCpu: number
  readonly pipelineCpu: number
  readonly pipelineMs: number
  readonly accepted: number
  readonly rejected: Record<string, number>
}

/**
 * One round on a fresh database. Peer and pipeline are interleaved: before each group of
 * GROUP batches, the peer verifies the same envelopes' signatures; each side's time is summed,
 * so both rates are taken over the same stretch of machine load.
 */
const round = async (probe?: Probe, mode: Mode = "signatures"): Promise<Round> => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bench-ingest-"))
  const values: Array<unknown> = texts.map((x) => JSON.parse(x)) // as an HTTP body would arrive: untimed
  const rt = ManagedRuntime.make(pipelineLayer(join(dir, "log.sqlite"), probe, mode))
  try {
    const ingest = await rt.runPromise(Effect.gen(function*() {
      return yield* Ingest.Ingest
    }))
    const rejected: Record<string, number> = {}
    let accepted = 0
    let bareMs = 0
    let engineMs = 0
    let bareCpuMs = 0
    let pipeMs = 0
    let pipeCpuMs = 0
    const cpuMs = () => {
      const u = process.cpuUsage()
      return (u.user + u.system) / 1000
    }
    const step = BATCH * GROUP
    for (let g = 0; g < values.length; g += step) {
      const end = Math.min(values.length, g + step)
      let c = cpuMs()
      bareMs += bareVerify(g, end)
      bareCpuMs += cpuMs() - c
      engineMs += engineVerify(g, end)
      c = cpuMs()
      const start = performance.now()
      for (let i = g; i < end; i += BATCH) {
        const results = await rt.runPromise(ingest.submitMany(values.slice(i, Math.min(end, i + BATCH))))
        for (const r of results) {
          if (Result.isSuccess(r)) accepted++
          else rejected[r.failure._tag] = (rejected[r.failure._tag] ?? 0) + 1
        }
      }
      pipeMs += performance.now() - start
      pipeCpuMs += cpuMs() - c
    }
    return {
      bareVerifyPerSec: values.length / (bareMs / 1000),
      engineVerifyPerSec: values.length / (engineMs / 1000),
      pipelinePerSec: accepted / (pipeMs / 1000),
      bareCpu: bareCpuMs / bareMs,
      pipelineCpu: pipeCpuMs / pipeMs,
      pipelineMs: pipeMs,
      accepted,
      rejected
    }
  } finally {
    await rt.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------
// The pipeline through the HTTP server of appLayer
// ---------------------------------------------------------------------------------------

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const a = s.address()
      s.close(() => (typeof a === "object" && a !== null ? resolve(a.port) : reject(new Error("no port"))))
    })
  })

const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const c = connect(port, "127.0.0.1")
    c.once("connect", () => {
      c.destroy()
      resolve(true)
    })
    c.once("error", () => resolve(false))
  })

// The client: posts the pre-built bodies one at a time and counts accepted items.
const CLIENT = `
const { parentPort, workerData } = require("node:worker_threads")
const { url, bodies } = workerData
;(async () => {
  let ok = 0
  const failed = {}
  const statuses = {}
  const start = performance.now()
  for (const body of bodies) {
    const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body })
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
    const json = await res.json()
    if (Array.isArray(json?.results)) {
      for (const r of json.results) {
        if (r.ok) ok++
        else failed[r.error?._tag ?? "?"] = (failed[r.error?._tag ?? "?"] ?? 0) + 1
      }
    } else failed[json?._tag ?? "non-batch answer"] = (failed[json?._tag ?? "non-batch answer"] ?? 0) + 1
  }
  parentPort.postMessage({ ms: performance.now() - start, ok, failed, statuses })
})().catch((e) => parentPort.postMessage({ error: String(e) }))
`

interface HttpResult {
  readonly ms: number
  readonly ok: number
  readonly failed: Record<string, number>
  readonly statuses: Record<string, number>
}

const httpRound = async (): Promise<HttpResult | string> => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bench-http-"))
  const port = await freePort()
  // One client on loopback submitting for many senders: measured without its address budget
  // (serve --address-rate/--address-burst), as a relayer's token with a budget would be.
  const unlimited = { ratePerSec: 1_000_000_000, burst: 1_000_000_000 }
  const config = { ...defaultServeConfig, host: "127.0.0.1", port, dataDir: dir, logLevel: "Warn" as const, synchronous: "FULL" as const, clientBudgets: { address: unlimited } }
  const rt = ManagedRuntime.make(appLayer(config))
  try {
    await rt.runPromise(Effect.void) // build every layer: opens the stores, starts the server if any
    let up = false
    for (let i = 0; i < 20 && !up; i++) {
      up = await listening(port)
      if (!up) await new Promise((r) => setTimeout(r, 50))
    }
    if (!up) return `nothing listens on 127.0.0.1:${port} after building appLayer (the HTTP adapter is not wired into src/main.ts yet)`
    const worker = new Worker(CLIENT, { eval: true, workerData: { url: `http://127.0.0.1:${port}/v1/messages`, bodies } })
    const out = await new Promise<HttpResult | { error: string }>((resolve, reject) => {
      worker.once("message", resolve)
      worker.once("error", reject)
    })
    await worker.terminate()
    if ("error" in out) return `client failed: ${out.error}`
    return out
  } finally {
    await rt.dispose()
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------

const main = async () => {
  // Warm-up: JIT both paths before measuring.
  const warm = await round()
  console.log(`warm-up round: bare ${fmt(warm.bareVerifyPerSec)}/s, pipeline ${fmt(warm.pipelinePerSec)}/s (discarded)`)

  const bare: Array<number> = []
  const engine: Array<number> = []
  const pipe: Array<number> = []
  const noSig: Array<number> = []
  const noSigCpu: Array<number> = []
  for (let r = 1; r <= ROUNDS; r++) {
    const p = await round()
    bare.push(p.bareVerifyPerSec)
    engine.push(p.engineVerifyPerSec)
    pipe.push(p.pipelinePerSec)
    const rej = Object.entries(p.rejected).map(([k, v]) => `${k}=${v}`).join(" ")
    console.log(
      `round ${r}: bare verify ${fmt(p.bareVerifyPerSec)}/s (cpu ${p.bareCpu.toFixed(2)}) | pipeline ${fmt(p.pipelinePerSec)}/s ` +
        `(${fmt(p.accepted)} accepted in ${fmt(p.pipelineMs)} ms, cpu ${p.pipelineCpu.toFixed(2)}${rej ? `, rejected ${rej}` : ""}) | ratio ${(p.pipelinePerSec / p.bareVerifyPerSec).toFixed(3)}` +
        ` | engine ${ENGINE} bare ${fmt(p.engineVerifyPerSec)}/s`
    )
    if (p.accepted !== N) throw new Error(`pipeline accepted ${p.accepted} of ${N}: the bench's envelopes are wrong`)
  }
  for (let r = 1; r <= ROUNDS; r++) {
    const p = await round(undefined, "no-signatures")
    if (p.accepted !== N) throw new Error(`pipeline without signatures accepted ${p.accepted} of ${N}`)
    noSig.push(p.pipelineMs * 1000 / N)
    noSigCpu.push(p.pipelineMs * p.pipelineCpu * 1000 / N)
    console.log(
      `signatures off, round ${r}: ${(p.pipelineMs * 1000 / N).toFixed(1)} µs per message (${fmt(p.pipelinePerSec)}/s, cpu ${p.pipelineCpu.toFixed(2)}: ` +
        `${(p.pipelineMs * p.pipelineCpu * 1000 / N).toFixed(1)} µs of CPU per message, all threads)`
    )
  }

  if (PROFILE) {
    const probe: Probe = { verifyMs: 0, appendMs: 0, appends: 0, appended: 0 }
    const p = await round(probe)
    const ms = p.pipelineMs
    const rest = ms - probe.verifyMs - probe.appendMs
    const us = (x: number) => ((1000 * x) / N).toFixed(1)
    console.log(
      `profile round (instrumented ports), per message: total ${us(ms)} µs = ${OPTIONS.verifyOffThread ? "signature checks in flight on the pool" : "verify"} ${us(probe.verifyMs)} µs (${((100 * probe.verifyMs) / ms).toFixed(1)}%)` +
        ` + append incl. fsync ${us(probe.appendMs)} µs (${((100 * probe.appendMs) / ms).toFixed(1)}%; ${probe.appends} transactions of ` +
        `${(probe.appended / probe.appends).toFixed(1)} records) + everything else ${us(rest)} µs (${((100 * rest) / ms).toFixed(1)}%); ` +
        `bare verify this round ${us((1000 * N) / p.bareVerifyPerSec)} µs`
    )
  }

  const http: Array<number> = []
  let httpNote = ""
  for (let r = 1; r <= (HTTP ? ROUNDS : 0); r++) {
    const h = await httpRound()
    if (typeof h === "string") {
      httpNote = h
      break
    }
    const perSec = h.ok / (h.ms / 1000)
    http.push(perSec)
    const fails = Object.entries(h.failed).map(([k, v]) => `${k}=${v}`).join(" ")
    console.log(
      `http round ${r}: ${fmt(perSec)}/s (${fmt(h.ok)} accepted in ${fmt(h.ms)} ms, statuses ${JSON.stringify(h.statuses)}${fails ? `, failed ${fails}` : ""})`
    )
  }
  if (!HTTP) httpNote = "skipped (BENCH_HTTP=0)"
  if (httpNote) console.log(`http: not measured: ${httpNote}`)

  const bareVerifyPerSec = Math.round(median(bare))
  const pipelinePerSec = Math.round(median(pipe))
  const httpBatchPerSec = http.length > 0 ? Math.round(median(http)) : null
  const ratio = Number((pipelinePerSec / bareVerifyPerSec).toFixed(3))
  const engineVerifyPerSec = Math.round(median(engine))
  const engineRatio = Number((engineVerifyPerSec / bareVerifyPerSec).toFixed(3))
  const nonSignatureUsPerMessage = Number(median(noSig).toFixed(1))
  // CPU time of the process (every thread: event loop, GC, SQLite's fsync wait excluded) per
  // message: less sensitive than wall time to other processes taking the cores.
  const nonSignatureCpuUsPerMessage = Number(median(noSigCpu).toFixed(1))
  const httpRatio = httpBatchPerSec === null ? null : Number((httpBatchPerSec / pipelinePerSec).toFixed(3))
  const pairedRatios = pipe.map((p, i) => p / (bare[i] as number))
  console.log(`bare verify (peer): ${spread(bare)}`)
  console.log(`engine ${ENGINE} bare:  ${spread(engine)}`)
  console.log(`pipeline:           ${spread(pipe)}`)
  console.log(`signatures off:     µs per message: median ${median(noSig).toFixed(1)}, min ${Math.min(...noSig).toFixed(1)}, max ${Math.max(...noSig).toFixed(1)}`)
  if (http.length > 0) console.log(`http batch:         ${spread(http)}`)
  console.log(
    `ratio pipeline/bare = ${ratio} (per-round ratios ${pairedRatios.map((x) => x.toFixed(3)).join(", ")}); target >= 0.7: ${ratio >= 0.7 ? "MET" : "MISSED"}`
  )
  console.log(
    `ratio pipeline/bare = ${ratio} (target >= 2.5: ${ratio >= 2.5 ? "MET" : "MISSED"}); engine/bare = ${engineRatio}; ` +
      `signatures off ${nonSignatureUsPerMessage} µs/message (target <= 20: ${nonSignatureUsPerMessage <= 20 ? "MET" : "MISSED"}); ` +
      `http/pipeline = ${httpRatio ?? "n/a"} (target >= 0.85: ${httpRatio !== null && httpRatio >= 0.85 ? "MET" : "MISSED"})`
  )
  console.log(JSON.stringify({ pipelinePerSec, httpBatchPerSec, bareVerifyPerSec, ratio, engine: ENGINE, engineVerifyPerSec, engineRatio, nonSignatureUsPerMessage, nonSignatureCpuUsPerMessage, httpRatio }))
}

await main()
