/**
 * API tokens: who may call the endpoints that change state or cost the instance work
 * (docs/security.md). A token is a random secret; the server keeps only its SHA-256, with a
 * name and scopes. A presented token is hashed and compared against every entry in constant
 * time, so neither a token nor a near miss shows in the answer's timing.
 *
 * Pure: the token file's text and the random bytes of a new token arrive as inputs.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { Data, Result, Schema } from "effect"
import * as Base64Url from "effect/encoding/Base64Url"
import { TokenName } from "../Primitives.ts"

/** What a token may do. `admin` may do everything; any token may read when reads are private. */
export const Scope = Schema.Literals(["chains", "effects", "assets", "proofs", "admin"])
export type Scope = typeof Scope.Type

/** The scopes, for messages and flags. */
export const SCOPES: ReadonlyArray<Scope> = Scope.literals


/** A positive whole number of messages, at most a billion. */
const Count = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1_000_000_000 }))

/**
 * A token's own admission budget for `POST /v1/messages` (a relayer submitting for many
 * users): its messages are counted against it rather than against the client's address.
 */
export const TokenBudget = Schema.Struct({
  perSecond: Count.annotate({ description: "messages per second, sustained" }),
  burst: Count.annotate({ description: "messages at once (the bucket's size)" })
}).annotate({ identifier: "ApiTokenBudget" })
export type TokenBudget = typeof TokenBudget.Type

/** One entry of the token file: the token's name, the SHA-256 of its text (lowercase hex), its scopes and optionally its budget. */
export const TokenEntry = Schema.Struct({
  name: TokenName,
  sha256: Schema.String.check(Schema.isPattern(/^[0-9a-f]{64}$/u)),
  // No scope: the token only carries a budget (parseTokenFile requires one then).
  scopes: Schema.Array(Scope).check(Schema.isMaxLength(8)),
  budget: Schema.optionalKey(TokenBudget)
}).annotate({ identifier: "ApiTokenEntry" })
export type TokenEntry = typeof TokenEntry.Type

/** Most tokens in one file. */
export const MAX_TOKENS = 1024

/** The token file (`--api-tokens FILE`): `{"tokens": [...]}`, names unique. */
export const TokenFile = Schema.Struct({
  tokens: Schema.Array(TokenEntry).check(Schema.isMaxLength(MAX_TOKENS))
}).annotate({ identifier: "ApiTokenFile" })
export type TokenFile = typeof TokenFile.Type

/** The token file could not be read as one. */
export class TokenFileInvalid extends Data.TaggedError("TokenFileInvalid")<{ readonly reason: string }> {}

/** No token, or one that is not known. */
export class TokenMissing extends Data.TaggedError("TokenMissing")<{ readonly reason: string }> {}

/** A known token without the scope the operation needs. */
export class ScopeMissing extends Data.TaggedError("ScopeMissing")<{ readonly reason: string; readonly token: string; readonly scope: Scope }> {}

/** The length of a token's text: `cw_` and 43 base64url characters (32 random bytes). */
const TOKEN_TEXT = /^cw_[A-Za-z0-9_-]{43}$/u

const decodeFile = Schema.decodeUnknownResult(TokenFile)

/** The SHA-256 of a token's text, as the token file stores it. */
export const hashToken = (token: string): string => bytesToHex(sha256(utf8ToBytes(token)))

/** A token's text from 32 random bytes: `cw_` + base64url, no padding. */
export const tokenText = (random: Uint8Array): string => {
  if (random.length !== 32) throw new RangeError("a token takes 32 random bytes")
  return `cw_${Base64Url.encode(random)}`
}

/** The token file's text as entries: valid JSON of the documented shape, names unique. */
export const parseTokenFile = (text: string): Result.Result<TokenFile, TokenFileInvalid> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Result.fail(new TokenFileInvalid({ reason: `not JSON: ${e instanceof Error ? e.message : String(e)}` }))
  }
  const decoded = decodeFile(json)
  if (Result.isFailure(decoded)) return Result.fail(new TokenFileInvalid({ reason: decoded.failure.message.replace(/\s*\n\s*/gu, " ").slice(0, 500) }))
  const names = new Set<string>()
  for (const t of decoded.success.tokens) {
    if (names.has(t.name)) return Result.fail(new TokenFileInvalid({ reason: `the name ${JSON.stringify(t.name)} is used twice` }))
    if (t.scopes.length === 0 && t.budget === undefined) return Result.fail(new TokenFileInvalid({ reason: `the token ${JSON.stringify(t.name)} has neither a scope nor a budget` }))
    names.add(t.name)
  }
  return Result.succeed(decoded.success)
}

/** Equal in time independent of where two equal-length byte strings differ. */
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  let diff = a.length ^ b.length
  for (let i = 0; i < a.length && i < b.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}

/** Tokens as the server checks them: each entry's hash as bytes. */
export interface TokenStore {
  readonly entries: ReadonlyArray<{ readonly entry: TokenEntry; readonly hash: Uint8Array }>
}

/** The store of a token file's entries. */
export const tokenStore = (file: TokenFile): TokenStore => ({
  entries: file.tokens.map((entry) => ({ entry, hash: hexToBytes(entry.sha256) }))
})

/**
 * The entry a presented token names: every entry is compared (in constant time each), so the
 * time does not tell which entry matched or how close a guess came. A token that is not of
 * the issued form is refused without hashing.
 */
export const identify = (store: TokenStore, presented: string): Result.Result<TokenEntry, TokenMissing> => {
  if (presented === "") return Result.fail(new TokenMissing({ reason: "this operation needs a token: send Authorization: Bearer <token>" }))
  if (!TOKEN_TEXT.test(presented)) return Result.fail(new TokenMissing({ reason: "the bearer token is not a causeway token (cw_ and 43 base64url characters)" }))
  const digest = sha256(utf8ToBytes(presented))
  let found: TokenEntry | undefined
  for (const { entry, hash } of store.entries) if (sameBytes(hash, digest) && found === undefined) found = entry
  return found === undefined ? Result.fail(new TokenMissing({ reason: "the bearer token is not known to this server" })) : Result.succeed(found)
}

/** Whether a token's scopes allow an operation of `scope`. */
export const allows = (entry: TokenEntry, scope: Scope): boolean => entry.scopes.includes("admin") || entry.scopes.includes(scope)

/** The entry a presented token names, if it may do what `scope` covers. */
export const authorize = (store: TokenStore, presented: string, scope: Scope): Result.Result<TokenEntry, TokenMissing | ScopeMissing> => {
  const found = identify(store, presented)
  if (Result.isFailure(found)) return found
  const has = found.success.scopes.length === 0 ? "none" : found.success.scopes.join(", ")
  return allows(found.success, scope)
    ? found
    : Result.fail(new ScopeMissing({ reason: `the token ${JSON.stringify(found.success.name)} lacks the scope ${scope} (it has ${has})`, token: found.success.name, scope }))
}
