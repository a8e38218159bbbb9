/**
 * The instance key kept in a file (`instance.key` in the data directory): read when it
 * exists, created with a fresh ed25519 key (mode 0600, written to a temporary file and
 * renamed, so a crash never leaves half a key) when it does not. A file that exists but
 * does not decode is an error, never silently replaced: every event the instance signed
 * names that key. For the same reason a missing key is not created beside data it may have
 * signed (`dataFiles`), and a key file its group or others may open is refused.
 */
import { statSync } from "node:fs"
import { Data, Effect, Layer, Schema } from "effect"
import { KeyFile, generateKey } from "../../domain/Keys.ts"
import { InstanceKey } from "../../ports/InstanceKey.ts"
import { KeyFileModeError, readIfExists, writeSecret } from "./SecretFile.ts"

/** The key file exists but cannot be read or decoded, or cannot be created. */
export class InstanceKeyError extends Data.TaggedError("InstanceKeyError")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `${this.path}: ${this.reason}`
  }
}

/** The key file is missing, but files beside it hold data a key signed: a new key would be another instance. */
export class InstanceKeyMissingError extends Data.TaggedError("InstanceKeyMissingError")<{
  readonly path: string
  /** The files found holding data. */
  readonly found: ReadonlyArray<string>
}> {
  override get message() {
    return `the instance key ${this.path} is missing, but ${this.found.join(", ")} already ${this.found.length === 1 ? "exists" : "exist"}: data written under that key. ` +
      `A new key is not created (it would be another instance): restore ${this.path} (mode 0600) from a backup, or start with an empty data directory`
  }
}

/** How `loadOrCreate` may create a missing key. */
export interface LoadOptions {
  /**
   * Files where data signed by the key would be (the log, snapshots, their write-ahead logs):
   * when any exists and is not empty, a missing key is an InstanceKeyMissingError instead of
   * being created. An empty file holds nothing signed.
   */
  readonly dataFiles?: ReadonlyArray<string>
}

const decode = Schema.decodeUnknownResult(Schema.fromJsonString(KeyFile))

/** A file-system step on the key at `path`; a refused key file's mode fails as itself. */
const onFile = <A>(path: string, f: () => A): Effect.Effect<A, InstanceKeyError | KeyFileModeError> =>
  Effect.try({
    try: f,
    catch: (e) => e instanceof KeyFileModeError ? e : new InstanceKeyError({ path, reason: e instanceof Error ? e.message : String(e) })
  })

const holdsData = (path: string): boolean => (statSync(path, { throwIfNoEntry: false })?.size ?? 0) > 0

const decodeKey = (path: string, text: string): Effect.Effect<KeyFile, InstanceKeyError> => {
  const decoded = decode(text)
  return decoded._tag === "Failure"
    ? Effect.fail(new InstanceKeyError({ path, reason: `not a key file: ${String(decoded.failure)}` }))
    : Effect.succeed(decoded.success)
}

/** Read the key at `path`, creating it when the file does not exist and no data file holds data. */
export const loadOrCreate = Effect.fn("InstanceKeyFile.loadOrCreate")(function*(path: string, options: LoadOptions = {}) {
  const text = yield* onFile(path, () => readIfExists(path))
  if (text !== undefined) return yield* decodeKey(path, text)
  const found = yield* onFile(path, () => (options.dataFiles ?? []).filter(holdsData))
  if (found.length > 0) return yield* new InstanceKeyMissingError({ path, found })
  const key = generateKey("ed25519")
  yield* onFile(path, () => writeSecret(path, `${JSON.stringify(key)}\n`))
  return key
})

/**
 * The public key of the instance key at `path` without creating it: none when the file does
 * not exist (a data directory the service never ran in has no instance events either).
 */
export const readPublicKey = (path: string): Effect.Effect<string | undefined, InstanceKeyError | KeyFileModeError> =>
  onFile(path, () => readIfExists(path)).pipe(
    Effect.flatMap((text) => text === undefined ? Effect.succeed(undefined) : Effect.map(decodeKey(path, text), (key) => key.publicKey))
  )

/** The instance key from a file, created on first use. */
export const layer = (path: string) => Layer.effect(InstanceKey, loadOrCreate(path))

/** The instance key from a file, created on first use unless `options.dataFiles` hold data. */
export const layerWith = (options: LoadOptions & { readonly path: string }) => Layer.effect(InstanceKey, loadOrCreate(options.path, options))

/** A given key (tests). */
export const layerKey = (key: KeyFile) => Layer.succeed(InstanceKey, key)
