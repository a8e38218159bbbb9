/**
 * `npm run soak`: a long mixed flood against a real `causeway serve` child, sampling the server's
 * resident memory (VmRSS from /proc/<pid>/status) every `--sample-seconds` (default 30) for
 * `--minutes` (default 10). The check (issue #14): after the second minute every sample stays
 * within 20% of the 2-minute sample.
 *
 * The flood, from 64 loopback client addresses (127.0.0.2 to 127.0.0.65: each request's socket is
 * bound to one, so the server sees distinct IPv4 addresses and each has its own budget):
 * - signed messages from fresh keys (a new Ed25519 key per message): user orders, some with an
 *   expiry, and network-health messages, in batches of 16;
 * - junk MatchProposal and FillReport messages from fresh, unregistered keys (refused, 403);
 * - event streams opened and closed (the log stream and order streams, held 0.5 to 3 s);
 * - effect watches and chain watches added and removed with the admin token (no chain is
 *   configured, so they are answered 404) and reads of the lists.
 *
 * Progress and the series go to stderr; the last line of stdout is one JSON object:
 * {minutes, sampleSeconds, samplesMb, baselineMb, maxDeviation, withinTwentyPercent, requests,
 * statuses, ...}. Exits 1 when a sample after minute 2 is more than 20% from the baseline (or the
 * server exits).
 *
 * SOAK_NODE_OPTIONS: the server's NODE_OPTIONS, e.g. `--heapsnapshot-signal=SIGUSR2
 * --diagnostic-dir=DIR` to take heap snapshots of it (`kill -USR2 <pid>`) while it runs.
 */
import { readFileSync } from "node:fs"
import { Agent, request } from "node:http"
import { join } from "node:path"
import { parseArgs } from "node:util"
import { generateKey, signEnvelope } from "../src/domain/Keys.ts"
import type { MessageId } from "../src/domain/Primitives.ts"
import { idOf, type Envelope } from "../src/domain/Envelope.ts"
import { startWatchedServer } from "./support/WatchedServer.ts"

const { values } = parseArgs({
  options: {
    minutes: { type: "string" },
    "sample-seconds": { type: "string" },
    addresses: { type: "string" },
    concurrency: { type: "string" }
  }
})
const MINUTES = Number(values.minutes ?? 10)
const SAMPLE_SECONDS = Number(values["sample-seconds"] ?? 30)
const ADDRESSES = Number(values.addresses ?? 64)
const CONCURRENCY = Number(values.concurrency ?? 8)
const BATCH = 16
const BASELINE_SECONDS = 120

const log = (line: string) => process.stderr.write(`${line}\n`)

// One keep-alive agent per client address.
const agents = Array.from({ length: ADDRESSES }, (_, i) => {
  const localAddress = `127.0.0.${2 + i}`
  return new Agent({ keepAlive: true, maxSockets: 16, localAddress })
})

const statuses: Record<string, number> = {}
let requests = 0
let transportErrors = 0
let streamsOpened = 0
const count = (status: number | string) => {
  requests++
  statuses[String(status)] = (statuses[String(status)] ?? 0) + 1
}

interface Answer {
  readonly status: number
  readonly body: string
}

let port = 0

const call = (method: string, path: string, body: string | undefined, agent: Agent, headers: Record<string, string> = {}): Promise<Answer> =>
  new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, method, path, agent, headers: body === undefined ? headers : { "content-type": "application/json", ...headers } },
      (res) => {
        let text = ""
        res.setEncoding("utf8")
        res.on("data", (d: string) => (text += d))
        res.on("end", () => {
          count(res.statusCode ?? 0)
          resolve({ status: res.statusCode ?? 0, body: text })
        })
        res.on("error", () => {
          transportErrors++
          resolve({ status: 0, body: "" })
        })
      }
    )
    req.on("error", () => {
      transportErrors++
      count("error")
      resolve({ status: 0, body: "" })
    })
    req.end(body)
  })

