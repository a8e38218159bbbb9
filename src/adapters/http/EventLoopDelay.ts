/**
 * The event loop's delay, for /metrics: node's `perf_hooks.monitorEventLoopDelay`, a timer
 * every 10 ms whose lateness is recorded in a histogram. One monitor per process (the main
 * thread's loop is the process's), started when the ops handlers are built and never stopped
 * (its timer does not keep the process alive).
 *
 * The window is "since the previous scrape": each `/metrics` reads the largest delay and the
 * 99th percentile seen since the scrape before it, then resets the histogram. Two scrapers
 * (Prometheus and a benchmark, say) therefore split the windows between them. The first timer
 * interval after a reset is not measured (node's monitor takes a fresh baseline), so a reader
 * that wants a window should let ~20 ms pass after its opening scrape.
 *
 * The monitor records the time between two of its timer's callbacks, the 10 ms interval
 * included; the delay reported is that time less the interval (an idle loop reads ~0), at
 * least 0. With no sample since the last scrape (a scrape right after another) both read 0.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"

/** The monitor's timer interval, in milliseconds. */
export const RESOLUTION_MS = 10

let monitor: ReturnType<typeof monitorEventLoopDelay> | undefined

/** Starts the process's monitor if it is not running yet. */
export const start = (): void => {
  if (monitor !== undefined) return
  monitor = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
  monitor.enable()
}

export interface Window {
  /** The largest delay since the previous read, in seconds. */
  readonly maxSeconds: number
  /** The 99th percentile of the delays since the previous read, in seconds. */
  readonly p99Seconds: number
}

const delaySeconds = (ns: number): number => Math.max(0, ns / 1e9 - RESOLUTION_MS / 1000)

/** The delays since the previous read, then a fresh window. */
export const readAndReset = (): Window => {
  start()
  const m = monitor!
  const window = m.count === 0
    ? { maxSeconds: 0, p99Seconds: 0 }
    : { maxSeconds: delaySeconds(m.max), p99Seconds: delaySeconds(m.percentile(99)) }
  m.reset()
  return window
}
