/**
 * The last minutes of a few figures, for the dashboard's live charts (GET /v1/metrics/recent
 * and /v1/metrics/events): every `intervalMs` (default 5 s) one sample of messages accepted
 * and rejected (by reason) per second since the previous sample, the event loop's delay, the
 * log's end and how many records the slowest projection trails it by, kept in a ring of the
 * last `windowMs` (default 10 minutes: 120 samples). Service state, not the log's: a restart
 * starts an empty ring.
 *
 * It reads what /metrics serves (the ingest counters from the metric registry, the log's end
 * and the projections' offsets) without touching it: the event loop's delay comes from a
 * `monitorEventLoopDelay` histogram of its own, reset at each sample, so a Prometheus scraping
 * /metrics keeps its own windows (EventLoopDelay.ts) however many dashboards are open.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Clock, Context, Effect, Layer, Metric, PubSub, Stream } from "effect"
import { CausalLog } from "../../ports/CausalLog.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"

/** One sample: rates over the interval that ends at `at`, levels at `at`. */
export interface MetricsSample {
  /** When it was taken, Unix ms. */
  readonly at: number
  /** The interval it covers (since the previous sample), ms. */
  readonly intervalMs: number
  /** Messages appended to the log per second. */
  readonly acceptedPerSecond: number
  /** Messages rejected per second, by reason (every reason seen since start; 0 when none this interval), sorted by reason. */
  readonly rejectedPerSecond: ReadonlyArray<{ readonly reason: string; readonly perSecond: number }>
  /** The event loop's 99th-percentile and largest delay over the interval, ms (beyond the 10 ms sampling interval). */
  readonly eventLoopDelayP99Ms: number
  readonly eventLoopDelayMaxMs: number
  /** Records in the log (the offset the next one gets); null when the storage did not answer. */
  readonly logEnd: number | null
  /** How many records the slowest projection trails the log's end by; null when the storage did not answer. */
  readonly projectionLag: number | null
}

/** How often to sample and how much to keep. */
export interface RecentMetricsOptions {
  readonly intervalMs: number
  readonly windowMs: number
}

/** Every 5 s, the last 10 minutes. */
export const defaultRecentMetricsOptions: RecentMetricsOptions = { intervalMs: 5000, windowMs: 10 * 60_000 }

/** The sampler's ring and its live feed. */
export interface RecentMetricsService {
  readonly intervalMs: number
  readonly windowMs: number
  /** The most samples the ring holds: windowMs / intervalMs, rounded up. */
  readonly capacity: number
  /** The samples held, oldest first. */
  readonly recent: Effect.Effect<ReadonlyArray<MetricsSample>>
  /** Each sample as it is taken (from subscription on). */
  readonly samples: Stream.Stream<MetricsSample>
}

/** The sampler service. */
export class RecentMetrics extends Context.Service<RecentMetrics, RecentMetricsService>()("causeway/http/RecentMetrics") {}

// The monitor's timer interval, ms (as EventLoopDelay.ts).
const RESOLUTION_MS = 10

const ACCEPTED = "causeway_ingest_accepted_total"
const REJECTED = "causeway_ingest_rejected_total"

interface Counts {
  readonly accepted: number
  readonly rejected: ReadonlyMap<string, number>
}

/** The ingest counters now, from the metric registry in context. */
const counts: Effect.Effect<Counts> = Effect.map(Metric.snapshot, (snapshots) => {
  let accepted = 0
  const rejected = new Map<string, number>()
  for (const s of snapshots) {
    if (s.type !== "Counter") continue
    const n = Number(s.state.count)
    if (s.id === ACCEPTED) accepted += n
    else if (s.id === REJECTED) {
      const reason = s.attributes?.["reason"] ?? "unknown"
      rejected.set(reason, (rejected.get(reason) ?? 0) + n)
    }
  }
  return { accepted, rejected }
})

/** The ring and its sampler over the log and projections in context; sampling stops with the scope. */
export const make = (options: RecentMetricsOptions = defaultRecentMetricsOptions) =>
  Effect.gen(function*() {
    if (!(Number.isInteger(options.intervalMs) && options.intervalMs > 0 && options.windowMs >= options.intervalMs)) {
      return yield* Effect.die(new RangeError(`recent metrics: interval ${options.intervalMs} ms and window ${options.windowMs} ms`))
    }
    const log = yield* CausalLog
    const runner = yield* Projections
    const capacity = Math.ceil(options.windowMs / options.intervalMs)
    const ring: Array<MetricsSample> = []
    const pubsub = yield* PubSub.sliding<MetricsSample>(16)
    yield* Effect.addFinalizer(() => PubSub.shutdown(pubsub))

    // A monitor of its own: the /metrics one is reset by its scrapes, this one by the samples only.
    const monitor = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const m = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
        m.enable()
        return m
      }),
      (m) => Effect.sync(() => m.disable())
    )
    const delayMs = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS)

    let previous = { at: yield* Clock.currentTimeMillis, counts: yield* counts }
    const sample = Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      const now = yield* counts
      const intervalMs = Math.max(1, at - previous.at)
      const rate = (after: number, before: number) => Math.max(0, after - before) / (intervalMs / 1000)
      const logEnd = yield* Effect.orElseSucceed(log.endOffset, () => null)
      const status = yield* runner.positions
      const slowest = status.length === 0 ? logEnd : Math.min(...status.map((s) => s.offset))
      const s: MetricsSample = {
        at,
        intervalMs,
        acceptedPerSecond: rate(now.accepted, previous.counts.accepted),
        rejectedPerSecond: [...now.rejected.keys()].sort().map((reason) => ({
          reason,
          perSecond: rate(now.rejected.get(reason) ?? 0, previous.counts.rejected.get(reason) ?? 0)
        })),
        eventLoopDelayP99Ms: monitor.count === 0 ? 0 : delayMs(monitor.percentile(99)),
        eventLoopDelayMaxMs: monitor.count === 0 ? 0 : delayMs(monitor.max),
        logEnd,
        projectionLag: logEnd === null || slowest === null ? null : Math.max(0, logEnd - slowest)
      }
      monitor.reset()
      previous = { at, counts: now }
      ring.push(s)
      if (ring.length > capacity) ring.splice(0, ring.length - capacity)
      yield* PubSub.publish(pubsub, s)
    })
    yield* Effect.forkScoped(Effect.forever(Effect.andThen(Effect.sleep(options.intervalMs), sample)))

    return {
      intervalMs: options.intervalMs,
      windowMs: options.windowMs,
      capacity,
      recent: Effect.sync(() => ring.slice()),
      samples: Stream.fromPubSub(pubsub)
    } satisfies RecentMetricsService
  })

/** The sampler as a scoped layer. */
export const layer = (options: Partial<RecentMetricsOptions> = {}) =>
  Layer.effect(RecentMetrics, make({ ...defaultRecentMetricsOptions, ...options }))
