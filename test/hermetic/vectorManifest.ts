/**
 * The manifest of test/vectors: `SHA256SUMS` in sha256sum's format (`<hex>  <path>`, paths
 * relative to the folder, sorted by code point), covering every file but itself. A copy of
 * third-party data is only worth its source if nothing changed it on the way: the check
 * compares the folder with the recorded hashes and names what was altered, added or removed.
 */
import { createHash } from "node:crypto"
import { existsSync, lstatSync, readFileSync, readdirSync } from "node:fs"
import path from "node:path"

/** The manifest's file name, at the top of the folder it describes. */
export const MANIFEST = "SHA256SUMS"

/** What differs between a folder and its manifest; all empty when they match. */
export interface ManifestCheck {
  /** Files whose bytes no longer hash to the recorded hash. */
  readonly altered: ReadonlyArray<string>
  /** Files present but not recorded. */
  readonly added: ReadonlyArray<string>
  /** Files recorded but missing. */
  readonly removed: ReadonlyArray<string>
  /** Entries that are not regular files (a symlink could point anywhere), or manifest lines that do not parse. */
  readonly invalid: ReadonlyArray<string>
}

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Every file under `dir` but the manifest, as sorted `/`-separated relative paths; non-regular entries go to `invalid`. */
const filesUnder = (dir: string): { readonly files: Array<string>; readonly invalid: Array<string> } => {
  const files: Array<string> = []
  const invalid: Array<string> = []
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const name = relative === "" ? entry.name : `${relative}/${entry.name}`
      if (entry.isDirectory()) walk(name)
      else if (entry.isFile()) {
        if (name !== MANIFEST) files.push(name)
      } else invalid.push(`${name}: not a regular file`)
    }
  }
  walk("")
  return { files: files.sort(byCodePoint), invalid }
}

const sha256 = (file: string): string => createHash("sha256").update(readFileSync(file)).digest("hex")

/** The manifest text `dir` should have: one line per file, sorted, as `sha256sum` prints it. */
export const manifestOf = (dir: string): string => {
  const { files, invalid } = filesUnder(dir)
  if (invalid.length > 0) throw new Error(`${dir}: ${invalid.join("; ")}`)
  return files.map((name) => `${sha256(path.join(dir, name))}  ${name}\n`).join("")
}

/** Compares `dir` with its recorded manifest. */
export const checkManifest = (dir: string): ManifestCheck => {
  const manifest = path.join(dir, MANIFEST)
  const { files, invalid } = filesUnder(dir)
  if (!existsSync(manifest) || !lstatSync(manifest).isFile()) {
    return { altered: [], added: files, removed: [], invalid: [...invalid, `${MANIFEST}: missing`] }
  }
  const recorded = new Map<string, string>()
  readFileSync(manifest, "utf8")
    .split("\n")
    .forEach((line, index) => {
      if (line === "") return
      const [, hash, name] = /^([0-9a-f]{64}) {2}(.+)$/.exec(line) ?? []
      if (hash === undefined || name === undefined || recorded.has(name)) invalid.push(`${MANIFEST} line ${index + 1}: ${JSON.stringify(line)}`)
      else recorded.set(name, hash)
    })
  const present = new Set(files)
  return {
    altered: files.filter((name) => recorded.has(name) && recorded.get(name) !== sha256(path.join(dir, name))),
    added: files.filter((name) => !recorded.has(name)),
    removed: [...recorded.keys()].filter((name) => !present.has(name)).sort(byCodePoint),
    invalid
  }
}