/** Open an event stream, read it for `holdMs`, then abort it (churn). */
const stream = (path: string, agent: Agent, holdMs: number): Promise<void> =>
  new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, method: "GET", path, agent, headers: { accept: "text/event-stream" } }, (res) => {
      count(res.statusCode ?? 0)
      if (res.statusCode === 200) streamsOpened++
      res.on("data", () => {})
      res.on("error", () => {})
      res.on("close", () => resolve())
      setTimeout(() => req.destroy(), holdMs)
    })
    req.on("error", () => resolve())
    req.end()
  })

const sign = (type: string, payload: unknown, lamport: number, expiry: number | null = null): Envelope =>
  signEnvelope(generateKey("ed25519"), {
    v: 1,
    flags: 0,
    type,
    nonce: 1,
    lamport,
    deps: [] as ReadonlyArray<MessageId>,
    expiry,
    payload
  } as never)

let n = 0
const userOrder = (lamport: number): Envelope => {
  const i = n++
  const payload = {
    chain: "eth",
    market: i % 3 === 0 ? "BTC-USDC" : "ETH-USDC",
    side: i % 2 === 0 ? "buy" : "sell",
    amountIn: `${7_700_000_000 + i}`,
    minAmountOut: `${9_900_000_000 + i}`,
    limitPrice: `${3_300_000 + (i % 1000)}`
  }
  // Half carry an expiry a minute ahead (ms since the epoch), half none.
  return sign("UserOrder", payload, lamport, i % 2 === 0 ? Date.now() + 60_000 : null)
}

const health = (lamport: number): Envelope => sign("NetworkHealth", { component: "soak", status: "ok", latencyMs: n++ % 100 }, lamport)

const recentOrders: Array<string> = []
let lamport = 1

const hex = (bytes: number) => Array.from({ length: bytes * 2 }, () => "0123456789abcdef"[Math.floor(Math.random() * 16)]).join("")

