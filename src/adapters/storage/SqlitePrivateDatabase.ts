/**
 * A SQLite database opened read-write with its files its owner's only, whatever the process
 * umask: the directory is created 0700 and the database file 0600 before SQLite opens it, and
 * SQLite gives the -wal and -shm files it makes beside a database the database file's mode.
 * An existing file keeps its mode (DataDirectory tightens those of the data directory).
 */
import { closeSync, mkdirSync, openSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync } from "node:sqlite"

/** Open (creating it 0600, in a 0700 directory, if missing) the database at `path`; ":memory:" as SQLite does. */
export const open = (path: string): DatabaseSync => {
  if (path !== ":memory:") {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    // "a" creates the file when missing and changes nothing when it exists.
    closeSync(openSync(path, "a", 0o600))
  }
  return new DatabaseSync(path)
}
