/**
 * Traces and metrics exported to an OpenTelemetry collector over OTLP/HTTP (JSON bodies,
 * POSTed to `<url>/v1/traces` and `<url>/v1/metrics`), by Effect's own exporters
 * (`effect/observability` OtlpTracer and OtlpMetrics) over fetch.
 *
 * Every `Effect.fn` / `Effect.withSpan` becomes a span named after it ("Ingest.submit"), each
 * HTTP request a server span; every Effect metric (the ones /metrics serves) is sent as a
 * cumulative series. Spans go out every 5 s, metrics every 10 s, both once more when the layer's
 * scope closes (shutdown). A collector that cannot be reached costs nothing but a debug log:
 * the exporter drops its buffer and pauses for a minute.
 */
import { Layer } from "effect"
import { FetchHttpClient } from "effect/http"
import { OtlpMetrics, OtlpSerialization, OtlpTracer } from "effect/observability"

/** Where the collector is and who this service is. */
export interface OtlpOptions {
  /** The collector's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318. */
  readonly url: string
  /** Resource attribute `service.name`. */
  readonly serviceName: string
  /** Resource attribute `service.version`. */
  readonly serviceVersion: string
  /** Resource attribute `service.instance.id`. */
  readonly instanceId: string
}

/** The OTLP tracer (the current `Tracer`) and metrics exporter, for as long as the layer lives. */
export const layer = (options: OtlpOptions) => {
  const base = options.url.replace(/\/+$/, "")
  const resource = {
    serviceName: options.serviceName,
    serviceVersion: options.serviceVersion,
    attributes: { "service.instance.id": options.instanceId }
  }
  return Layer.mergeAll(
    OtlpTracer.layer({ url: `${base}/v1/traces`, resource }),
    OtlpMetrics.layer({ url: `${base}/v1/metrics`, resource })
  ).pipe(Layer.provide(OtlpSerialization.layerJson), Layer.provide(FetchHttpClient.layer))
}
