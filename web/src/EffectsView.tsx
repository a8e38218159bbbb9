/**
 * The effects: the tracked effects (GET /v1/effects) in three lanes — stuck (a packet the API
 * reports stuck, with for how long), in flight and settled — and one effect's journey as a
 * graph (journey.ts): its legs by chain (the effect, the effects its journey and dependencies
 * name, each read with GET /v1/effects/{id}; an IBC packet's proven legs), the dependencies
 * between them as arrows, and the selected leg's evidence: the message carrying it and the
 * header it was checked against.
 */
import { useCallback, useState } from "preact/hooks"
import { getJson, reasonOf } from "./api.ts"
import { useRefresh } from "./feed.ts"
import { type AnyEffect, journeyGraph, type JourneyGraph, type Leg, NODE, relatedIds } from "./journey.ts"

interface EffectSummary {
  readonly id: string
  readonly kind: string
  readonly status: string
  readonly stuck?: { readonly sinceMs: number; readonly forMs: number } | null
  readonly history?: ReadonlyArray<{ readonly status: string; readonly evidence: { readonly kind: string; readonly messageId?: string } }>
}

// The statuses after which an effect does not move again but for a reorg (docs/effects.md).
const SETTLED = new Set(["settled", "refunded", "timed-out", "executed", "expired", "retracted"])

const laneOf = (e: EffectSummary): "stuck" | "in flight" | "settled" =>
  e.stuck != null ? "stuck" : SETTLED.has(e.status) ? "settled" : "in flight"

// The most effects drawn around the focused one (a deposit holds at most 16 fills and 16 refunds).
const MAX_EFFECTS = 40

/** The focused effect and those its journey and dependencies reach, read by id (breadth first, bounded). */
const readJourney = async (id: string): Promise<ReadonlyArray<AnyEffect> | string> => {
  const first = await getJson<{ effect: AnyEffect }>(`/v1/effects/${encodeURIComponent(id)}`)
  if (!first.ok) return reasonOf(first)
  const found = new Map<string, AnyEffect>([[first.body.effect.id, first.body.effect]])
  let frontier: ReadonlyArray<AnyEffect> = [first.body.effect]
  while (frontier.length > 0 && found.size < MAX_EFFECTS) {
    const next = [...new Set(frontier.flatMap(relatedIds))].filter((x) => !found.has(x)).slice(0, MAX_EFFECTS - found.size)
    const answers = await Promise.all(next.map((x) => getJson<{ effect: AnyEffect }>(`/v1/effects/${encodeURIComponent(x)}`)))
    frontier = answers.flatMap((a) => (a.ok ? [a.body.effect] : []))
    for (const e of frontier) found.set(e.id, e)
  }
  return [...found.values()]
}

const short = (s: string, n = 16) => (s.length > n ? `${s.slice(0, n)}…` : s)

const Evidence = (props: { readonly leg: Leg }) => {
  const { leg } = props
  const ev = leg.evidence
  return (
    <div class="evidence" data-testid="leg-evidence" data-leg={leg.key} role="region" aria-live="polite" aria-label={`evidence of the ${leg.label} on ${leg.chain}`}>
      <h5>
        {leg.label} on {leg.chain}: {leg.status} <span class="muted">({leg.finality})</span>
      </h5>
      <dl>
        <dt>evidence</dt>
        <dd data-testid="evidence-kind">{ev.kind}{ev.effect === undefined || ev.effect === leg.effectId ? "" : <> (of <code title={ev.effect}>{short(ev.effect, 40)}</code>)</>}</dd>
        <dt>message</dt>
        <dd><code title={ev.message}>{short(ev.message, 24)}</code> <span class="muted">(GET /v1/messages/{"{id}"}: re-check it offline with causeway/verify)</span></dd>
        <dt>checked against</dt>
        <dd>
          {ev.stateHeight === undefined ? "" : `the state at ${ev.stateHeight}, `}header {ev.header.height} <code title={ev.header.hash}>{short(ev.header.hash)}</code>
          {ev.receiptsRoot === undefined ? "" : <>, receipts root <code title={ev.receiptsRoot}>{short(ev.receiptsRoot)}</code></>}
          {ev.time === undefined ? "" : `, verified time ${new Date(ev.time).toISOString()}`}
        </dd>
        <dt>effect</dt>
        <dd><code title={leg.effectId}>{short(leg.effectId, 60)}</code></dd>
      </dl>
      {leg.history.length === 0 ? null : (
        <ol class="moves">
          {leg.history.map((m, i) => <li key={i}>{m.status}: {m.evidence.kind} in <code title={m.evidence.message}>{short(m.evidence.message)}</code> at {m.evidence.header.height}</li>)}
        </ol>
      )}
    </div>
  )
}

