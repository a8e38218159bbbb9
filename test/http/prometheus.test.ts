import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import * as Prometheus from "../../src/adapters/http/Prometheus.ts"

// A registry of its own, so other tests' metrics do not show up.
const withRegistry = <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.provideService(self, Metric.MetricRegistry, new Map())

describe("Prometheus exposition", () => {
  it.effect("renders counters, gauges, histograms, summaries and frequencies", () =>
    withRegistry(Effect.gen(function*() {
      const requests = Metric.counter("app_requests_total", { description: "Requests\nserved \\ so far" })
      yield* Metric.update(Metric.withAttributes(requests, { route: "/a" }), 2)
      yield* Metric.update(Metric.withAttributes(requests, { route: "/b" }), 1)
      yield* Metric.update(Metric.gauge("app.temperature"), -3.5)
      yield* Metric.update(Metric.gauge("app_big", { bigint: true }), 2n ** 70n)
      const latency = Metric.histogram("app_latency_seconds", { boundaries: [0.1, 1] })
      for (const v of [0.05, 0.5, 0.7, 5]) yield* Metric.update(latency, v)
      const summary = Metric.summary("app_size", { maxAge: "1 minute", maxSize: 10, quantiles: [0.5] })
      yield* Metric.update(summary, 4)
      yield* Metric.update(Metric.frequency("app_status"), "ok")
      const text = yield* Prometheus.exposition
      expect(text).toBe([
        "# TYPE app_big gauge",
        "app_big 1180591620717411303424",
        "# TYPE app_latency_seconds histogram",
        "app_latency_seconds_bucket{le=\"0.1\"} 1",
        "app_latency_seconds_bucket{le=\"1\"} 3",
        "app_latency_seconds_bucket{le=\"+Inf\"} 4",
        "app_latency_seconds_sum 6.25",
        "app_latency_seconds_count 4",
        "# HELP app_requests_total Requests\\nserved \\\\ so far",
        "# TYPE app_requests_total counter",
        "app_requests_total{route=\"/a\"} 2",
        "app_requests_total{route=\"/b\"} 1",
        "# TYPE app_size summary",
        "app_size{quantile=\"0.5\"} 4",
        "app_size_sum 4",
        "app_size_count 1",
        "# TYPE app_status counter",
        "app_status{key=\"ok\"} 1",
        "# TYPE app_temperature gauge",
        "app_temperature -3.5",
        ""
      ].join("\n"))
    })))

  it.effect("escapes label values and sanitises names", () =>
    withRegistry(Effect.gen(function*() {
      const c = Metric.counter("weird-name")
      yield* Metric.update(Metric.withAttributes(c, { "bad key": "quote \" backslash \\ newline \n end" }), 1)
      const text = yield* Prometheus.exposition
      expect(text).toContain("weird_name{bad_key=\"quote \\\" backslash \\\\ newline \\n end\"} 1")
      expect(text.split("\n").filter((l) => l !== "" && !l.startsWith("#"))).toHaveLength(1)
    })))

  it.effect("escapes exactly backslash, double quote and newline in label values", () =>
    withRegistry(Effect.gen(function*() {
      yield* Metric.update(Metric.withAttributes(Metric.counter("c"), { a: "a\\b\"c\nd", b: "plain" }), 1)
      expect(yield* Prometheus.exposition).toBe("# TYPE c counter\nc{a=\"a\\\\b\\\"c\\nd\",b=\"plain\"} 1\n")
    })))
})
