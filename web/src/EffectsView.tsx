/**
 * The effects: the tracked effects (GET /v1/effects) in three lanes — stuck (a packet the API
 * reports stuck, with for how long), in flight and settled — and one effect's journey
 * (GET /v1/effects/{id}) as its legs, each with the message carrying its evidence.
 */
import { useCallback, useState } from "preact/hooks"
import { getJson, reasonOf } from "./api.ts"
import { useRefresh } from "./feed.ts"

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

const Journey = (props: { readonly id: string }) => {
  const [effect, setEffect] = useState<EffectSummary | string | undefined>(undefined)
  const refresh = useCallback(() => {
    void getJson<{ effect: EffectSummary }>(`/v1/effects/${encodeURIComponent(props.id)}`).then((a) => setEffect(a.ok ? a.body.effect : reasonOf(a)))
  }, [props.id])
  useRefresh(refresh, undefined, 5000)
  if (effect === undefined) return <p class="muted">Reading…</p>
  if (typeof effect === "string") return <p class="error">{effect}</p>
  const moves = effect.history ?? []
  const w = Math.max(1, moves.length) * 130
  return (
    <div data-testid="journey">
      <h4>{effect.id}</h4>
      <svg class="journey" viewBox={`0 0 ${w} 60`} role="img" aria-label={`moves: ${moves.map((m) => m.status).join(" then ")}`}>
        {moves.map((m, i) => (
          <g key={i} class="leg">
            {i > 0 ? <line x1={130 * i - 50} y1="20" x2={130 * i + 20} y2="20" /> : null}
            <rect x={130 * i + 20} y="6" width="90" height="28" rx="6" />
            <text x={130 * i + 65} y="25" text-anchor="middle">{m.status}</text>
            <text class="small" x={130 * i + 65} y="52" text-anchor="middle">{m.evidence.kind}</text>
          </g>
        ))}
      </svg>
      <ol>
        {moves.map((m, i) => <li key={i}>{m.status}: {m.evidence.kind}{m.evidence.messageId === undefined ? "" : <> in <code>{m.evidence.messageId.slice(0, 16)}…</code></>}</li>)}
      </ol>
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
