/**
 * Bearer-token authentication of the HTTP API (docs/security.md): the token store the server
 * checks against, the scope middlewares the contract puts on operations that change state or
 * cost the instance work (EdgeApi.ts), and, with private reads, a token for every read.
 */
import { Context, Effect, Layer, Redacted, Result } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { authorize, identify, type Scope, type TokenStore } from "../../domain/auth/ApiTokens.ts"
import { DASHBOARD_PATHS } from "./Dashboard.ts"
import { Caller, Forbidden, NeedsAdminScope, NeedsAssetsScope, NeedsChainsScope, NeedsEffectsScope, NeedsProofsScope, Unauthorized } from "./EdgeApi.ts"

/** What the server authenticates against. */
export interface ApiAuthConfig {
  /** The tokens' hashes, names and scopes. */
  readonly store: TokenStore
  /** Every read but /healthz and /readyz needs a token too (any scope). */
  readonly privateReads: boolean
}

/** The server's token store and read policy. */
export class ApiAuth extends Context.Service<ApiAuth, ApiAuthConfig>()("causeway/http/ApiAuth") {}

/**
 * Reads answered without a token even when reads are private: liveness and readiness probes,
 * and the dashboard's page, script and style sheet (no data: the page reads the API with the
 * token the user gives it).
 */
const ALWAYS_PUBLIC: ReadonlySet<string> = new Set(["/healthz", "/readyz", ...DASHBOARD_PATHS])

/** The credential of an `Authorization: Bearer` header ("" when there is none). */
export const bearerOf = (authorization: string | undefined): string => {
  if (authorization === undefined) return ""
  const m = /^Bearer[ ]+(\S+)\s*$/iu.exec(authorization)
  return m?.[1] ?? ""
}

/** The caller a credential names, if its token has `scope`. */
const check = (config: ApiAuthConfig, credential: string, scope: Scope): Effect.Effect<Caller["Service"], Unauthorized | Forbidden> => {
  const decided = authorize(config.store, credential, scope)
  if (Result.isSuccess(decided)) return Effect.succeed({ token: decided.success.name })
  const e = decided.failure
  return e._tag === "TokenMissing" ? Effect.fail(new Unauthorized({ reason: e.reason })) : Effect.fail(new Forbidden({ reason: e.reason, scope: e.scope }))
}

/** A scope middleware: the request goes on, with its Caller, only if its token has `scope`. */
const needs = (config: ApiAuthConfig, scope: Scope) => ({
  bearer: <A, E, R>(httpEffect: Effect.Effect<A, E, R>, { credential }: { readonly credential: Redacted.Redacted<string> }) =>
    Effect.flatMap(check(config, Redacted.value(credential), scope), (caller) => Effect.provideService(httpEffect, Caller, caller))
})

/** The scope middlewares, over the ApiAuth service. */
export const middlewares = Layer.unwrap(Effect.map(ApiAuth, (config) =>
  Layer.mergeAll(
    Layer.succeed(NeedsChainsScope, needs(config, "chains")),
    Layer.succeed(NeedsEffectsScope, needs(config, "effects")),
    Layer.succeed(NeedsAssetsScope, needs(config, "assets")),
    Layer.succeed(NeedsProofsScope, needs(config, "proofs")),
    Layer.succeed(NeedsAdminScope, needs(config, "admin"))
  )))

/**
 * Router middleware: with private reads, a GET (or HEAD) of anything but the probes needs a
 * known token of any scope; answered 401 otherwise. Operations with a scope check their own.
 */
export const privateReads = HttpRouter.middleware(
  (app) =>
    Effect.gen(function*() {
      const config = yield* ApiAuth
      if (!config.privateReads) return yield* app
      const request = yield* HttpServerRequest.HttpServerRequest
      if (request.method !== "GET" && request.method !== "HEAD") return yield* app
      const q = request.url.search(/[?#]/u)
      const path = q === -1 ? request.url : request.url.slice(0, q)
      if (ALWAYS_PUBLIC.has(path)) return yield* app
      const found = identify(config.store, bearerOf(request.headers.authorization))
      if (Result.isSuccess(found)) return yield* app
      const body = new Unauthorized({ reason: `reads are private on this server: ${found.failure.reason}` })
      return HttpServerResponse.jsonUnsafe({ _tag: body._tag, reason: body.reason }, { status: 401 })
    }),
  { global: true }
)

/** No token at all: every operation with a scope is refused (embedders that serve only public operations). */
export const layerClosed = Layer.succeed(ApiAuth, { store: { entries: [] }, privateReads: false })
