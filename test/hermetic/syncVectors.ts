/**
 * `npm run vectors:sync [-- <folder>]`: copies the folder where new third-party vectors arrive
 * (../shared/vectors, next to the repository, unless a folder is given) over test/vectors byte
 * for byte, removes the files it no longer has, and rewrites SHA256SUMS, and COPY.md with the
 * date when anything changed. Run by hand when vectors arrive, never by a test: this is the one
 * file in the repository that names the arrival folder (test/hermetic/noSharedPaths.test.ts
 * allows it and nothing else).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs"
import path from "node:path"
import { MANIFEST, manifestOf } from "./vectorManifest.ts"

/** The note written next to the copy: where it came from, when, and how to refresh it. */
export const COPY_NOTE = "COPY.md"

// Files of the copy that the project writes, not the source. `* -text` keeps git from
// rewriting line endings on checkout (core.autocrlf), which would break the recorded hashes.
const GITATTRIBUTES = ".gitattributes"
const OWN_FILES: ReadonlySet<string> = new Set([MANIFEST, COPY_NOTE, GITATTRIBUTES])

/** What one sync did. */
export interface SyncResult {
  readonly written: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
}

const copyNote = (sourceName: string, date: string): string => `# This copy

The folders and README.md here are a byte-for-byte copy of \`${sourceName}\`, the folder
where new third-party vectors arrive, taken on ${date}, so that a clone runs its vector tests
on its own. Keep every README.txt: they name each folder's source, commit and licence.

\`SHA256SUMS\` records the hash of every file here but itself;
\`test/hermetic/vectorManifest.test.ts\` fails if one is altered, added or removed.

To refresh after new vectors arrive: \`npm run vectors:sync\` (or \`npm run vectors:sync --
<folder>\`) copies the folder over this one, removes what it no longer has, and rewrites
\`SHA256SUMS\` and this note. Then run the vector tests and commit the result.
`

/** Regular files under `dir`, as sorted `/`-separated relative paths; anything else is refused. */
const filesUnder = (dir: string): Array<string> =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .flatMap((entry) => {
      const name = path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join("/")
      if (entry.isDirectory()) return []
      if (!entry.isFile()) throw new Error(`${path.join(dir, name)}: not a regular file`)
      return [name]
    })
    .sort()

const removeEmptyFolders = (dir: string): void => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue
    const sub = path.join(dir, entry.name)
    removeEmptyFolders(sub)
    if (readdirSync(sub).length === 0) rmdirSync(sub)
  }
}

/** Makes `target` a copy of `source` plus the project's own files; `sourceName` is how the note names the source. */
export const syncVectors = (options: { readonly source: string; readonly target: string; readonly sourceName: string; readonly date: string }): SyncResult => {
  const { source, target } = options
  if (!statSync(source, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${source}: no such folder`)
  const sourceFiles = filesUnder(source)
  const clashes = sourceFiles.filter((name) => OWN_FILES.has(name))
  if (clashes.length > 0) throw new Error(`${source} holds ${clashes.join(", ")}, which the copy writes itself`)
  if (sourceFiles.length === 0) throw new Error(`${source} holds no files`)

  mkdirSync(target, { recursive: true })
  const wanted = new Set(sourceFiles)
  const removed = filesUnder(target).filter((name) => !wanted.has(name) && !OWN_FILES.has(name))
  for (const name of removed) rmSync(path.join(target, name))
  removeEmptyFolders(target)

  const written: Array<string> = []
  for (const name of sourceFiles) {
    const bytes = readFileSync(path.join(source, name))
    const to = path.join(target, name)
    if (existsSync(to) && readFileSync(to).equals(bytes)) continue
    mkdirSync(path.dirname(to), { recursive: true })
    writeFileSync(to, bytes)
    written.push(name)
  }
  const note = path.join(target, COPY_NOTE)
  if (written.length > 0 || removed.length > 0 || !existsSync(note)) writeFileSync(note, copyNote(options.sourceName, options.date))
  writeFileSync(path.join(target, GITATTRIBUTES), "* -text\n")
  writeFileSync(path.join(target, MANIFEST), manifestOf(target))
  return { written, removed }
}

if (import.meta.main) {
  const root = path.resolve(import.meta.dirname, "../..")
  const source = path.resolve(process.argv[2] ?? path.join(root, "../shared/vectors"))
  const target = path.join(root, "test", "vectors")
  const result = syncVectors({ source, target, sourceName: path.relative(root, source), date: new Date().toISOString().slice(0, 10) })
  console.log(`${path.relative(root, target)}: ${result.written.length} file(s) written, ${result.removed.length} removed, ${MANIFEST} rewritten`)
  for (const name of result.written) console.log(`  written ${name}`)
  for (const name of result.removed) console.log(`  removed ${name}`)
}
