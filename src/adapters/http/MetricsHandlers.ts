/** Handlers of the metrics group (MetricsApi.ts), over the RecentMetrics sampler. */
import { Effect, Stream } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { Api } from "./Api.ts"
import { Draining } from "./Draining.ts"
import { eventStream } from "./EventStream.ts"
import type { MetricsSample } from "./RecentMetrics.ts"
import { RecentMetrics } from "./RecentMetrics.ts"

const sse = (s: MetricsSample): string => `id: ${s.at}\nevent: sample\ndata: ${JSON.stringify(s)}\n\n`

/** The metrics group's handlers. */
export const layer = (options: { readonly heartbeatMs: number }) =>
  HttpApiBuilder.group(Api, "metrics", (handlers) =>
    Effect.gen(function*() {
      const recent = yield* RecentMetrics
      const draining = yield* Draining
      return handlers
        .handle("recent", () =>
          Effect.map(recent.recent, (samples) => ({ intervalMs: recent.intervalMs, windowMs: recent.windowMs, capacity: recent.capacity, samples })))
        .handle("events", () =>
          Effect.succeed(eventStream(Stream.map(recent.samples, sse), {
            heartbeatMs: options.heartbeatMs,
            draining,
            failureReason: "the metrics sampler stopped; reconnect"
          })))
    }))
