/** Prometheus text exposition (0.0.4), as much as the dashboard reads: samples with labels. */

/** One sample line. */
export interface MetricLine {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** The samples of a scrape (comments and malformed lines skipped). */
export const parseMetrics = (text: string): ReadonlyArray<MetricLine> => {
  const out: Array<MetricLine> = []
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue
    const m = LINE.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? "").matchAll(LABEL)) labels[l[1] ?? ""] = (l[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c))
    const value = Number(m[3])
    if (Number.isFinite(value)) out.push({ name: m[1] ?? "", labels, value })
  }
  return out
}

/** The sum of a metric's samples whose labels include `labels`. */
export const sum = (lines: ReadonlyArray<MetricLine>, name: string, labels: Readonly<Record<string, string>> = {}): number =>
  lines
    .filter((l) => l.name === name && Object.entries(labels).every(([k, v]) => l.labels[k] === v))
    .reduce((acc, l) => acc + l.value, 0)
