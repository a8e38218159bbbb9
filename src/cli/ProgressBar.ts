/**
 * A one-line progress bar on stderr for long folds (`replay`): offset/end, percent and rate.
 * Drawn only when stderr is a terminal, so piped or captured output never contains it.
 */

/** The bar's text for `offset` of `end` records after `elapsedMs` (pure, for tests). */
export const renderProgress = (offset: number, end: number, elapsedMs: number, width = 30): string => {
  const fraction = end <= 0 ? 1 : Math.min(1, offset / end)
  const filled = Math.round(fraction * width)
  const rate = elapsedMs <= 0 ? 0 : (offset * 1000) / elapsedMs
  return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${offset}/${end} ${(fraction * 100).toFixed(1)}% ${formatRate(rate)} records/s`
}

/** 950, 12.3k, 4.56M. */
export const formatRate = (perSecond: number): string =>
  perSecond >= 1e6 ? `${(perSecond / 1e6).toFixed(2)}M` : perSecond >= 1e4 ? `${(perSecond / 1e3).toFixed(1)}k` : `${Math.round(perSecond)}`

/** A progress reporter: `update` redraws at most every `intervalMs`; `done` clears the line. */
export interface Progress {
  readonly update: (offset: number, end: number) => void
  readonly done: () => void
}

const silent: Progress = { update: () => {}, done: () => {} }

/** A bar on `stream` if it is a terminal, else a reporter that prints nothing. */
export const progressOn = (stream: NodeJS.WriteStream, intervalMs = 100): Progress => {
  if (!stream.isTTY) return silent
  const start = performance.now()
  let last = -Infinity
  let drawn = false
  return {
    update: (offset, end) => {
      const now = performance.now()
      if (now - last < intervalMs && offset < end) return
      last = now
      drawn = true
      stream.write(`\r${renderProgress(offset, end, now - start, Math.max(10, Math.min(40, (stream.columns ?? 80) - 50)))}\x1b[K`)
    },
    done: () => {
      if (drawn) stream.write("\r\x1b[K")
    }
  }
}
