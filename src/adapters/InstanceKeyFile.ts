/**
 * The instance key kept in a file (`instance.key` in the data directory): read when it
 * exists, created with a fresh ed25519 key (mode 0600, written to a temporary file and
 * renamed, so a crash never leaves half a key) when it does not. A file that exists but
 * does not decode is an error, never silently replaced: every event the instance signed
 * names that key.
 */
import { Data, Effect, Layer, Schema } from "effect"
import { KeyFile, generateKey } from "../domain/Keys.ts"
import { InstanceKey } from "../ports/InstanceKey.ts"
import { readIfExists, writeSecret } from "./SecretFile.ts"

/** The key file exists but cannot be read or decoded, or cannot be created. */
export class InstanceKeyError extends Data.TaggedError("InstanceKeyError")<{
  readonly path: string
  readonly reason: string
}> {}

const decode = Schema.decodeUnknownResult(Schema.fromJsonString(KeyFile))

/** Read the key at `path`, creating it when the file does not exist. */
export const loadOrCreate = (path: string): Effect.Effect<KeyFile, InstanceKeyError> =>
  Effect.try({
    try: () => {
      const text = readIfExists(path)
      if (text === undefined) {
        const key = generateKey("ed25519")
        writeSecret(path, `${JSON.stringify(key)}\n`)
        return key
      }
      const decoded = decode(text)
      if (decoded._tag === "Failure") throw new Error(`not a key file: ${String(decoded.failure)}`)
      return decoded.success
    },
    catch: (e) => new InstanceKeyError({ path, reason: e instanceof Error ? e.message : String(e) })
  })

/**
 * The public key of the instance key at `path` without creating it: none when the file does
 * not exist (a data directory the service never ran in has no instance events either).
 */
export const readPublicKey = (path: string): Effect.Effect<string | undefined, InstanceKeyError> =>
  Effect.try({
    try: () => {
      const text = readIfExists(path)
      if (text === undefined) return undefined
      const decoded = decode(text)
      if (decoded._tag === "Failure") throw new Error(`not a key file: ${String(decoded.failure)}`)
      return decoded.success.publicKey
    },
    catch: (e) => new InstanceKeyError({ path, reason: e instanceof Error ? e.message : String(e) })
  })

/** The instance key from a file, created on first use. */
export const layer = (path: string) => Layer.effect(InstanceKey, loadOrCreate(path))

/** A given key (tests). */
export const layerKey = (key: KeyFile) => Layer.succeed(InstanceKey, key)
