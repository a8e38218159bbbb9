/**
 * Small files holding a secret the instance must keep across restarts (its signing key, the
 * local beacon's key): read when present, written once, atomically (a temporary file renamed
 * into place, so a crash never leaves half a key) and readable by the owner only. A file its
 * group or others may open is refused when read: the secret may already be out, and the
 * operator decides, not the server.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { Data } from "effect"

/** A key file whose mode grants its group or others any permission. */
export class KeyFileModeError extends Data.TaggedError("KeyFileModeError")<{
  readonly path: string
  readonly mode: number
}> {
  override get message() {
    return `${this.path} has mode ${this.mode.toString(8).padStart(4, "0")}, open to its group or others; a key file must be its owner's only: chmod 600 ${this.path}`
  }
}

/**
 * The file's text, or undefined when it does not exist. Throws KeyFileModeError when the
 * file's mode grants its group or others anything (checked on the open file, so the file
 * checked is the file read); any other failure throws as it is.
 */
export const readIfExists = (path: string): string | undefined => {
  let fd: number
  try {
    fd = openSync(path, "r")
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
  try {
    const mode = fstatSync(fd).mode & 0o777
    if ((mode & 0o077) !== 0) throw new KeyFileModeError({ path, mode })
    return readFileSync(fd, "utf8")
  } finally {
    closeSync(fd)
  }
}

/** Write `text` to `path` with mode 0600, creating the directory (0700); atomic by rename. */
export const writeSecret = (path: string, text: string): void => {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, text, { mode: 0o600 })
  renameSync(tmp, path)
}
