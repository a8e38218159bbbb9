/**
 * The Prometheus text exposition (format 0.0.4) of every Effect metric in the registry,
 * written by Effect's own `PrometheusMetrics`; families sorted by their exposed name, so a
 * scrape reads (and diffs) the same from one run to the next.
 */
import { Context, Effect, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"

type Entry = readonly [string, Metric.Metric.Metadata<any, any>]

// The name a metric is exposed under (PrometheusMetrics replaces the same characters).
const exposed = (entry: Entry): string => entry[1].id.replace(/[^a-zA-Z0-9_:]/g, "_")

const byName = (a: Entry, b: Entry): number => {
  const x = exposed(a)
  const y = exposed(b)
  return x < y ? -1 : x > y ? 1 : 0
}

/** The exposition of the metrics registered in the current context. */
export const exposition: Effect.Effect<string> = Effect.map(Effect.context<never>(), (context) => {
  // PrometheusMetrics reads the registry in registration order; a sorted copy (the same
  // metrics, the same state) orders the families. The sort is stable: series keep their order.
  const registry = Context.get(context, Metric.MetricRegistry)
  return PrometheusMetrics.formatUnsafe(Context.add(context, Metric.MetricRegistry, new Map([...registry].sort(byName))))
})
