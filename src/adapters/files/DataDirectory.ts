/**
 * The data directory made private before anything is written to it: created with mode 0700;
 * an existing one that grants its group or others anything is tightened (their bits removed)
 * with a warning, and so is each database file named that exists (a data directory written
 * before these rules). A directory or file that cannot be tightened (another user owns it)
 * stops the start with the command that fixes it.
 */
import { chmodSync, mkdirSync, statSync } from "node:fs"
import { Data, Effect, Layer } from "effect"

/** The data directory cannot be created, is not a directory, or cannot be made private. */
export class DataDirectoryError extends Data.TaggedError("DataDirectoryError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `data directory: ${this.path}: ${this.reason}`
  }
}

const octal = (mode: number): string => mode.toString(8).padStart(4, "0")

const reasonOf = (e: unknown): string => e instanceof Error ? e.message : String(e)

/** The mode bits of `path`, or undefined when it does not exist. */
const modeOf = (path: string): Effect.Effect<number | undefined, DataDirectoryError> =>
  Effect.try({
    try: () => {
      const stat = statSync(path, { throwIfNoEntry: false })
      return stat === undefined ? undefined : stat.mode & 0o777
    },
    catch: (e) => new DataDirectoryError({ path, reason: reasonOf(e) })
  })

/** Remove the group and other bits of `path` (mode `mode`), logging a warning; nothing when there are none. */
const tighten = Effect.fn("DataDirectory.tighten")(function*(path: string, mode: number) {
  if ((mode & 0o077) === 0) return
  const owner = mode & 0o700
  yield* Effect.try({
    try: () => chmodSync(path, owner),
    catch: (e) =>
      new DataDirectoryError({
        path,
        reason: `mode ${octal(mode)} is open to its group or others and cannot be tightened (${reasonOf(e)}): chmod ${owner.toString(8)} ${path}`
      })
  })
  yield* Effect.logWarning(`data directory: ${path} had mode ${octal(mode)}, open to its group or others; tightened to ${octal(owner)}`)
})

/** Create `dir` with mode 0700 or tighten it, then tighten those of `files` that exist. */
export const prepare = Effect.fn("DataDirectory.prepare")(function*(dir: string, files: ReadonlyArray<string>) {
  const mode = yield* Effect.try({
    try: () => {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const stat = statSync(dir)
      if (!stat.isDirectory()) throw new Error("not a directory")
      return stat.mode & 0o777
    },
    catch: (e) => new DataDirectoryError({ path: dir, reason: reasonOf(e) })
  })
  yield* tighten(dir, mode)
  for (const file of files) {
    const fileMode = yield* modeOf(file)
    if (fileMode !== undefined) yield* tighten(file, fileMode)
  }
})

/** The data directory `dir` prepared when the layer is built (`files`: its database files). */
export const layer = (dir: string, files: ReadonlyArray<string>): Layer.Layer<never, DataDirectoryError> => Layer.effectDiscard(prepare(dir, files))
