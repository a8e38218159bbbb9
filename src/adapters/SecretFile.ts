/**
 * Small files holding a secret the instance must keep across restarts (its signing key, the
 * local beacon's key): read when present, written once, atomically (a temporary file renamed
 * into place, so a crash never leaves half a key) and readable by the owner only.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"

/** The file's text, or undefined when it does not exist (any other failure throws). */
export const readIfExists = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}

/** Write `text` to `path` with mode 0600, creating the directory; atomic by rename. */
export const writeSecret = (path: string, text: string): void => {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, text, { mode: 0o600 })
  renameSync(tmp, path)
}
