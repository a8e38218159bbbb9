/**
 * Small hand-written SVG pictures: a sparkline of the last minutes, a fill gauge, and a
 * lifecycle of steps. They scale with their box (viewBox) and take their colours from the
 * style sheet (currentColor and CSS classes), so light and dark both read.
 */

/** A sample: time (Unix ms) and value. */
export type Sample = readonly [number, number]

/** A line of samples over the last `windowMs`, with the latest value as text. */
export const Sparkline = (props: {
  readonly label: string
  readonly samples: ReadonlyArray<Sample>
  readonly unit: string
  readonly windowMs: number
  readonly now: number
  readonly digits?: number
}) => {
  const w = 300
  const h = 64
  const from = props.now - props.windowMs
  const shown = props.samples.filter(([t]) => t >= from)
  const max = Math.max(1e-9, ...shown.map(([, v]) => v))
  const x = (t: number) => ((t - from) / props.windowMs) * w
  const y = (v: number) => h - 4 - (v / max) * (h - 12)
  const path = shown.map(([t, v], i) => `${i === 0 ? "M" : "L"}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ")
  const last = shown[shown.length - 1]
  const text = last === undefined ? "no data yet" : `${last[1].toFixed(props.digits ?? 0)} ${props.unit}`
  return (
    <figure class="spark" data-points={shown.length}>
      <figcaption>
        <span>{props.label}</span> <strong>{text}</strong>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-label={`${props.label}: ${text}, last ${Math.round(props.windowMs / 60_000)} minutes`} preserveAspectRatio="none">
        <line class="axis" x1="0" y1={h - 4} x2={w} y2={h - 4} />
        {path === "" ? null : <path class="line" d={path} />}
        {/* The latest point, round however the chart stretches (a zero-length stroke with round caps). */}
        {last === undefined ? null : <line class="dot" x1={x(last[0])} y1={y(last[1])} x2={x(last[0])} y2={y(last[1])} />}
        <text class="max" x="2" y="10">{`max ${max < 1e-6 ? 0 : max.toFixed(props.digits ?? 0)}`}</text>
      </svg>
    </figure>
  )
}

/** How far a quantity has come between 0 and 1, as a bar. */
export const Gauge = (props: { readonly label: string; readonly fraction: number; readonly text: string }) => {
  const f = Math.max(0, Math.min(1, props.fraction))
  return (
    <svg class="gauge" viewBox="0 0 300 14" role="img" aria-label={`${props.label}: ${props.text}`} preserveAspectRatio="none">
      <rect class="track" x="0" y="0" width="300" height="14" rx="7" />
      <rect class="fill" x="0" y="0" width={300 * f} height="14" rx="7" />
    </svg>
  )
}

/** The steps of a lifecycle, those reached filled, the current one ringed. */
export const Lifecycle = (props: {
  readonly steps: ReadonlyArray<string>
  readonly reached: ReadonlySet<string>
  readonly current: string
  readonly failed: boolean
}) => {
  const gap = 100
  const w = gap * (props.steps.length - 1) + 80
  return (
    <svg class="lifecycle" viewBox={`0 0 ${w} 56`} role="img" aria-label={`status ${props.current}; reached ${[...props.reached].join(", ")}`}>
      {props.steps.map((s, i) => (
        <g key={s} class={`step${props.reached.has(s) ? " reached" : ""}${s === props.current ? " current" : ""}${props.failed && s === props.current ? " failed" : ""}`}>
          {i > 0 ? <line x1={40 + gap * (i - 1) + 10} y1="18" x2={40 + gap * i - 10} y2="18" /> : null}
          <circle cx={40 + gap * i} cy="18" r="9" />
          <text x={40 + gap * i} y="48" text-anchor="middle">{s}</text>
        </g>
      ))}
    </svg>
  )
}
