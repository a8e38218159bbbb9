/**
 * `npm run bench:attack`: issue #14's attacks against the real server, one scenario per finding,
 * each refused, bounded or throttled, with the server healthy after and the event loop's
 * largest delay measured during it.
 *
 * A `causeway serve --port 0` child over a fresh data directory (its admin token is
 * DATA_DIR/api-token). Each scenario: a scrape of /metrics (opening a fresh event-loop delay
 * window, see src/adapters/http/EventLoopDelay.ts), 50 ms for the monitor's baseline, the
 * attack, a second scrape: its `causeway_event_loop_delay_max_seconds` is the server's largest
 * event-loop delay during the attack (the scrapes included; a scenario that scrapes midway takes
 * the largest of its windows, and of their 99th percentiles). Then GET /healthz. Beside it, the
 * slowest answer of a /healthz probe sent every 100 ms during the attack (queueing and the
 * client's own loop included: an upper bound seen from outside).
 *
 * Loopback only. Clients bind to source addresses in 127.0.0.0/8 to be many "addresses" (the
 * server budgets and caps per client address, from the socket's peer address). The client
 * shares the machine with the server: envelopes and receipts are signed before the windows.
 *
 * Prints a table and, as its last line, one JSON object
 * {scenario: {maxEventLoopDelayMs, p99EventLoopDelayMs, healthzMaxMs, healthy, statuses, …}, …,
 *  "allUnder100ms": bool}. Exit 1 if a scenario's largest delay is ≥ 100 ms, the server is
 * unhealthy after one, or it died.
 *
 * Env: ATTACK_SYBIL (messages from fresh keys from one address, default 20000),
 * ATTACK_FLOOD_ADDRESSES (64), ATTACK_FLOOD_PER_ADDRESS (1500), ATTACK_STREAMS (1000),
 * ATTACK_ONLY (scenario names, comma-separated: run only those), ATTACK_NODE_OPTIONS (more NODE_OPTIONS for
 * the server, e.g. an --import probe), ATTACK_CPU_PROF (a directory: the
 * server writes V8 CPU profiles there, to find what holds its event loop).
 */
import { createHash, sign } from "node:crypto"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Agent, type IncomingMessage, request as httpRequest } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { receiptSigningBytes, type ReceiptBody } from "../src/domain/mempool/Receipt.ts"
import { startServer } from "../test/cli/support/cli.ts"
import { benchSender, type BenchSender, orderPayload, type SignedEnvelope, signWith } from "./support/signedEnvelopes.ts"

const SYBIL = Number(process.env.ATTACK_SYBIL ?? 20_000)
const FLOOD_ADDRESSES = Number(process.env.ATTACK_FLOOD_ADDRESSES ?? 64)
const FLOOD_PER_ADDRESS = Number(process.env.ATTACK_FLOOD_PER_ADDRESS ?? 1_500)
const STREAMS = Number(process.env.ATTACK_STREAMS ?? 1_000)
/** Scenario names to run (comma-separated), for trying one out; default all. */
const ONLY = process.env.ATTACK_ONLY?.split(",")
const LIMIT_MS = 100
const MiB = 1024 * 1024

const log = (line: string) => process.stderr.write(`${line}\n`)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------
// HTTP client: node:http, one keep-alive agent per source address
// ---------------------------------------------------------------------------------------
let base = ""
let port = 0
let token = ""
const agents = new Map<string, Agent>()
const agentFor = (address: string): Agent => {
  let a = agents.get(address)
  if (a === undefined) {
    a = new Agent({ keepAlive: true, maxSockets: 64, localAddress: address } as ConstructorParameters<typeof Agent>[0])
    agents.set(address, a)
  }
  return a
}

interface Answer {
  readonly status: number
  readonly text: string
}
interface CallOptions {
  readonly body?: string | Buffer
  readonly headers?: Record<string, string>
  readonly from?: string
  readonly auth?: boolean
  /** Send the body without a Content-Length (chunked). */
  readonly chunked?: boolean
  /** A connection of its own, not a pooled keep-alive one. */
  readonly fresh?: boolean
}

