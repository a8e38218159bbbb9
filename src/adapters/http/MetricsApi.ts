/**
 * The metrics group of the HTTP contract: the last 10 minutes of a few figures (ingest rates,
 * rejections by reason, event-loop delay, projection lag) sampled by the server every few
 * seconds (RecentMetrics.ts), as JSON and as Server-Sent Events, for live charts such as the
 * dashboard's. Unlike /metrics, reading them disturbs no Prometheus window. Service state,
 * not the log's: a restart starts empty. Handlers: MetricsHandlers.ts.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { NeedsLog, OpensStream } from "./EdgeApi.ts"

/** One sample of the recent metrics. */
export const MetricsSampleView = Schema.Struct({
  at: Schema.Finite.annotate({ description: "when the sample was taken, Unix ms" }),
  intervalMs: Schema.Finite.annotate({ description: "the interval it covers (since the previous sample), ms" }),
  acceptedPerSecond: Schema.Finite.annotate({ description: "messages appended to the log per second over the interval" }),
  rejectedPerSecond: Schema.Array(Schema.Struct({ reason: Schema.String, perSecond: Schema.Finite }).annotate({ identifier: "RejectionRate" })).annotate({
    description: "messages rejected per second over the interval, by reason (the rejection's _tag); every reason seen since the server started, sorted"
  }),
  eventLoopDelayP99Ms: Schema.Finite.annotate({ description: "the event loop's 99th-percentile delay over the interval, ms (beyond the 10 ms sampling interval)" }),
  eventLoopDelayMaxMs: Schema.Finite.annotate({ description: "the event loop's largest delay over the interval, ms" }),
  logEnd: Schema.NullOr(Schema.Finite).annotate({ description: "records in the log; null when its storage did not answer" }),
  projectionLag: Schema.NullOr(Schema.Finite).annotate({ description: "how many records the slowest projection trails the log by; null when the storage did not answer" })
}).annotate({ identifier: "MetricsSample" })

/** The samples held. */
export const RecentMetricsView = Schema.Struct({
  intervalMs: Schema.Finite.annotate({ description: "how often a sample is taken, ms" }),
  windowMs: Schema.Finite.annotate({ description: "how far back samples are kept, ms" }),
  capacity: Schema.Finite.annotate({ description: "the most samples held (windowMs / intervalMs)" }),
  samples: Schema.Array(MetricsSampleView).annotate({ description: "oldest first, at most `capacity`" })
}).annotate({ identifier: "RecentMetrics" })

/** Recent metrics. */
export const MetricsGroup = HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("recent", "/v1/metrics/recent", { success: RecentMetricsView })
      .annotate(OpenApi.Identifier, "getRecentMetrics")
      .annotate(OpenApi.Summary, "The last 10 minutes of ingest, event-loop and projection figures")
      .annotate(OpenApi.Description, "Samples taken by the server every 5 s and kept for 10 minutes (120 at most), oldest first: messages accepted and rejected (by reason) per second, the event loop's 99th-percentile and largest delay, the log's end and how far the slowest projection trails it. Reading them resets nothing (unlike /metrics' event-loop window). Service state, not the log's: empty after a restart until the first sample.")
  )
  .add(
    HttpApiEndpoint.get("events", "/v1/metrics/events", {
      success: HttpApiSchema.StreamSse({ data: MetricsSampleView })
    })
      .middleware(OpensStream)
      .annotate(OpenApi.Identifier, "streamRecentMetrics")
      .annotate(OpenApi.Summary, "Follow the recent metrics as Server-Sent Events")
      .annotate(OpenApi.Description, "Server-Sent Events `sample` (a MetricsSample) with `id: <its time, Unix ms>`, one per sample as the server takes it (every 5 s); GET /v1/metrics/recent gives the samples before. A comment every 15 s keeps the connection alive; the stream ends when the server shuts down.")
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "Recent metrics for live charts: a few figures sampled every few seconds, the last 10 minutes kept.")
