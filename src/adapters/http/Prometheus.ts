/**
 * Prometheus text exposition (format 0.0.4) of Effect metric snapshots: counters, gauges,
 * histograms (cumulative `_bucket{le}`, `_sum`, `_count`), summaries (`{quantile}`, `_sum`,
 * `_count`) and frequencies (a counter per key). Attributes become labels.
 */
import type { Metric } from "effect"

const metricName = (id: string): string => {
  const s = id.replace(/[^a-zA-Z0-9_:]/g, "_")
  return /^[0-9]/.test(s) ? `_${s}` : s
}

const labelName = (name: string): string => {
  const s = name.replace(/[^a-zA-Z0-9_]/g, "_")
  return /^[0-9]/.test(s) || s.startsWith("__") ? `_${s}` : s
}

/** A label value as the exposition format wants it: backslash, quote and newline escaped. */
export const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")

const formatNumber = (n: number | bigint): string => {
  if (typeof n === "bigint") return n.toString()
  if (Number.isNaN(n)) return "NaN"
  if (n === Infinity) return "+Inf"
  if (n === -Infinity) return "-Inf"
  return String(n)
}

const labels = (attributes: Readonly<Record<string, string>> | undefined, extra: ReadonlyArray<readonly [string, string]> = []): string => {
  const pairs: Array<string> = []
  for (const [k, v] of Object.entries(attributes ?? {})) pairs.push(`${labelName(k)}="${escapeLabelValue(v)}"`)
  for (const [k, v] of extra) pairs.push(`${k}="${escapeLabelValue(v)}"`)
  return pairs.length === 0 ? "" : `{${pairs.join(",")}}`
}

const typeOf = (type: Metric.Metric.Snapshot["type"]): string => {
  switch (type) {
    case "Counter":
    case "Frequency":
      return "counter"
    case "Gauge":
      return "gauge"
    case "Histogram":
      return "histogram"
    case "Summary":
      return "summary"
  }
}

const samples = (name: string, s: Metric.Metric.Snapshot): Array<string> => {
  const out: Array<string> = []
  switch (s.type) {
    case "Counter":
      out.push(`${name}${labels(s.attributes)} ${formatNumber(s.state.count)}`)
      break
    case "Gauge":
      out.push(`${name}${labels(s.attributes)} ${formatNumber(s.state.value)}`)
      break
    case "Frequency":
      for (const [key, count] of s.state.occurrences) {
        out.push(`${name}${labels(s.attributes, [["key", key]])} ${formatNumber(count)}`)
      }
      break
    case "Histogram": {
      let sawInf = false
      for (const [boundary, cumulative] of s.state.buckets) {
        if (boundary === Infinity) sawInf = true
        out.push(`${name}_bucket${labels(s.attributes, [["le", formatNumber(boundary)]])} ${formatNumber(cumulative)}`)
      }
      if (!sawInf) out.push(`${name}_bucket${labels(s.attributes, [["le", "+Inf"]])} ${formatNumber(s.state.count)}`)
      out.push(`${name}_sum${labels(s.attributes)} ${formatNumber(s.state.sum)}`)
      out.push(`${name}_count${labels(s.attributes)} ${formatNumber(s.state.count)}`)
      break
    }
    case "Summary":
      for (const [q, v] of s.state.quantiles) {
        out.push(`${name}${labels(s.attributes, [["quantile", formatNumber(q)]])} ${v === undefined ? "NaN" : formatNumber(v)}`)
      }
      out.push(`${name}_sum${labels(s.attributes)} ${formatNumber(s.state.sum)}`)
      out.push(`${name}_count${labels(s.attributes)} ${formatNumber(s.state.count)}`)
      break
  }
  return out
}

/** Render snapshots as one exposition; series of the same metric share one HELP/TYPE block. */
export const render = (snapshots: ReadonlyArray<Metric.Metric.Snapshot>): string => {
  const byName = new Map<string, Array<Metric.Metric.Snapshot>>()
  for (const s of snapshots) {
    const name = metricName(s.id)
    const group = byName.get(name)
    if (group === undefined) byName.set(name, [s])
    else group.push(s)
  }
  const lines: Array<string> = []
  for (const name of [...byName.keys()].sort()) {
    const group = byName.get(name) as Array<Metric.Metric.Snapshot>
    const first = group[0] as Metric.Metric.Snapshot
    if (first.description !== undefined) lines.push(`# HELP ${name} ${escapeHelp(first.description)}`)
    lines.push(`# TYPE ${name} ${typeOf(first.type)}`)
    for (const s of group) if (s.type === first.type) lines.push(...samples(name, s))
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`
}