const call = (method: string, path: string, o: CallOptions = {}): Promise<Answer> =>
  new Promise((resolve) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) }
    if (o.body !== undefined) headers["content-type"] ??= "application/json"
    if (o.auth === true) headers["authorization"] = `Bearer ${token}`
    if (o.body !== undefined && o.chunked !== true) headers["content-length"] = String(Buffer.byteLength(o.body))
    let responded = false
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: o.fresh === true ? false : agentFor(o.from ?? "127.0.0.1") }, (res) => {
      responded = true
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", () => resolve({ status: res.statusCode ?? 0, text: "" }))
    })
    // A connection error before any answer counts as status 0 (a server that refuses an upload
    // answers first: the upload below stops once the answer is in).
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (!responded) resolve({ status: 0, text: e.code ?? String(e) })
    })
    if (o.body === undefined) {
      req.end()
      return
    }
    const body = typeof o.body === "string" ? Buffer.from(o.body) : o.body
    // Upload in 256 KiB pieces, each written before the next, so a chunked upload is really
    // chunked and an early answer (413) stops it.
    void (async () => {
      for (let i = 0; i < body.length && !responded && !req.destroyed; i += 256 * 1024) {
        await new Promise<void>((r) => req.write(body.subarray(i, i + 256 * 1024), () => r()))
      }
      if (!req.destroyed) req.end()
    })()
  })

type Statuses = Record<string, number>
const count = (s: Statuses, key: string | number, n = 1) => (s[String(key)] = (s[String(key)] ?? 0) + n)

/** Run `tasks` with at most `concurrency` in flight. */
const pool = async <A>(items: ReadonlyArray<A>, concurrency: number, f: (a: A, i: number) => Promise<void>): Promise<void> => {
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++
      await f(items[i] as A, i)
    }
  }))
}

