/**
 * The chains: each observed chain's verified head with its safe and finalized marks drawn on
 * a height track, how far it trails the head the chain's RPC claims (the RPC's word, drawn
 * dashed: unverified), its reorgs on a timeline (fork height, depth), and its watched keys
 * with their last proven values. Everything from GET /v1/chains, /v1/chains/{chain} and
 * /v1/chains/{chain}/watches, refreshed when the log moves.
 */
import { useCallback, useState } from "preact/hooks"
import { getJson, reasonOf } from "./api.ts"
import { useRefresh } from "./feed.ts"

interface Point {
  readonly height: number
  readonly hash: string
}

interface Reorg {
  readonly forkHeight: number
  readonly oldHead: Point
  readonly newHead: Point
  readonly depth: number
  readonly finalityViolated: boolean
  readonly messageId: string
}

interface Proven {
  readonly key: string
  readonly height: number
  readonly value: string
  readonly messageId: string
}

interface Chain {
  readonly chain: string
  readonly kind: string
  readonly latest: Point | null
  readonly latestHeader: { readonly height: number; readonly time: number } | null
  readonly safe: Point | null
  readonly finalized: Point | null
  readonly headers: { readonly from: number; readonly to: number; readonly count: number } | null
  readonly reorgCount: number
  readonly reorgs: ReadonlyArray<Reorg>
  readonly proven: ReadonlyArray<Proven>
  /** What the chain's RPC last claimed as its head: unverified, this instance's observer state. */
  readonly rpcHead?: { readonly height: number; readonly at: number } | null
}

interface Watch {
  readonly key: string
  readonly messageId: string | null
}

/** How many blocks the verified head trails the RPC's claimed head (never below 0), or undefined without a claim. */
const lagOf = (c: Chain): number | undefined =>
  c.rpcHead == null ? undefined : Math.max(0, c.rpcHead.height - (c.latest?.height ?? 0))

const HeightTrack = (props: { readonly chain: Chain }) => {
  const c = props.chain
  const claimed = c.rpcHead?.height
  const top = Math.max(c.latest?.height ?? 0, claimed ?? 0)
  const bottom = Math.min(c.headers?.from ?? top, c.finalized?.height ?? top, top)
  const span = Math.max(1, top - bottom)
  const w = 600
  const x = (h: number) => 20 + ((h - bottom) / span) * (w - 40)
  const marks: Array<[string, Point | null]> = [["finalized", c.finalized], ["safe", c.safe], ["latest", c.latest]]
  return (
    <svg class="track" viewBox={`0 0 ${w} ${claimed === undefined ? 70 : 84}`} role="img" aria-label={`heights: ${marks.map(([n, p]) => `${n} ${p?.height ?? "none"}`).join(", ")}${claimed === undefined ? "" : `, RPC claims ${claimed} (unverified)`}`}>
      <line class="axis" x1="20" y1="30" x2={w - 20} y2="30" />
      {c.finalized === null ? null : <rect class="final-span" x="20" y="24" width={Math.max(0, x(c.finalized.height) - 20)} height="12" rx="3" />}
      {claimed === undefined || c.latest === null || claimed <= c.latest.height ? null : (
        <rect class="lag-span" data-testid="lag-span" x={x(c.latest.height)} y="26" width={Math.max(2, x(claimed) - x(c.latest.height))} height="8" rx="2" />
      )}
      {claimed === undefined ? null : (
        <g class="mark rpc">
          <line x1={x(claimed)} y1="18" x2={x(claimed)} y2="42" />
          <text x={x(claimed)} y="80" text-anchor="middle">{`RPC claims ${claimed}`}</text>
        </g>
      )}
      {marks.map(([name, p], i) =>
        p === null ? null : (
          <g key={name} class={`mark ${name}`}>
            <line x1={x(p.height)} y1="14" x2={x(p.height)} y2="46" />
            <text x={x(p.height)} y={i === 1 ? 62 : 10 + (i === 2 ? 0 : 52)} text-anchor="middle">{`${name} ${p.height}`}</text>
          </g>
        )
      )}
    </svg>
  )
}

