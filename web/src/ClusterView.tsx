/**
 * The cluster: its members around the leader and term (GET /v1/cluster), who observes which
 * chain, and small live charts of the last 10 minutes from /metrics (read every 5 s while
 * this view is open): messages accepted per second, rejections per second by reason, the
 * event loop's delay and how far the slowest projection trails the log. The charts start
 * when the view opens: nothing is kept between visits.
 */
import { useCallback, useState } from "preact/hooks"
import { getJson, getText, reasonOf } from "./api.ts"
import { type Sample, Sparkline } from "./Charts.tsx"
import { useRefresh } from "./feed.ts"
import { parseMetrics, sum, type MetricLine } from "./prometheus.ts"

interface Cluster {
  readonly instance: string
  readonly mode: "single" | "cluster"
  readonly members: ReadonlyArray<string>
  readonly leader: string | null
  readonly term: number
  readonly history: ReadonlyArray<{ readonly term: number; readonly leader: string | null; readonly from: number }>
  readonly owners: ReadonlyArray<{ readonly chain: string; readonly owner: string }>
}

const WINDOW_MS = 10 * 60_000
const SCRAPE_MS = 5000

const short = (key: string) => `${key.slice(0, 8)}…`

const Members = (props: { readonly cluster: Cluster }) => {
  const c = props.cluster
  const members = c.members.length === 0 ? [c.instance] : c.members
  const r = 70
  const cx = 110
  const cy = 100
  return (
    <svg class="members" viewBox="0 0 220 200" role="img" aria-label={`${members.length} members; leader ${c.leader === null ? "none" : short(c.leader)}; term ${c.term}`}>
      <text class="term" x={cx} y={cy + 5} text-anchor="middle">{`term ${c.term}`}</text>
      {members.map((m, i) => {
        const a = (2 * Math.PI * i) / members.length - Math.PI / 2
        const x = cx + r * Math.cos(a)
        const y = cy + r * Math.sin(a)
        return (
          <g key={m} class={`member${m === c.leader ? " leader" : ""}${m === c.instance ? " self" : ""}`} data-testid="member">
            <title>{`${m}${m === c.leader ? " (leader)" : ""}${m === c.instance ? " (this instance)" : ""}`}</title>
            <circle cx={x} cy={y} r="16" />
            <text x={x} y={y + 30} text-anchor="middle">{m.slice(0, 6)}</text>
          </g>
        )
      })}
    </svg>
  )
}

interface Series {
  readonly accepted: Array<Sample>
  readonly rejected: Map<string, Array<Sample>>
  readonly loopP99: Array<Sample>
  readonly lag: Array<Sample>
}

const trim = (xs: Array<Sample>, now: number) => {
  while (xs.length > 0 && (xs[0]?.[0] ?? now) < now - WINDOW_MS) xs.shift()
}

/** The cluster view. */
export const ClusterView = (props: { readonly now: number }) => {
  const [cluster, setCluster] = useState<Cluster | string | undefined>(undefined)
  const [series] = useState<Series>(() => ({ accepted: [], rejected: new Map(), loopP99: [], lag: [] }))
  const [previous, setPrevious] = useState<{ at: number; lines: ReadonlyArray<MetricLine> } | undefined>(undefined)
  const [metricsError, setMetricsError] = useState<string | undefined>(undefined)

  const refreshCluster = useCallback(() => {
    void getJson<Cluster>("/v1/cluster").then((a) => setCluster(a.ok ? a.body : reasonOf(a)))
  }, [])
  useRefresh(refreshCluster, CLUSTER_TYPES, 5000)

  const scrape = useCallback(() => {
    void getText("/metrics").then((a) => {
      if (!a.ok) return setMetricsError(a.status === 0 ? a.body : `HTTP ${a.status}`)
      setMetricsError(undefined)
      const at = Date.now()
      const lines = parseMetrics(a.body)
      setPrevious((prev) => {
        if (prev !== undefined) {
          const dt = (at - prev.at) / 1000
          const rate = (name: string, labels: Record<string, string> = {}) => Math.max(0, (sum(lines, name, labels) - sum(prev.lines, name, labels)) / dt)
          series.accepted.push([at, rate("causeway_ingest_accepted_total")])
          const reasons = new Set(lines.filter((l) => l.name === "causeway_ingest_rejected_total").map((l) => l.labels["reason"] ?? ""))
          for (const reason of reasons) {
            const xs = series.rejected.get(reason) ?? []
            xs.push([at, rate("causeway_ingest_rejected_total", { reason })])
            series.rejected.set(reason, xs)
          }
        }
        return { at, lines }
      })
      series.loopP99.push([at, sum(lines, "causeway_event_loop_delay_p99_seconds") * 1000])
      const end = sum(lines, "causeway_log_end_offset")
      const offsets = lines.filter((l) => l.name === "causeway_projection_offset").map((l) => l.value)
      series.lag.push([at, offsets.length === 0 ? 0 : Math.max(0, end - Math.min(...offsets))])
      for (const xs of [series.accepted, series.loopP99, series.lag, ...series.rejected.values()]) trim(xs, at)
    })
  }, [series])
  useRefresh(scrape, NO_TYPES, SCRAPE_MS)

  const c = typeof cluster === "object" ? cluster : undefined
  return (
    <section aria-labelledby="cluster-title">
      <h2 id="cluster-title">Cluster</h2>
      <div class="grid">
        <article class="card" data-testid="cluster">
          <h3>Members</h3>
          {cluster === undefined ? <p class="muted">Reading…</p> : typeof cluster === "string" ? <p class="error">{cluster}</p> : null}
          {c === undefined ? null : (
            <>
              <p>
                {c.mode === "single" ? "A deployment of one: this instance decides alone." : `${c.members.length} members; leader ${c.leader === null ? "none" : short(c.leader)} in term ${c.term}.`}
              </p>
              <Members cluster={c} />
              <h4>Who observes which chain</h4>
              {c.owners.length === 0 ? <p class="muted">No chain assigned.</p> : (
                <ul>
                  {c.owners.map((o) => <li key={o.chain}>{o.chain}: <code title={o.owner}>{short(o.owner)}</code></li>)}
                </ul>
              )}
            </>
          )}
        </article>
        <article class="card" data-testid="charts">
          <h3>Last 10 minutes</h3>
          {metricsError === undefined ? null : <p class="error">/metrics: {metricsError}</p>}
          <Sparkline label="accepted" unit="msg/s" samples={series.accepted} windowMs={WINDOW_MS} now={props.now} digits={1} />
          {series.rejected.size === 0
            ? <p class="muted">No rejection so far.</p>
            : [...series.rejected.entries()].map(([reason, xs]) => <Sparkline key={reason} label={`rejected: ${reason}`} unit="msg/s" samples={xs} windowMs={WINDOW_MS} now={props.now} digits={1} />)}
          <Sparkline label="event-loop delay p99" unit="ms" samples={series.loopP99} windowMs={WINDOW_MS} now={props.now} digits={1} />
          <Sparkline label="projection lag" unit="records" samples={series.lag} windowMs={WINDOW_MS} now={props.now} />
        </article>
      </div>
    </section>
  )
}

const CLUSTER_TYPES: ReadonlySet<string> = new Set(["ClusterMembersSet", "LeaderClaimed", "ChainOwnersAssigned"])
const NO_TYPES: ReadonlySet<string> = new Set()