const main = async (): Promise<number> => {
  const watched = await startWatchedServer("causeway-soak-", (MINUTES + 10) * 60_000, log, process.env.SOAK_NODE_OPTIONS)
  const { server, dataDir } = watched
  const crashedNow = watched.crashed
  const pid = server.child.pid!
  const rssMb = (): number => {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN)
    return Math.round((kb / 1024) * 10) / 10
  }
  port = server.port
  const token = readFileSync(join(dataDir, "api-token"), "utf8").trim()
  const admin = { authorization: `Bearer ${token}` }
  const durationMs = MINUTES * 60_000
  const started = performance.now()
  const running = () => !crashedNow() && performance.now() - started < durationMs
  const agentFor = (i: number) => agents[i % agents.length]!
  let accepted = 0
  let refusedAtIngest = 0
  const startMb = rssMb()
  log(`soak: ${MINUTES} min against ${server.url} (pid ${pid}), ${ADDRESSES} client addresses, ${CONCURRENCY} submitters, samples every ${SAMPLE_SECONDS} s; RSS at start ${startMb} MB`)

  // Signed messages from fresh keys, batches of 16, and junk operator messages.
  const submitter = async (w: number) => {
    let k = w
    while (running()) {
      const agent = agentFor(k++)
      const batch = Array.from({ length: BATCH }, (_, j) => (j % 4 === 3 ? health(lamport++) : userOrder(lamport++)))
      const r = await call("POST", "/v1/messages", JSON.stringify(batch), agent)
      if (r.status === 200 || r.status === 201) {
        try {
          const body = JSON.parse(r.body) as { results?: ReadonlyArray<{ ok?: boolean; receipt?: { id: string } }> }
          for (const [j, res] of (body.results ?? []).entries()) {
            if (res.ok === true && res.receipt !== undefined) {
              accepted++
              if (batch[j]!.type === "UserOrder") {
                recentOrders.push(res.receipt.id)
                if (recentOrders.length > 256) recentOrders.shift()
              }
            } else refusedAtIngest++
          }
        } catch {
          // counted by status
        }
      }
      // A junk proposal or fill report from an unregistered key, every batch.
      const target = recentOrders[k % Math.max(1, recentOrders.length)] ?? idOf(batch[0]!)
      const junk =
        k % 2 === 0
          ? sign("MatchProposal", { orders: [{ orderId: target, amountIn: "7700000000", amountOut: "9900000000" }] }, lamport++)
          : sign("FillReport", { proposalId: target, orderId: target, chain: "eth", txHash: hex(32) }, lamport++)
      await call("POST", "/v1/messages", JSON.stringify(junk), agent)
    }
  }

  // Stream churn: open, read for 0.5-3 s, close.
  const churner = async (w: number) => {
    let k = w
    while (running()) {
      const agent = agentFor(k++)
      const order = recentOrders[k % Math.max(1, recentOrders.length)]
      const path = k % 2 === 0 || order === undefined ? "/v1/stream" : `/v1/mempool/orders/${order}/events`
      await stream(path, agent, 500 + ((k * 373) % 2500))
    }
  }

  // Watches added and removed (no chain configured: 404), and reads of the lists.
  const watcher = async (w: number) => {
    let k = w
    while (running()) {
      const agent = agentFor(k++)
      const address = hex(20)
      await call("POST", "/v1/effects/watches", JSON.stringify({ chain: "eth", kind: "evm-log", filter: { address, topics: [hex(32)] } }), agent, admin)
      await call("DELETE", `/v1/effects/watches?id=${hex(32)}`, undefined, agent, admin)
      await call("POST", "/v1/chains/eth/watches", JSON.stringify({ key: `${address}/${hex(32)}` }), agent, admin)
      await call("DELETE", `/v1/chains/eth/watches?key=${address}${hex(32)}`, undefined, agent, admin)
      await call("GET", "/v1/effects/watches", undefined, agent)
      await call("GET", `/v1/mempool/orders?limit=50`, undefined, agent)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  const samples: Array<{ readonly atSeconds: number; readonly mb: number; readonly accepted: number }> = []
  const sampler = (async () => {
    for (let i = 1; i <= Math.floor((MINUTES * 60) / SAMPLE_SECONDS); i++) {
      const due = started + i * SAMPLE_SECONDS * 1000
      while (performance.now() < due && !crashedNow()) await new Promise((r) => setTimeout(r, Math.min(1000, due - performance.now())))
      if (crashedNow()) return
      const mb = rssMb()
      samples.push({ atSeconds: i * SAMPLE_SECONDS, mb, accepted })
      const seconds = (performance.now() - started) / 1000
      log(`${i * SAMPLE_SECONDS} s: RSS ${mb} MB; ${requests} requests (${Math.round(requests / seconds)}/s), ${accepted} messages accepted, statuses ${JSON.stringify(statuses)}`)
    }
  })()

  await Promise.all([
    ...Array.from({ length: CONCURRENCY }, (_, w) => submitter(w)),
    ...Array.from({ length: 24 }, (_, w) => churner(w)),
    ...Array.from({ length: 2 }, (_, w) => watcher(w)),
    sampler
  ])

  const healthz = await call("GET", "/healthz", undefined, agentFor(0)).then((r) => r.status)
  await watched.stop()
  for (const a of agents) a.destroy()

  const baseline = samples.find((s) => s.atSeconds >= BASELINE_SECONDS) ?? samples[samples.length - 1]
  const after = samples.filter((s) => baseline !== undefined && s.atSeconds > baseline.atSeconds)
  const maxDeviation = baseline === undefined ? NaN : Math.max(0, ...after.map((s) => Math.abs(s.mb / baseline.mb - 1)))
  const within = !crashedNow() && baseline !== undefined && maxDeviation <= 0.2
  log(`series (MB, every ${SAMPLE_SECONDS} s): ${samples.map((s) => s.mb).join(", ")}`)
  console.log(
    JSON.stringify({
      minutes: MINUTES,
      sampleSeconds: SAMPLE_SECONDS,
      samplesMb: samples.map((s) => s.mb),
      baselineMb: baseline?.mb ?? null,
      startMb,
      acceptedBySample: samples.map((s) => s.accepted),
      maxDeviation: Math.round(maxDeviation * 1000) / 1000,
      withinTwentyPercent: within,
      requests,
      statuses,
      messagesAccepted: accepted,
      messagesRefused: refusedAtIngest,
      streamsOpened,
      transportErrors,
      clientAddresses: ADDRESSES,
      crashed: crashedNow(),
      healthzAtEnd: healthz
    })
  )
  return within ? 0 : 1
}

process.exitCode = await main()