const ReorgTimeline = (props: { readonly chain: Chain }) => {
  const reorgs = props.chain.reorgs
  if (reorgs.length === 0) return <p class="muted" data-testid="no-reorgs">No reorg seen.</p>
  const w = 600
  const h = 90
  const lo = Math.min(...reorgs.map((r) => r.forkHeight))
  const hi = Math.max(...reorgs.map((r) => r.oldHead.height), lo + 1)
  const x = (height: number) => 20 + ((height - lo) / Math.max(1, hi - lo)) * (w - 40)
  const maxDepth = Math.max(1, ...reorgs.map((r) => r.depth))
  return (
    <svg class="reorgs" viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${reorgs.length} reorgs: ${reorgs.map((r) => `at height ${r.forkHeight} depth ${r.depth}`).join("; ")}`}>
      <line class="axis" x1="10" y1={h - 20} x2={w - 10} y2={h - 20} />
      {reorgs.map((r) => {
        const bh = (r.depth / maxDepth) * (h - 36)
        return (
          <g key={r.messageId} class={`reorg${r.finalityViolated ? " violated" : ""}`} data-testid="reorg" data-fork={r.forkHeight} data-depth={r.depth}>
            <title>{`fork at ${r.forkHeight}: ${r.depth} header(s) dropped, old head ${r.oldHead.height}, new head ${r.newHead.height}${r.finalityViolated ? ", finality violated" : ""}`}</title>
            <rect x={x(r.forkHeight) - 5} y={h - 20 - bh} width="10" height={bh} rx="2" />
            <text x={x(r.forkHeight)} y={h - 4} text-anchor="middle">{`${r.forkHeight} (−${r.depth})`}</text>
          </g>
        )
      })}
    </svg>
  )
}

const ChainCard = (props: { readonly name: string; readonly now: number }) => {
  const [chain, setChain] = useState<Chain | string | undefined>(undefined)
  const [watches, setWatches] = useState<ReadonlyArray<Watch>>([])
  const refresh = useCallback(() => {
    void getJson<Chain>(`/v1/chains/${encodeURIComponent(props.name)}`).then((a) => setChain(a.ok ? a.body : reasonOf(a)))
    void getJson<{ watches: ReadonlyArray<Watch> }>(`/v1/chains/${encodeURIComponent(props.name)}/watches`).then((a) => {
      if (a.ok) setWatches(a.body.watches)
    })
  }, [props.name])
  useRefresh(refresh, undefined, 2000)
  if (chain === undefined) return <article class="card"><h3>{props.name}</h3><p class="muted">Reading…</p></article>
  if (typeof chain === "string") return <article class="card"><h3>{props.name}</h3><p class="error">{chain}</p></article>
  const age = chain.latestHeader === null ? null : Math.max(0, props.now - chain.latestHeader.time)
  const lag = lagOf(chain)
  return (
    <article
      class="card wide"
      data-testid={`chain-${chain.chain}`}
      data-latest={chain.latest?.height ?? ""}
      data-reorgs={chain.reorgCount}
      data-rpc-head={chain.rpcHead?.height ?? ""}
      data-lag={lag ?? ""}
    >
      <h3>
        {chain.chain} <span class="muted">({chain.kind})</span>
      </h3>
      <p>
        Verified head <strong>{chain.latest?.height ?? "none"}</strong>
        {age === null ? "" : `, its block ${(age / 1000).toFixed(0)} s old`}; {chain.reorgCount} {chain.reorgCount === 1 ? "reorg" : "reorgs"} seen
      </p>
      <p data-testid="lag">
        {chain.rpcHead == null || lag === undefined
          ? <span class="muted">The chain's RPC head is not known here (this instance has not asked its RPC: another member may observe the chain).</span>
          : (
            <>
              Lag behind the RPC's head: <strong class={lag > 0 ? "error" : undefined}>{lag} {lag === 1 ? "block" : "blocks"}</strong>{" "}
              <span class="muted">
                (the RPC claimed {chain.rpcHead.height} {Math.max(0, (props.now - chain.rpcHead.at) / 1000).toFixed(0)} s ago; its word, not verified)
              </span>
            </>
          )}
      </p>
      <HeightTrack chain={chain} />
      <h4>Reorgs</h4>
      <ReorgTimeline chain={chain} />
      <h4>Watches and their last proven values</h4>
      {watches.length === 0 && chain.proven.length === 0 ? <p class="muted">No key watched or proven.</p> : (
        <ul class="proven">
          {watches.map((w) => {
            const p = chain.proven.find((v) => v.key === w.key)
            return (
              <li key={w.key}>
                <code title={w.key}>{w.key.slice(0, 24)}…</code>{" "}
                {p === undefined ? <span class="muted">not proven yet</span> : <span>= <code>{p.value === "" ? "(absent)" : `${p.value.slice(0, 18)}${p.value.length > 18 ? "…" : ""}`}</code> at {p.height}</span>}
              </li>
            )
          })}
        </ul>
      )}
    </article>
  )
}

/** The chains view. */
export const ChainsView = (props: { readonly now: number; readonly chain: string; readonly onChain: (chain: string) => void }) => {
  const [names, setNames] = useState<ReadonlyArray<string> | string | undefined>(undefined)
  const refresh = useCallback(() => {
    void getJson<ReadonlyArray<{ chain: string }>>("/v1/chains").then((a) => setNames(a.ok ? a.body.map((c) => c.chain) : reasonOf(a)))
  }, [])
  useRefresh(refresh, undefined, 5000)
  return (
    <section aria-labelledby="chains-title">
      <h2 id="chains-title">Chains</h2>
      {names === undefined ? <p class="muted">Reading…</p> : typeof names === "string" ? <p class="error">{names}</p> : names.length === 0
        ? <p class="muted">This deployment observes no chain (serve --evm-rpc or --cosmos-rpc).</p>
        : <div class="grid">{names.map((n) => <ChainCard key={n} name={n} now={props.now} />)}</div>}
    </section>
  )
}
