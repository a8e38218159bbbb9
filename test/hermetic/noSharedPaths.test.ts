/**
 * No source of the project names the folder next to the repository where vectors arrive:
 * tests read test/vectors. The runtime guard (outsideReadGuard.ts) does not reach the child
 * processes tests spawn, nor benches and scripts; this scan of their sources does, and names
 * each file and line that mentions the arrival folder, in code or in a comment.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import path from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const root = path.resolve(import.meta.dirname, "../..")

// `../shared`, `..\shared`, `shared/vectors`, and the path split into pieces ("..", "shared").
const MENTION = /\.\.[\\/]+shared\b|\bshared[\\/]+vectors\b|["'`]\.\.["'`]\s*,\s*["'`]shared["'`]/

/** The folders and top-level files scanned: sources, benches, infrastructure, and what runs the tests. */
const SCANNED = ["src", "test", "bench", "infra", ".ci", "package.json", "vitest.config.ts"]

/** Files allowed to name the arrival folder, each with its reason. */
const ALLOWED: ReadonlyMap<string, string> = new Map([
  ["test/hermetic/syncVectors.ts", "copies the arrival folder into test/vectors; run by hand (npm run vectors:sync), never by a test"],
  [path.relative(root, import.meta.filename).split(path.sep).join("/"), "holds the pattern, and the samples that prove it fires"]
])

/** Not scanned: dependencies, and third-party data whose COPY.md names where it came from. */
const SKIPPED = new Set(["node_modules", ".git", "test/vectors"])

/** Every `file:line: text` under `base`'s `entries` that mentions the arrival folder, outside `allowed`. */
const mentionsOfShared = (base: string, entries: ReadonlyArray<string>, allowed: ReadonlySet<string>): Array<string> => {
  const found: Array<string> = []
  const scan = (relative: string): void => {
    if (SKIPPED.has(relative) || SKIPPED.has(path.basename(relative)) || allowed.has(relative)) return
    const absolute = path.join(base, relative)
    const stats = statSync(absolute, { throwIfNoEntry: false })
    if (stats === undefined) return
    if (stats.isDirectory()) {
      for (const entry of readdirSync(absolute).sort()) scan(`${relative}/${entry}`)
      return
    }
    const bytes = readFileSync(absolute)
    if (bytes.includes(0)) return // binary (a built launcher, say)
    bytes.toString("utf8").split("\n").forEach((line, index) => {
      if (MENTION.test(line)) found.push(`${relative}:${index + 1}: ${line.trim()}`)
    })
  }
  for (const entry of entries) scan(entry)
  return found
}

const temps: Array<string> = []
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

describe("no source names the folder where vectors arrive", () => {
  it("in src, test, bench, infra, .ci, package.json or vitest.config.ts", () => {
    expect(mentionsOfShared(root, SCANNED, new Set(ALLOWED.keys()))).toStrictEqual([])
  })

  it("the scan names the file and line of each form, and leaves allowed files, other words and binaries alone", () => {
    const base = mkdtempSync(path.join(tmpdir(), "causeway-scan-"))
    temps.push(base)
    mkdirSync(path.join(base, "test", "deep"), { recursive: true })
    mkdirSync(path.join(base, "bench"))
    mkdirSync(path.join(base, "node_modules"))
    writeFileSync(path.join(base, "test", "a.ts"), 'import x from "y"\nconst dir = path.resolve(process.cwd(), "../shared/vectors/ics23")\n')
    writeFileSync(path.join(base, "test", "deep", "b.ts"), 'const dir = new URL("../../../shared/vectors/drand-tlock/", import.meta.url)\n')
    writeFileSync(path.join(base, "bench", "c.ts"), '// a shared log, shared state\nconst v = path.join(root, "..", "shared", "vectors")\n')
    writeFileSync(path.join(base, "bench", "d.ts"), 'const w = "C:\\\\work\\\\..\\\\shared\\\\x"\n')
    writeFileSync(path.join(base, "bench", "allowed.ts"), 'const source = "../shared/vectors"\n')
    writeFileSync(path.join(base, "bench", "binary"), Buffer.from("\u0000../shared/vectors"))
    writeFileSync(path.join(base, "node_modules", "e.js"), '"../shared/vectors"\n')

    expect(mentionsOfShared(base, ["test", "bench", "node_modules", "missing"], new Set(["bench/allowed.ts"]))).toStrictEqual([
      'test/a.ts:2: const dir = path.resolve(process.cwd(), "../shared/vectors/ics23")',
      'test/deep/b.ts:1: const dir = new URL("../../../shared/vectors/drand-tlock/", import.meta.url)',
      'bench/c.ts:2: const v = path.join(root, "..", "shared", "vectors")',
      'bench/d.ts:1: const w = "C:\\\\work\\\\..\\\\shared\\\\x"'
    ])
  })
})
