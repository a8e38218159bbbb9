/**
 * A commitment's salt file, kept by `order commit` for `order reveal`: `<dir>/<commitmentId>.json`
 * holding `{commitmentId, sender, order, salt, url}`. The salt is the one thing that opens the
 * commitment: lost, the commitment cannot be revealed and expires (charging its sender expiry
 * debt); read by someone else, it discloses the order before the seal. So the file is written
 * with mode 0600 in a directory created 0700, never over an existing file, and flushed to disk
 * before the commitment is sent.
 */
import { join } from "node:path"
import { Effect, FileSystem, Schema } from "effect"
import { Bytes32, UserOrder } from "../domain/mempool/MempoolMessages.ts"
import { MessageId } from "../domain/Primitives.ts"
import { CommandFailed, UsageError } from "./CliErrors.ts"

/** Where salt files go unless --salt-dir says otherwise (relative to the current directory). */
export const DEFAULT_SALT_DIR = join(".causeway", "commitments")

/** A salt file's content. */
export const SaltFile = Schema.Struct({
  commitmentId: MessageId,
  /** The committing key's public key (hex). */
  sender: Schema.String,
  order: UserOrder,
  salt: Bytes32,
  /** The server the commitment was sent to. */
  url: Schema.String
})
export type SaltFile = typeof SaltFile.Type

const decodeSaltFile = Schema.decodeUnknownEffect(Schema.fromJsonString(SaltFile))

/** The salt file of a commitment. */
export const saltPath = (dir: string, commitmentId: string): string => join(dir, `${commitmentId}.json`)

/** Write a salt file (refusing to overwrite one) and flush it and its directory entry to disk. */
export const writeSaltFile = (dir: string, content: SaltFile): Effect.Effect<string, CommandFailed, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = saltPath(dir, content.commitmentId)
    const failed = (what: string) => (e: { readonly message: string }) => new CommandFailed({ message: `cannot ${what}: ${e.message}` })
    yield* fs.makeDirectory(dir, { recursive: true, mode: 0o700 }).pipe(Effect.mapError(failed(`create the salt directory ${dir}`)))
    yield* Effect.scoped(
      Effect.gen(function*() {
        // "wx": create or fail if it exists, atomically.
        const file = yield* fs.open(path, { flag: "wx", mode: 0o600 }).pipe(
          Effect.mapError((e) =>
            e.reason._tag === "AlreadyExists"
              ? new CommandFailed({ message: `${path} already exists; not overwriting it` })
              : failed(`write ${path}`)(e)
          )
        )
        yield* file.writeAll(new TextEncoder().encode(`${JSON.stringify(content, null, 2)}\n`)).pipe(Effect.mapError(failed(`write ${path}`)))
        yield* file.sync.pipe(Effect.mapError(failed(`flush ${path}`)))
      })
    )
    yield* Effect.scoped(
      Effect.flatMap(fs.open(dir, { flag: "r" }), (d) => d.sync).pipe(Effect.mapError(failed(`flush the salt directory ${dir}`)))
    )
    return path
  })

/** Read and check the salt file of `commitmentId` (a missing or malformed one is a usage error). */
export const readSaltFile = (dir: string, commitmentId: string): Effect.Effect<SaltFile, UsageError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = saltPath(dir, commitmentId)
    const text = yield* fs.readFileString(path).pipe(
      Effect.mapError((e) =>
        new UsageError({
          message: e.reason._tag === "NotFound"
            ? `no salt file for commitment ${commitmentId} (${path}); pass the --salt-dir it was committed with`
            : `cannot read ${path}: ${e.message}`
        })
      )
    )
    const salt = yield* decodeSaltFile(text).pipe(
      Effect.mapError((e) => new UsageError({ message: `${path} is not a salt file: ${e.message.replace(/\s*\n\s*/g, " ")}` }))
    )
    if (salt.commitmentId !== commitmentId) {
      return yield* new UsageError({ message: `${path} is the salt file of commitment ${salt.commitmentId}, not ${commitmentId}` })
    }
    return salt
  })

/** Delete a salt file that has served its purpose. */
export const removeSaltFile = (dir: string, commitmentId: string): Effect.Effect<void, CommandFailed, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = saltPath(dir, commitmentId)
    yield* fs.remove(path).pipe(Effect.mapError((e) => new CommandFailed({ message: `cannot delete ${path}: ${e.message}` })))
  })
