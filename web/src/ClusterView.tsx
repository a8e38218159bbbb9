/**
 * The cluster: its members around the leader and term (GET /v1/cluster), who observes which
 * chain, and small live charts of the last 10 minutes as the server sampled them (GET
 * /v1/metrics/recent, then /v1/metrics/events): messages accepted per second, rejections per
 * second by reason, the event loop's delay and how far the slowest projection trails the log.
 * The whole window shows as soon as the view opens; /metrics is not read (its scrapes reset
 * the event-loop window a Prometheus relies on).
 */
import { useCallback, useEffect, useState } from "preact/hooks"
import { follow, getJson, reasonOf } from "./api.ts"
import { type Sample, Sparkline } from "./Charts.tsx"
import { useRefresh } from "./feed.ts"

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

/** A sample of GET /v1/metrics/recent and /v1/metrics/events (MetricsSample). */
interface MetricsSample {
  readonly at: number
  readonly intervalMs: number
  readonly acceptedPerSecond: number
  readonly rejectedPerSecond: ReadonlyArray<{ readonly reason: string; readonly perSecond: number }>
  readonly eventLoopDelayP99Ms: number
  readonly eventLoopDelayMaxMs: number
  readonly logEnd: number | null
  readonly projectionLag: number | null
}

/**
 * The server's samples of the last 10 minutes: those it holds (GET /v1/metrics/recent), then
 * each new one as it is taken (GET /v1/metrics/events), oldest dropped past the window.
 */
const useRecentMetrics = (): { readonly samples: ReadonlyArray<MetricsSample>; readonly error: string | undefined } => {
  const [samples, setSamples] = useState<ReadonlyArray<MetricsSample>>([])
  const [error, setError] = useState<string | undefined>(undefined)
  useEffect(() => {
    const abort = new AbortController()
    const add = (fresh: ReadonlyArray<MetricsSample>) =>
      setSamples((held) => {
        const byAt = new Map([...held, ...fresh].map((s) => [s.at, s]))
        const last = Math.max(...byAt.keys())
        return [...byAt.values()].filter((s) => s.at > last - WINDOW_MS).sort((a, b) => a.at - b.at)
      })
    void getJson<{ samples: ReadonlyArray<MetricsSample> }>("/v1/metrics/recent", abort.signal).then((a) => {
      if (abort.signal.aborted) return
      if (!a.ok) return setError(reasonOf(a))
      setError(undefined)
      add(a.body.samples)
    })
    follow("/v1/metrics/events", (e) => {
      if (e.event !== "sample") return
      try {
        add([JSON.parse(e.data) as MetricsSample])
      } catch {
        // not a sample the server sends; ignore it
      }
    }, abort.signal)
    return () => abort.abort()
  }, [])
  return { samples, error }
}

/** The cluster view. */
export const ClusterView = (props: { readonly now: number }) => {
  const [cluster, setCluster] = useState<Cluster | string | undefined>(undefined)
  const refreshCluster = useCallback(() => {
    void getJson<Cluster>("/v1/cluster").then((a) => setCluster(a.ok ? a.body : reasonOf(a)))
  }, [])
  useRefresh(refreshCluster, CLUSTER_TYPES, 5000)
  const metrics = useRecentMetrics()
  const series = (pick: (s: MetricsSample) => number | null): ReadonlyArray<Sample> =>
    metrics.samples.flatMap((s) => {
      const v = pick(s)
      return v === null ? [] : [[s.at, v] as const]
    })
  const reasons = [...new Set(metrics.samples.flatMap((s) => s.rejectedPerSecond.map((r) => r.reason)))].sort()
  // The charts end at the latest sample (the server's clock), or now before the first.
  const end = metrics.samples.at(-1)?.at ?? props.now

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
        <article class="card" data-testid="charts" data-samples={metrics.samples.length}>
          <h3>Last 10 minutes</h3>
          <p class="muted small">Sampled by the server every few seconds (GET /v1/metrics/recent, then live).</p>
          {metrics.error === undefined ? null : <p class="error">/v1/metrics/recent: {metrics.error}</p>}
          <Sparkline label="accepted" unit="msg/s" samples={series((s) => s.acceptedPerSecond)} windowMs={WINDOW_MS} now={end} digits={1} />
          {reasons.length === 0
            ? <p class="muted">No rejection so far.</p>
            : reasons.map((reason) => (
              <Sparkline
                key={reason}
                label={`rejected: ${reason}`}
                unit="msg/s"
                samples={series((s) => s.rejectedPerSecond.find((r) => r.reason === reason)?.perSecond ?? 0)}
                windowMs={WINDOW_MS}
                now={end}
                digits={1}
              />
            ))}
          <Sparkline label="event-loop delay p99" unit="ms" samples={series((s) => s.eventLoopDelayP99Ms)} windowMs={WINDOW_MS} now={end} digits={1} />
          <Sparkline label="projection lag" unit="records" samples={series((s) => s.projectionLag)} windowMs={WINDOW_MS} now={end} />
        </article>
      </div>
    </section>
  )
}

const CLUSTER_TYPES: ReadonlySet<string> = new Set(["ClusterMembersSet", "LeaderClaimed", "ChainOwnersAssigned"])
