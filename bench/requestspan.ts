/**
 * What Effect's per-request server span costs causeway's HTTP server when no tracer exports
 * it (the native tracer: spans nobody reads), against the server with request tracing off
 * (`traceRequests: false`, what src/main.ts does unless --otlp-url is set).
 *
 * Two servers in this process, the same wiring (HttpService over coreLayer on SQLite in a temp
 * directory, logs at Warn) but for `traceRequests`; a client in a worker thread (the other core)
 * sends N sequential keep-alive GET /healthz, the cheapest route, so the span's share is the
 * largest it can be. Rounds alternate which server goes first, so load from other processes
 * hits both alike; each figure is the median of the rounds, with min and max printed.
 * Beside the rate, the server thread's busy time per request (its event-loop utilization over
 * the round), which other processes on the machine disturb less than wall time.
 * The last line is one JSON object: {"tracedPerSec","untracedPerSec","spanCostUs",
 * "tracedBusyUs","untracedBusyUs"} (spanCostUs: the difference of the medians' wall time per
 * request; *BusyUs: the medians of the server thread's busy time per request; microseconds).
 *
 * Env: BENCH_N (requests per round, default 5000), BENCH_ROUNDS (6).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import { Layer, ManagedRuntime } from "effect"
import * as ApiAuth from "../src/adapters/http/ApiAuth.ts"
import * as HttpService from "../src/adapters/http/HttpService.ts"
import { defaultServeConfig } from "../src/Config.ts"
import { coreLayer } from "../src/main.ts"
import { fmt, median, spread } from "./support/stats.ts"

const N = Number(process.env.BENCH_N ?? 5_000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6)

const CLIENT = `
const { parentPort, workerData } = require("node:worker_threads")
const { url, n } = workerData
;(async () => {
  const statuses = {}
  // Warm-up, untimed.
  for (let i = 0; i < 200; i++) await (await fetch(url)).arrayBuffer()
  const start = performance.now()
  for (let i = 0; i < n; i++) {
    const res = await fetch(url)
    await res.arrayBuffer()
    statuses[res.status] = (statuses[res.status] ?? 0) + 1
  }
  parentPort.postMessage({ ms: performance.now() - start, statuses })
})().catch((e) => parentPort.postMessage({ error: String(e) }))
`

const server = async (traceRequests: boolean) => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bench-span-"))
  const config = { ...defaultServeConfig, port: 0, dataDir: dir, logLevel: "Warn" as const, synchronous: "NORMAL" as const }
  const rt = ManagedRuntime.make(
    HttpService.layer({ host: "127.0.0.1", port: 0, traceRequests }).pipe(
      Layer.provide(coreLayer(config)),
      Layer.provide(ApiAuth.layerClosed),
      Layer.provide(HttpService.logging("Warn"))
    )
  )
  const port = await rt.runPromise(HttpService.boundPort)
  return {
    url: `http://127.0.0.1:${port}/healthz`,
    close: async () => {
      await rt.dispose()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Requests per second, and the server thread's busy time per request (µs, event-loop utilization). */
const round = async (url: string): Promise<{ readonly rate: number; readonly busyUs: number }> => {
  const before = performance.eventLoopUtilization()
  const worker = new Worker(CLIENT, { eval: true, workerData: { url, n: N } })
  const out = await new Promise<{ ms: number; statuses: Record<string, number> } | { error: string }>((resolve, reject) => {
    worker.once("message", resolve)
    worker.once("error", reject)
  })
  const busy = performance.eventLoopUtilization(before)
  await worker.terminate()
  if ("error" in out) throw new Error(out.error)
  if (out.statuses["200"] !== N) throw new Error(`statuses ${JSON.stringify(out.statuses)}`)
  // Includes the 200 warm-up requests' share of the loop (alike for both servers).
  return { rate: N / (out.ms / 1000), busyUs: (busy.active * 1000) / N }
}

const traced = await server(true)
const untraced = await server(false)
const tracedRates: Array<number> = []
const untracedRates: Array<number> = []
const tracedBusy: Array<number> = []
const untracedBusy: Array<number> = []
try {
  console.log(`GET /healthz, ${fmt(N)} sequential keep-alive requests per round, ${ROUNDS} rounds, client in a worker thread`)
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ["traced", "untraced"] as const : ["untraced", "traced"] as const
    for (const which of order) {
      const { rate, busyUs } = await round(which === "traced" ? traced.url : untraced.url)
      ;(which === "traced" ? tracedRates : untracedRates).push(rate)
      ;(which === "traced" ? tracedBusy : untracedBusy).push(busyUs)
      console.log(`round ${r} ${which.padEnd(8)}: ${fmt(rate)} req/s, server thread busy ${busyUs.toFixed(1)} µs per request`)
    }
  }
} finally {
  await traced.close()
  await untraced.close()
}

const tracedPerSec = Math.round(median(tracedRates))
const untracedPerSec = Math.round(median(untracedRates))
const spanCostUs = Math.round((1e6 / tracedPerSec - 1e6 / untracedPerSec) * 100) / 100
const tracedBusyUs = Math.round(median(tracedBusy) * 10) / 10
const untracedBusyUs = Math.round(median(untracedBusy) * 10) / 10
const us = (xs: ReadonlyArray<number>) => xs.map((x) => x.toFixed(1)).join(", ")
console.log(`traced (a span per request):   ${spread(tracedRates)}; server busy µs/request median ${tracedBusyUs} (${us(tracedBusy)})`)
console.log(`untraced (no span per request): ${spread(untracedRates)}; server busy µs/request median ${untracedBusyUs} (${us(untracedBusy)})`)
console.log(`difference of the medians: ${spanCostUs} µs per request in wall time (${((untracedPerSec / tracedPerSec - 1) * 100).toFixed(1)}% more requests per second untraced), ${(tracedBusyUs - untracedBusyUs).toFixed(1)} µs of server thread time`)
console.log(JSON.stringify({ tracedPerSec, untracedPerSec, spanCostUs, tracedBusyUs, untracedBusyUs }))
