/** Summary statistics and number formatting the benchmarks share. */

/** The median of a non-empty list. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** A rate rounded and grouped, e.g. 12,345. */
export const fmt = (x: number): string => Math.round(x).toLocaleString("en-US")

/** Median, min, max and every value of a list of rates. */
export const spread = (xs: ReadonlyArray<number>): string =>
  `median ${fmt(median(xs))}/s  min ${fmt(Math.min(...xs))}  max ${fmt(Math.max(...xs))}  (${xs.map(fmt).join(", ")})`
