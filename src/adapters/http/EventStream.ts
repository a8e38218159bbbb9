/**
 * A Server-Sent Events response: the given events (already formatted `event:/id:/data:`
 * text) with keep-alive comments between them, ended cleanly when the server drains, an
 * `error` event with a reason if the storage fails, and the open-streams gauge kept.
 */
import { Cause, type Effect, Metric, Stream } from "effect"
import { HttpServerResponse } from "effect/http"
import * as HttpMetrics from "./HttpMetrics.ts"

/** How the stream ends and keeps alive. */
export interface EventStreamOptions {
  /** Keep-alive comment interval; the first comment goes out at once (it sends the headers). */
  readonly heartbeatMs: number
  /** Completes when the server starts to shut down. */
  readonly draining: Effect.Effect<void>
  /** The `reason` of the error event sent when the events fail (storage). */
  readonly failureReason: string
}

/** The response; the stream ends when `events` ends. */
export const eventStream = <E>(events: Stream.Stream<string, E>, options: EventStreamOptions) => {
  const heartbeats = Stream.tick(options.heartbeatMs).pipe(Stream.map(() => ": heartbeat\n\n"))
  const body = Stream.merge(events, heartbeats, { haltStrategy: "left" }).pipe(
    Stream.catchCause((cause) =>
      Cause.hasInterruptsOnly(cause)
        ? Stream.failCause(cause)
        : Stream.make(`event: error\ndata: ${JSON.stringify({ _tag: "StorageUnavailable", reason: options.failureReason })}\n\n`)
    ),
    Stream.interruptWhen(options.draining),
    Stream.onStart(Metric.modify(HttpMetrics.sseClients, 1)),
    Stream.ensuring(Metric.modify(HttpMetrics.sseClients, -1)),
    Stream.encodeText
  )
  return HttpServerResponse.stream(body, {
    contentType: "text/event-stream; charset=utf-8",
    headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
  })
}
