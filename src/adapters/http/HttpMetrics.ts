/** The metrics the HTTP adapter records, next to the ingest service's own. */
import { Metric } from "effect"

/** Requests answered, by method, route template and status. */
export const requests = Metric.counter("causeway_http_requests_total", {
  description: "HTTP requests answered, by method, route and status"
})

/** Time from receiving a request to the end of its response, by method and route. */
export const duration = Metric.histogram("causeway_http_request_duration_seconds", {
  description: "HTTP request duration in seconds, by method and route",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})

/** Server-Sent Events connections open now. */
export const sseClients = Metric.gauge("causeway_http_sse_clients", {
  description: "Open /v1/stream connections"
})

/** The offset the next log record will get (the number of records). */
export const logEndOffset = Metric.gauge("causeway_log_end_offset", {
  description: "Records in the causal log"
})

/** Each projection's offset (records folded in), labelled by projection. */
export const projectionOffset = Metric.gauge("causeway_projection_offset", {
  description: "Records folded into each projection"
})

/** The event loop's largest delay since the previous scrape (EventLoopDelay.ts). */
export const eventLoopDelayMax = Metric.gauge("causeway_event_loop_delay_max_seconds", {
  description: "Largest event-loop delay since the previous /metrics scrape, in seconds (beyond the 10 ms sampling interval)"
})

/** The 99th percentile of the event loop's delays since the previous scrape. */
export const eventLoopDelayP99 = Metric.gauge("causeway_event_loop_delay_p99_seconds", {
  description: "99th percentile of event-loop delays since the previous /metrics scrape, in seconds (beyond the 10 ms sampling interval)"
})