const JourneyGraphView = (props: { readonly graph: JourneyGraph; readonly focused: string; readonly selected: string | undefined; readonly onSelect: (key: string) => void }) => {
  const g = props.graph
  const at = new Map(g.legs.map((l) => [l.key, l]))
  return (
    <svg
      class="journey-graph"
      data-testid="journey-graph"
      viewBox={`0 0 ${g.width} ${g.height}`}
      style={{ maxWidth: `${g.width}px` }}
      role="group"
      aria-label={`journey: ${g.legs.length} legs on ${g.lanes.length} chains, ${g.edges.length} dependencies`}
    >
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
          <path d="M0,0 L10,5 L0,10 z" class="arrowhead" />
        </marker>
      </defs>
      {g.lanes.map((lane) => (
        <g key={lane.chain} class="lane">
          <rect x="0" y={lane.y} width={g.width} height={lane.height} rx="6" />
          <text x="8" y={lane.y + lane.height / 2 + 4}>{short(lane.chain, 14)}</text>
        </g>
      ))}
      {g.edges.map((d) => {
        const a = at.get(d.from)
        const b = at.get(d.to)
        if (a === undefined || b === undefined) return null
        const x1 = a.x + NODE.width
        const y1 = a.y + NODE.height / 2
        const x2 = b.x
        const y2 = b.y + NODE.height / 2
        const mid = (x1 + x2) / 2
        return (
          <g key={`${d.from}>${d.to}`} class="dep" data-testid="dependency" data-from={d.from} data-to={d.to}>
            <title>{`${d.label}: ${at.get(d.to)?.label} on ${b.chain} needs ${a.label} on ${a.chain}`}</title>
            <path d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 2},${y2}`} marker-end="url(#arrow)" />
            <text x={mid} y={(y1 + y2) / 2 - 4} text-anchor="middle" class="small">{d.label}</text>
          </g>
        )
      })}
      {g.legs.map((l) => (
        <g
          key={l.key}
          class={`leg status-${l.status}${l.effectId === props.focused ? " focused" : ""}${l.key === props.selected ? " selected" : ""}`}
          data-testid="leg"
          data-key={l.key}
          data-chain={l.chain}
          data-status={l.status}
          data-label={l.label}
          role="button"
          // Lower case: on an SVG element Preact sets the attribute as written, and only `tabindex` makes it focusable.
          tabindex={0}
          aria-pressed={l.key === props.selected}
          aria-label={`${l.label} on ${l.chain}: ${l.status}, ${l.finality}; evidence ${l.evidence.kind}`}
          onClick={() => props.onSelect(l.key)}
          onKeyDown={(e) => {
            if (e.key === "Enter" || e.key === " ") {
              e.preventDefault()
              props.onSelect(l.key)
            }
          }}
        >
          <rect x={l.x} y={l.y} width={NODE.width} height={NODE.height} rx="7" />
          <text x={l.x + NODE.width / 2} y={l.y + 18} text-anchor="middle">{l.label}</text>
          <text x={l.x + NODE.width / 2} y={l.y + 34} text-anchor="middle" class="small">{`${l.status} · ${l.evidence.kind}`}</text>
        </g>
      ))}
    </svg>
  )
}

const Journey = (props: { readonly id: string }) => {
  const [effects, setEffects] = useState<ReadonlyArray<AnyEffect> | string | undefined>(undefined)
  const [selected, setSelected] = useState<string | undefined>(undefined)
  const refresh = useCallback(() => {
    void readJourney(props.id).then(setEffects)
  }, [props.id])
  useRefresh(refresh, undefined, 5000)
  if (effects === undefined) return <p class="muted">Reading…</p>
  if (typeof effects === "string") return <p class="error">{effects}</p>
  const focused = effects[0]!
  const graph = journeyGraph(effects)
  const leg = graph.legs.find((l) => l.key === selected)
  return (
    <div data-testid="journey" data-status={focused.status}>
      <h4>
        <code title={focused.id}>{short(focused.id, 60)}</code>: {focused.status} <span class="muted">({focused.finality})</span>
      </h4>
      <p class="muted small">
        Legs by chain, left to right in the order they depend on each other; focus a leg (Tab, then Enter) or click it for its evidence.
      </p>
      <div class="scroll-x">
        <JourneyGraphView graph={graph} focused={focused.id} selected={selected} onSelect={setSelected} />
      </div>
      {leg === undefined ? <p class="muted">No leg selected.</p> : <Evidence leg={leg} />}
    </div>
  )
}

/** The effects view. */
export const EffectsView = (props: { readonly now: number; readonly effectId: string; readonly onEffect: (id: string) => void }) => {
  const [effects, setEffects] = useState<ReadonlyArray<EffectSummary> | string | undefined>(undefined)
  const refresh = useCallback(() => {
    void getJson<{ effects: ReadonlyArray<EffectSummary> }>("/v1/effects?limit=1000").then((a) => setEffects(a.ok ? a.body.effects : reasonOf(a)))
  }, [])
  useRefresh(refresh, undefined, 5000)
  const lanes = ["stuck", "in flight", "settled"] as const
  return (
    <section aria-labelledby="effects-title">
      <h2 id="effects-title">Effects</h2>
      {effects === undefined ? <p class="muted">Reading…</p> : typeof effects === "string" ? <p class="error">{effects}</p> : effects.length === 0
        ? <p class="muted">No effect tracked (POST /v1/effects/watches starts a watch).</p>
        : (
          <div class="grid">
            {lanes.map((lane) => {
              const inLane = effects.filter((e) => laneOf(e) === lane)
              return (
                <article class="card" key={lane} data-testid={`lane-${lane}`}>
                  <h3>{lane} <span class="muted">({inLane.length})</span></h3>
                  <ul class="effects">
                    {inLane.slice(0, 50).map((e) => (
                      <li key={e.id}>
                        <button type="button" class="link" onClick={() => props.onEffect(e.id)}>{e.status}</button>{" "}
                        <code title={e.id}>{e.id.length > 40 ? `${e.id.slice(0, 40)}…` : e.id}</code>
                        {e.stuck != null ? <span class="error"> stuck {(e.stuck.forMs / 1000).toFixed(0)} s</span> : null}
                      </li>
                    ))}
                  </ul>
                </article>
              )
            })}
          </div>
        )}
      {props.effectId === "" ? null : <article class="card wide"><Journey id={props.effectId} /></article>}
    </section>
  )
}
