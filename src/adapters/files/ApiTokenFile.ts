/**
 * Where the server's API tokens come from (docs/security.md):
 *
 * - `--api-tokens FILE` (env API_TOKENS_FILE): a JSON file of named, scoped token hashes
 *   (`causeway token create` writes it). Read at start; a file that does not parse stops the
 *   start with the reason.
 * - Otherwise one admin token of the data directory, `DATA_DIR/api-token` (mode 0600),
 *   created at first start: the CLI on the same machine reads it there, so the Quick start
 *   needs no setup. Its path is logged, never the token.
 */
import { randomBytes } from "node:crypto"
import { Data, Effect, Layer, Result } from "effect"
import { join } from "node:path"
import { hashToken, parseTokenFile, tokenStore, tokenText, type TokenStore } from "../../domain/auth/ApiTokens.ts"
import { InstanceKey } from "../../ports/InstanceKey.ts"
import { ApiAuth } from "../http/ApiAuth.ts"
import { KeyFileModeError, readIfExists, writeSecret } from "./SecretFile.ts"

/** The file name of the data directory's admin token. */
export const ADMIN_TOKEN_FILE = "api-token"

/** The data directory's admin token file. */
export const adminTokenPath = (dataDir: string): string => join(dataDir, ADMIN_TOKEN_FILE)

/** The tokens cannot be read: the reason names the file. */
export class ApiTokensError extends Data.TaggedError("ApiTokensError")<{ readonly path: string; readonly reason: string }> {
  override get message() {
    return `API tokens: ${this.path}: ${this.reason}`
  }
}

const onFile = <A>(path: string, f: () => A): Effect.Effect<A, ApiTokensError | KeyFileModeError> =>
  Effect.try({ try: f, catch: (e) => (e instanceof KeyFileModeError ? e : new ApiTokensError({ path, reason: e instanceof Error ? e.message : String(e) })) })

/** The tokens of a token file. */
export const loadTokenFile = Effect.fn("ApiTokenFile.loadTokenFile")(function*(path: string) {
  const text = yield* Effect.try({ try: () => readIfExists(path), catch: (e) => new ApiTokensError({ path, reason: e instanceof Error ? e.message : String(e) }) })
  if (text === undefined) return yield* new ApiTokensError({ path, reason: "no such file (create it with `causeway token create --api-tokens FILE`)" })
  const parsed = parseTokenFile(text)
  if (Result.isFailure(parsed)) return yield* new ApiTokensError({ path, reason: parsed.failure.reason })
  return tokenStore(parsed.success)
})

/** The data directory's admin token (its text), created (0600) when it does not exist. */
export const loadOrCreateAdminToken = Effect.fn("ApiTokenFile.loadOrCreateAdminToken")(function*(dataDir: string) {
  const path = adminTokenPath(dataDir)
  const text = yield* onFile(path, () => readIfExists(path))
  if (text !== undefined) {
    const token = text.trim()
    if (!/^cw_[A-Za-z0-9_-]{43}$/u.test(token)) return yield* new ApiTokensError({ path, reason: "not a causeway token; remove it and restart to create a new one" })
    return { token, path, created: false }
  }
  const token = tokenText(new Uint8Array(randomBytes(32)))
  yield* onFile(path, () => writeSecret(path, `${token}\n`))
  return { token, path, created: true }
})

/** The token store of the data directory's admin token alone. */
export const adminStore = (token: string): TokenStore =>
  tokenStore({ tokens: [{ name: "admin", sha256: hashToken(token), scopes: ["admin"] }] })

/** Where the server's tokens come from. */
export interface ApiTokensConfig {
  readonly dataDir: string
  /** A token file; without one, the data directory's admin token. */
  readonly tokensFile?: string | undefined
  readonly privateReads: boolean
}

/** The ApiAuth service from a token file, or from the data directory's admin token (created at first start). */
export const layer = (config: ApiTokensConfig) =>
  Layer.effect(
    ApiAuth,
    Effect.gen(function*() {
      // Only once the instance holds its data directory (locked, private; its key read): a
      // refused start creates nothing there.
      yield* InstanceKey
      if (config.tokensFile !== undefined) {
        const store = yield* loadTokenFile(config.tokensFile)
        yield* Effect.logInfo("API tokens read").pipe(Effect.annotateLogs({ path: config.tokensFile, tokens: store.entries.length, privateReads: config.privateReads }))
        return { store, privateReads: config.privateReads }
      }
      const admin = yield* loadOrCreateAdminToken(config.dataDir)
      yield* Effect.logInfo(admin.created ? "API admin token created" : "API admin token read").pipe(
        Effect.annotateLogs({ path: admin.path, privateReads: config.privateReads })
      )
      return { store: adminStore(admin.token), privateReads: config.privateReads }
    })
  )