const gauge = (metrics: string, name: string): number => {
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, "m").exec(metrics)
  return m === null ? Number.NaN : Number(m[1])
}
// Every scrape ends a window: a scenario's figures are the largest over the scrapes it makes.
let windowMaxMs = 0
let windowP99Ms = 0
const scrape = async () => {
  const text = (await call("GET", "/metrics")).text
  windowMaxMs = Math.max(windowMaxMs, gauge(text, "causeway_event_loop_delay_max_seconds") * 1000)
  windowP99Ms = Math.max(windowP99Ms, gauge(text, "causeway_event_loop_delay_p99_seconds") * 1000)
  return {
    maxMs: gauge(text, "causeway_event_loop_delay_max_seconds") * 1000,
    p99Ms: gauge(text, "causeway_event_loop_delay_p99_seconds") * 1000,
    logEnd: gauge(text, "causeway_log_end_offset"),
    sseClients: gauge(text, "causeway_http_sse_clients")
  }
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------
interface Outcome {
  readonly statuses: Statuses
  readonly [k: string]: unknown
}
interface Figures extends Outcome {
  readonly maxEventLoopDelayMs: number
  readonly p99EventLoopDelayMs: number
  readonly healthzMaxMs: number
  readonly healthy: boolean
  readonly seconds: number
}
const results: Record<string, Figures> = {}
let died = false

const scenario = async (name: string, run: () => Promise<Outcome>): Promise<void> => {
  if (ONLY !== undefined && !ONLY.includes(name)) return
  await scrape()
  windowMaxMs = 0
  windowP99Ms = 0
  await sleep(50)
  let probing = true
  let healthzMaxMs = 0
  const probe = (async () => {
    while (probing) {
      const t = performance.now()
      await call("GET", "/healthz", { from: "127.0.9.9" })
      healthzMaxMs = Math.max(healthzMaxMs, performance.now() - t)
      await sleep(100)
    }
  })()
  const t0 = performance.now()
  const outcome = await run()
  const seconds = (performance.now() - t0) / 1000
  probing = false
  await probe
  await scrape()
  const after = { maxMs: windowMaxMs, p99Ms: windowP99Ms }
  const health = await call("GET", "/healthz")
  const figures: Figures = {
    ...outcome,
    maxEventLoopDelayMs: Math.round(after.maxMs * 10) / 10,
    p99EventLoopDelayMs: Math.round(after.p99Ms * 10) / 10,
    healthzMaxMs: Math.round(healthzMaxMs),
    healthy: health.status === 200,
    seconds: Math.round(seconds * 10) / 10
  }
  results[name] = figures
  const { statuses, maxEventLoopDelayMs, p99EventLoopDelayMs, healthy, seconds: s, healthzMaxMs: h, ...rest } = figures
  log(`${name}: ${s} s, event loop max ${maxEventLoopDelayMs} ms (p99 ${p99EventLoopDelayMs}), healthz max ${h} ms, healthy ${healthy}, statuses ${JSON.stringify(statuses)} ${JSON.stringify(rest)}`)
}

const hex64 = (s: string) => createHash("sha256").update(s).digest("hex")

const main = async (): Promise<number> => {
  const dataDir = mkdtempSync(join(tmpdir(), "causeway-attack-"))
  const profileDir = process.env.ATTACK_CPU_PROF
  const server = await startServer(dataDir, {
    timeoutMs: 3600_000,
    ...(profileDir === undefined && process.env.ATTACK_NODE_OPTIONS === undefined ? {} : {
      env: { NODE_OPTIONS: [profileDir === undefined ? "" : `--cpu-prof --cpu-prof-dir=${profileDir} --cpu-prof-interval 200`, process.env.ATTACK_NODE_OPTIONS ?? ""].join(" ") }
    })
  })
  server.child.stdout?.removeAllListeners("data").resume()
  let stderrTail = ""
  server.child.stderr?.removeAllListeners("data").on("data", (d: string) => (stderrTail = (stderrTail + d).slice(-8000)))
  let stopping = false
  void server.exited.then((r) => {
    if (stopping) return
    died = true
    log(`causeway serve exited during the run: code ${r.code}, signal ${r.signal}\n${stderrTail}`)
  })
  port = server.port
  base = server.url.replace(/\/$/, "")
  token = readFileSync(join(dataDir, "api-token"), "utf8").trim()
  log(`bench:attack against ${base} (pid ${server.child.pid})`)

  try {
    // --- set-up, outside the windows -------------------------------------------------------
    let senderIndex = 1_000_000
    const fresh = (): BenchSender => benchSender(senderIndex++)
    const order = (s: BenchSender, n: number, deps: ReadonlyArray<string> = []): SignedEnvelope =>
      signWith(s, { v: 1, flags: 0, type: "UserOrder", nonce: 1, lamport: 1 + deps.length, deps: deps as never, expiry: null, payload: orderPayload(n) })
    const root = order(benchSender(0), 0)
    const seeded = await call("POST", "/v1/messages", { body: JSON.stringify(root.envelope) })
    if (seeded.status !== 201) throw new Error(`seeding the root failed: ${seeded.status} ${seeded.text}`)

    let t = performance.now()
    const sybil = Array.from({ length: SYBIL }, (_, i) => JSON.stringify(order(fresh(), i, [root.id]).envelope))
    const floodAddresses = Array.from({ length: FLOOD_ADDRESSES }, (_, i) => `127.0.2.${i + 1}`)
    const floodBatches: Array<{ from: string; body: string; n: number }> = []
    for (const from of floodAddresses) {
      for (let k = 0; k < FLOOD_PER_ADDRESS; k += 500) {
        const n = Math.min(500, FLOOD_PER_ADDRESS - k)
        floodBatches.push({ from, n, body: JSON.stringify(Array.from({ length: n }, (_, j) => order(fresh(), k + j).envelope)) })
      }
    }
    // 10,000 ordering receipts, valid and signed by one key (the checker's default signer: the first receipt's).
    const signer = benchSender(1)
    const receipts = Array.from({ length: 10_000 }, (_, i) => {
      const body: ReceiptBody = { v: 1, instance: signer.publicHex, scheme: "ed25519", orderId: hex64(`order-${i}`) as never, batch: Math.floor(i / 100), position: i % 100, lamport: 10 + i, offset: 3 * i }
      return { ...body, signature: sign(null, receiptSigningBytes(body), signer.privateKey).toString("hex") }
    })
    // The processing order the receipts fix, with a few swaps so the verdict lists violations.
    const processing = receipts.map((r) => r.orderId)
    for (let i = 0; i < 50; i++) [processing[i * 150], processing[i * 150 + 1]] = [processing[i * 150 + 1] as never, processing[i * 150] as never]
    const verifyBody = JSON.stringify({ processingOrder: processing, receipts })
    const junk: Array<{ from: string; body: string }> = []
    for (let i = 0; i < 2_000; i++) {
      const s = fresh()
      const payload = i % 2 === 0
        ? { orders: [{ orderId: root.id, amountIn: "1", amountOut: "1" }] }
        : { proposalId: hex64(`p${i}`), orderId: root.id, chain: "eip155:1", txHash: hex64(`tx${i}`) }
      const e = signWith(s, { v: 1, flags: 0, type: i % 2 === 0 ? "MatchProposal" : "FillReport", nonce: 1, lamport: 5, deps: [], expiry: null, payload } as never)
      junk.push({ from: `127.0.3.${(i % 4) + 1}`, body: JSON.stringify(e.envelope) })
    }
    log(`set-up: ${SYBIL} sybil messages, ${floodBatches.length} flood batches (${FLOOD_ADDRESSES * FLOOD_PER_ADDRESS} messages), 10,000 receipts (${(verifyBody.length / MiB).toFixed(1)} MiB), 2,000 junk operator messages signed in ${Math.round(performance.now() - t)} ms`)

    // --- 1. anonymous chain, effect and administrative calls --------------------------------
    const key = `0x${"00".repeat(32)}`
    const secured: ReadonlyArray<[string, string, string | undefined]> = [
      ["POST", "/v1/chains/eip155:1/proofs", JSON.stringify({ key: `0x${"11".repeat(20)}` })],
      ["POST", "/v1/chains/eip155:1/watches", JSON.stringify({ key: `0x${"11".repeat(20)}` })],
      ["DELETE", `/v1/chains/eip155:1/watches?key=${key}`, undefined],
      ["POST", "/v1/chains/eip155:1/transactions", JSON.stringify({ raw: "0x00" })],
      ["POST", "/v1/effects/watches", JSON.stringify({ chain: "eip155:1", kind: "evm-log" })],
      ["DELETE", "/v1/effects/watches?id=x", undefined],
      ["POST", "/v1/operators", JSON.stringify({ operator: benchSender(2).publicHex })],
      ["DELETE", `/v1/operators?key=${benchSender(2).publicHex}`, undefined],
      ["POST", "/v1/assets/mappings", JSON.stringify({ mappings: [] })]
    ]
    await scenario("anonymous", async () => {
      const statuses: Statuses = {}
      const byEndpoint: Record<string, Statuses> = {}
      const deadline = performance.now() + 6_000
      const calls = Array.from({ length: 64 }, (_, i) => i)
      while (performance.now() < deadline) {
        await pool(calls, 32, async (_, i) => {
          const [method, path, body] = secured[i % secured.length] as [string, string, string | undefined]
          // Half without a token, half with a wrong one.
          const headers: Record<string, string> = i % 2 === 0 ? {} : { authorization: `Bearer ${"x".repeat(43)}` }
          const r = await call(method, path, { body, headers })
          count(statuses, r.status)
          count((byEndpoint[`${method} ${path.split("?")[0]}`] ??= {}), r.status)
        })
      }
      return { statuses, byEndpoint }
    })

    // --- 2. verify-ordering: one 10,000-receipt check, then 10 at once ----------------------
    await scenario("verifyOrdering10k", async () => {
      const statuses: Statuses = {}
      const t1 = performance.now()
      const one = await call("POST", "/v1/mempool/verify-ordering", { body: verifyBody })
      const firstMs = performance.now() - t1
      count(statuses, one.status)
      const verdict = one.status === 200 ? JSON.parse(one.text) : undefined
      // Ten at once: the checker runs one and queues four; the rest are refused at once. The
      // scenario waits at most 20 s for the queued ones, then drops them (counted "abandoned").
      const concurrent: Statuses = {}
      let dropped = false
      const inFlight = Array.from({ length: 10 }, () => call("POST", "/v1/mempool/verify-ordering", { body: verifyBody, from: "127.0.8.1" }).then((r) => {
        if (dropped) return
        count(statuses, r.status)
        count(concurrent, r.status === 503 ? `503 ${JSON.parse(r.text)._tag}` : r.status)
      }))
      const settled = await Promise.race([Promise.all(inFlight).then(() => true), sleep(20_000).then(() => false)])
      if (!settled) {
        dropped = true
        const answered = Object.values(concurrent).reduce((a, b) => a + b, 0)
        count(concurrent, "abandoned", 10 - answered)
        agents.get("127.0.8.1")?.destroy()
        agents.delete("127.0.8.1")
      }
      const tooMany = await call("POST", "/v1/mempool/verify-ordering", { body: JSON.stringify({ processingOrder: [], receipts: [...receipts, receipts[0]] }) })
      count(statuses, tooMany.status)
      return { statuses, firstVerdictFair: verdict?.fair ?? verdict?._tag ?? one.status, firstCheckMs: Math.round(firstMs), concurrent, over10kReceipts: tooMany.status }
    })
    // Outside the windows: wait for the checker to be idle (a 1-receipt check answered 200).
    for (let i = 0; i < 120; i++) {
      const r = await call("POST", "/v1/mempool/verify-ordering", { body: JSON.stringify({ processingOrder: [receipts[0]?.orderId], receipts: [receipts[0]] }) })
      if (r.status === 200) break
      await sleep(1_000)
    }

    // --- 3. oversized bodies on every POST --------------------------------------------------
    const posts = ["/v1/messages", "/v1/mempool/verify-ordering", "/v1/chains/eip155:1/proofs", "/v1/chains/eip155:1/watches", "/v1/chains/eip155:1/transactions", "/v1/effects/watches", "/v1/operators", "/v1/operators/mev-distribution", "/v1/assets/mappings"]
    const big = Buffer.from(`{"x":"${"y".repeat(9 * MiB)}"}`)
    const twoMiB = Buffer.from(`{"x":"${"y".repeat(2 * MiB)}"}`)
    await scenario("oversizedBodies", async () => {
      const statuses: Statuses = {}
      const byEndpoint: Record<string, Statuses> = {}
      const cases = posts.flatMap((path) => [big, twoMiB].flatMap((body) => [false, true].flatMap((chunked) => Array.from({ length: 3 }, () => ({ path, body, chunked })))))
      await pool(cases, 8, async (c) => {
        const r = await call("POST", c.path, { body: c.body, chunked: c.chunked, auth: true, fresh: true })
        count(statuses, r.status === 0 ? `reset (${r.text})` : r.status)
        count((byEndpoint[`${c.path} ${c.body === big ? "9MiB" : "2MiB"}${c.chunked ? " chunked" : ""}`] ??= {}), r.status === 0 ? `reset (${r.text})` : r.status)
      })
      return { statuses, byEndpoint }
    })

    // --- 4. Sybil: fresh keys from one address ---------------------------------------------
    await scenario("sybilOneAddress", async () => {
      const statuses: Statuses = {}
      await pool(sybil, 32, async (body) => {
        const r = await call("POST", "/v1/messages", { body, from: "127.0.1.1" })
        count(statuses, r.status)
      })
      return { statuses, messages: SYBIL }
    })

    // --- 5. ingest flood: fresh keys from many addresses, in batches -----------------------
    await scenario("ingestFlood", async () => {
      const statuses: Statuses = {}
      const elements: Statuses = {}
      await pool(floodBatches, 128, async (b) => {
        const r = await call("POST", "/v1/messages", { body: b.body, from: b.from })
        count(statuses, r.status)
        if (r.status === 200) {
          for (const item of JSON.parse(r.text).results as Array<{ ok: boolean; status?: number; error?: { _tag: string } }>) {
            count(elements, item.ok ? 201 : `${item.status} ${item.error?._tag}`)
          }
        } else count(elements, `${r.status} (whole batch) ${r.status >= 400 ? JSON.parse(r.text)._tag : ""}`, b.n)
      })
      return { statuses, messages: elements, addresses: FLOOD_ADDRESSES }
    })

    // --- 6. event streams ------------------------------------------------------------------
    await scenario("streams", async () => {
      const statuses: Statuses = {}
      const open: Array<IncomingMessage> = []
      const requests: Array<ReturnType<typeof httpRequest>> = []
      const openOne = (from: string) =>
        new Promise<void>((resolve) => {
          const req = httpRequest({ host: "127.0.0.1", port, path: "/v1/stream", headers: { accept: "text/event-stream" }, agent: false, localAddress: from }, (res) => {
            count(statuses, res.statusCode ?? 0)
            if (res.statusCode === 200) {
              open.push(res)
              res.resume()
            } else res.resume()
            resolve()
          })
          req.on("error", () => {
            count(statuses, 0)
            resolve()
          })
          requests.push(req)
          req.end()
        })
      // From one address: 64 (32 over its cap); then from ~STREAMS/32 more addresses, 32 each.
      const from: Array<string> = Array.from({ length: 64 }, () => "127.0.4.1")
      for (let a = 0; from.length < STREAMS + 64 + 32; a++) for (let k = 0; k < 32; k++) from.push(`127.0.5.${a + 1}`)
      await pool(from, 64, (f) => openOne(f))
      const opened = open.length
      const gauge = (await scrape()).sseClients
      // Ingest goes on with them all open: 200 messages each delivered to every stream.
      const ingest: Statuses = {}
      await pool(Array.from({ length: 200 }, (_, i) => i), 8, async (i) => {
        const r = await call("POST", "/v1/messages", { body: JSON.stringify(order(fresh(), i).envelope), from: "127.0.6.1" })
        count(ingest, r.status)
      })
      await sleep(1_000)
      for (const r of requests) r.destroy()
      await sleep(500)
      return { statuses, attempts: from.length, opened, sseClientsGauge: gauge, ingestWhileOpen: ingest }
    })

    // --- 7. junk MatchProposals and FillReports from unregistered keys ---------------------
    await scenario("junkOperatorMessages", async () => {
      const statuses: Statuses = {}
      const tags: Statuses = {}
      await sleep(300)
      const before = (await scrape()).logEnd
      await pool(junk, 32, async (j) => {
        const r = await call("POST", "/v1/messages", { body: j.body, from: j.from })
        count(statuses, r.status)
        count(tags, r.status === 201 ? "201" : JSON.parse(r.text)._tag)
      })
      await sleep(500)
      const after = (await scrape()).logEnd
      return { statuses, tags, logRecordsAppended: after - before }
    })

    // --- 8. paging: huge limits refused, pages walked --------------------------------------
    await scenario("paging", async () => {
      const statuses: Statuses = {}
      const huge: Statuses = {}
      for (const path of [`/v1/messages/${root.id}/dependents?limit=100000000`, `/v1/messages/${root.id}/dependents?limit=1001`, "/v1/projections/log-index?limit=100000000", "/v1/projections/log-index?limit=1001", "/v1/messages?limit=100000000"]) {
        const r = await call("GET", path)
        count(statuses, r.status)
        count(huge, r.status)
      }
      let dependents = 0
      let dependentPages = 0
      let senders = 0
      let senderPages = 0
      const walk = async (w: number) => {
        let from = 0
        for (;;) {
          const r = await call("GET", `/v1/messages/${root.id}/dependents?from=${from}&limit=1000`, { from: `127.0.7.${w + 1}` })
          count(statuses, r.status)
          if (r.status !== 200) break
          const page = JSON.parse(r.text) as Array<{ offset: number }>
          if (w === 0) dependents += page.length, dependentPages++
          if (page.length < 1000) break
          from = (page.at(-1)?.offset ?? 0) + 1
        }
        let after: string | null = null
        for (;;) {
          const r: Answer = await call("GET", `/v1/projections/log-index?limit=1000${after === null ? "" : `&afterSender=${after}`}`, { from: `127.0.7.${w + 1}` })
          count(statuses, r.status)
          if (r.status !== 200) break
          const state = JSON.parse(r.text).state as { bySender: Record<string, unknown>; nextSender: string | null }
          if (w === 0) senders += Object.keys(state.bySender).length, senderPages++
          after = state.nextSender
          if (after === null) break
        }
      }
      // Eight clients walk both lists to the end at once.
      await Promise.all(Array.from({ length: 8 }, (_, w) => walk(w)))
      return { statuses, hugeLimits: huge, dependents, dependentPages, senders, senderPages }
    })
  } finally {
    stopping = true
    await server.stop("SIGTERM")
    for (const a of agents.values()) a.destroy()
    rmSync(dataDir, { recursive: true, force: true })
  }

  // --- report ----------------------------------------------------------------------------
  const rows = Object.entries(results).map(([name, f]) => [
    name,
    `${f.maxEventLoopDelayMs}`,
    `${f.p99EventLoopDelayMs}`,
    `${f.healthzMaxMs}`,
    f.healthy ? "yes" : "NO",
    `${f.seconds}`,
    Object.entries(f.statuses).sort().map(([s, n]) => `${s}: ${n}`).join(", ")
  ])
  const head = ["scenario", "loop max ms", "loop p99 ms", "healthz max ms", "healthy", "s", "statuses"]
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  for (const r of [head, ...rows]) console.log(r.map((c, i) => i === r.length - 1 ? c : c.padEnd(widths[i] as number)).join("  "))
  const allUnder100ms = Object.values(results).every((f) => f.maxEventLoopDelayMs < LIMIT_MS)
  const healthy = Object.values(results).every((f) => f.healthy)
  console.log(JSON.stringify({ ...results, serverDied: died, allUnder100ms }))
  return allUnder100ms && healthy && !died ? 0 : 1
}

main().then((code) => process.exit(code), (e) => {
  log(String(e?.stack ?? e))
  process.exit(1)
})
