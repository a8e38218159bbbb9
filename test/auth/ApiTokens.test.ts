/**
 * API tokens (src/domain/auth/ApiTokens.ts) and their files (src/adapters/files/ApiTokenFile.ts):
 * the file's shape, scopes (admin covers all), constant-time identification, and the data
 * directory's admin token created once with mode 0600.
 */
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { adminStore, loadOrCreateAdminToken, loadTokenFile } from "../../src/adapters/files/ApiTokenFile.ts"
import { authorize, hashToken, identify, parseTokenFile, tokenStore, tokenText } from "../../src/domain/auth/ApiTokens.ts"

const token = (fill: number) => tokenText(new Uint8Array(32).fill(fill))

describe("API tokens", () => {
  it("a token is cw_ and the base64url of 32 bytes; the file keeps its SHA-256", () => {
    expect(token(0)).toBe(`cw_${"A".repeat(43)}`)
    expect(token(255)).toBe(`cw_${"_".repeat(42)}8`)
    // SHA-256("abc"), FIPS 180-2's example.
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    expect(() => tokenText(new Uint8Array(31))).toThrow(RangeError)
  })

  it("parses the token file: JSON of the documented shape, known scopes, unique names", () => {
    const ok = parseTokenFile(JSON.stringify({ tokens: [{ name: "relayer-1", sha256: hashToken(token(1)), scopes: ["chains", "effects"] }] }))
    expect(Result.isSuccess(ok) && ok.success.tokens[0]?.scopes).toEqual(["chains", "effects"])
    const bad = [
      "{",
      JSON.stringify({}),
      JSON.stringify({ tokens: [{ name: "x", sha256: "00", scopes: ["admin"] }] }),
      JSON.stringify({ tokens: [{ name: "x", sha256: hashToken("a"), scopes: ["root"] }] }),
      JSON.stringify({ tokens: [{ name: "x", sha256: hashToken("a"), scopes: [] }] }),
      JSON.stringify({ tokens: [{ name: "has space", sha256: hashToken("a"), scopes: ["admin"] }] }),
      JSON.stringify({ tokens: [{ name: "x", sha256: hashToken("a"), scopes: ["admin"] }, { name: "x", sha256: hashToken("b"), scopes: ["chains"] }] })
    ]
    for (const text of bad) {
      const r = parseTokenFile(text)
      expect(Result.isFailure(r), text).toBe(true)
      if (Result.isFailure(r)) expect([r.failure._tag, r.failure.reason.length > 0]).toEqual(["TokenFileInvalid", true])
    }
  })

  it("a token may carry an admission budget, and with one needs no scope", () => {
    const budget = { perSecond: 5000, burst: 10000 }
    const ok = parseTokenFile(JSON.stringify({ tokens: [{ name: "relayer", sha256: hashToken(token(2)), scopes: [], budget }] }))
    expect(Result.isSuccess(ok) && ok.success.tokens[0]?.budget).toEqual(budget)
    for (const wrong of [{ perSecond: 0, burst: 1 }, { perSecond: 1.5, burst: 1 }, { perSecond: 1 }, { perSecond: 1, burst: 2e9 }]) {
      const text = JSON.stringify({ tokens: [{ name: "relayer", sha256: hashToken(token(2)), scopes: ["chains"], budget: wrong }] })
      expect(Result.isFailure(parseTokenFile(text)), text).toBe(true)
    }
  })

  it("authorizes by scope: admin covers every scope; an unknown or malformed token is missing, a known one without the scope is refused", () => {
    const store = tokenStore({
      tokens: [
        { name: "ops", sha256: hashToken(token(1)), scopes: ["admin"] },
        { name: "watcher", sha256: hashToken(token(2)), scopes: ["effects"] }
      ]
    })
    for (const scope of ["chains", "effects", "assets", "admin"] as const) expect(Result.isSuccess(authorize(store, token(1), scope))).toBe(true)
    expect(Result.isSuccess(authorize(store, token(2), "effects"))).toBe(true)
    const refused = authorize(store, token(2), "chains")
    expect(Result.isFailure(refused) && refused.failure).toMatchObject({ _tag: "ScopeMissing", token: "watcher", scope: "chains" })
    for (const presented of ["", token(3), "cw_short", token(1) + "x", token(1).toUpperCase()]) {
      const r = identify(store, presented)
      expect(Result.isFailure(r) && r.failure._tag, presented).toBe("TokenMissing")
    }
    // A store with no token refuses everything.
    expect(Result.isFailure(authorize(tokenStore({ tokens: [] }), token(1), "effects"))).toBe(true)
  })

  it.effect("the data directory's admin token is created once, mode 0600, and read back the same", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "causeway-token-"))
      const first = yield* loadOrCreateAdminToken(dir)
      expect(first.created).toBe(true)
      expect(statSync(first.path).mode & 0o777).toBe(0o600)
      expect(readFileSync(first.path, "utf8").trim()).toBe(first.token)
      const again = yield* loadOrCreateAdminToken(dir)
      expect([again.created, again.token]).toEqual([false, first.token])
      expect(Result.isSuccess(authorize(adminStore(first.token), first.token, "chains"))).toBe(true)
      // Garbage in the file is an error, never silently replaced.
      writeFileSync(first.path, "hunter2\n", { mode: 0o600 })
      const garbage = yield* Effect.flip(loadOrCreateAdminToken(dir))
      expect(garbage._tag).toBe("ApiTokensError")
      // A token file open to others is refused (it names who may act).
      writeFileSync(first.path, `${first.token}\n`)
      chmodSync(first.path, 0o644)
      const open = yield* Effect.flip(loadOrCreateAdminToken(dir))
      expect(open._tag).toBe("KeyFileModeError")
    }))

  it.effect("a token file that is missing or does not parse is an error naming the file", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "causeway-token-"))
      const missing = yield* Effect.flip(loadTokenFile(join(dir, "none.json")))
      expect(missing.message).toContain("none.json")
      const path = join(dir, "tokens.json")
      writeFileSync(path, JSON.stringify({ tokens: [{ name: "a", sha256: "zz", scopes: ["admin"] }] }), { mode: 0o600 })
      const invalid = yield* Effect.flip(loadTokenFile(path))
      expect(invalid._tag).toBe("ApiTokensError")
      writeFileSync(path, JSON.stringify({ tokens: [{ name: "a", sha256: hashToken(token(9)), scopes: ["effects"] }] }), { mode: 0o600 })
      const store = yield* loadTokenFile(path)
      expect(Result.isSuccess(authorize(store, token(9), "effects"))).toBe(true)
    }))
})
