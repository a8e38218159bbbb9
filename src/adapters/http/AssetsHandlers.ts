/**
 * Handlers of the assets group (AssetsApi.ts): resolution and the registry's listing read the
 * assets projection and call the pure resolver; a denom path is computed; a registration
 * calls AssetRegistration, which decides and publishes. Each failure is translated into the
 * contract's typed error. Without Author in context (a core that cannot publish) a
 * registration is answered 503.
 */
import { Effect, Option, Result } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { denomPathProblem } from "../../domain/assets/AssetMessages.ts"
import { type AssetResolutionError, resolveAssetReference } from "../../domain/assets/AssetResolver.ts"
import { ibcDenom, parseIbcDenomPath } from "../../domain/ibc/IbcDenom.ts"
import type { Rejection } from "../../domain/Rejection.ts"
import type { CausalLogError } from "../../ports/CausalLog.ts"
import { mappingsOf, registryOfState } from "../../projections/Assets/Assets.ts"
import { Projections } from "../../projections/ProjectionRunner.ts"
import { AssetsView } from "../../projections/Views.ts"
import { type NotAssetAuthority as NotLeading, registerMappings } from "../../services/AssetRegistration.ts"
import { Author } from "../../services/Author.ts"
import { Api } from "./Api.ts"
import { AmbiguousAsset, InvalidAssetReference, MappingNotPublished, NoRoute, NotAssetAuthority, UnknownAsset } from "./AssetsApi.ts"

/** A resolver failure as the contract's error. */
const resolutionError = (e: AssetResolutionError) => {
  switch (e._tag) {
    case "InvalidAssetReference":
      return new InvalidAssetReference({ reason: e.reason, field: e.field })
    case "UnknownAsset":
      return new UnknownAsset({ reason: e.reason, chain: e.chain, asset: e.asset })
    case "NoRoute":
      return new NoRoute({ reason: e.reason, canonical: e.canonical, target: e.target })
    case "AmbiguousAsset":
      return new AmbiguousAsset({ reason: e.reason, candidates: e.candidates })
  }
}

const notPublished = (reason: string) => new MappingNotPublished({ reason })

/** A registration's failure as the contract's error; a rejection of the instance's own message is a bug unless it says who may decide. */
const registrationError = (e: NotLeading | Rejection | CausalLogError): Effect.Effect<never, NotAssetAuthority | MappingNotPublished> => {
  switch (e._tag) {
    case "NotAssetAuthority":
      return Effect.fail(new NotAssetAuthority({ reason: e.reason, leader: e.leader }))
    case "NotAuthorized":
      return Effect.fail(new NotAssetAuthority({ reason: `${e.reason}: this instance is not a member of the cluster`, leader: null }))
    case "CausalLogError":
      return Effect.fail(notPublished(`the log's storage failed during ${e.operation}; nothing was registered; retry later`))
    default:
      return Effect.die(e)
  }
}

/** The assets group's handlers, over the assets view and the runner (and Author when there is one). */
export const layer = HttpApiBuilder.group(Api, "assets", (handlers) =>
  Effect.gen(function*() {
    const assets = yield* AssetsView
    const runner = yield* Projections
    const author = yield* Effect.serviceOption(Author)
    const register = Option.isSome(author) ? registerMappings({ author: author.value, runner, assets }) : undefined

    return handlers
      .handle("resolve", ({ query }) =>
        Effect.gen(function*() {
          const { offset, state } = yield* assets.current
          const resolved = resolveAssetReference(registryOfState(state), query.source, query.target, query.asset, { provider: query.provider })
          if (Result.isFailure(resolved)) return yield* resolutionError(resolved.failure)
          const r = resolved.success
          return {
            source: query.source,
            target: query.target,
            asset: query.asset,
            canonical: r.canonical,
            caip19: `${r.canonical.chain}/${r.canonical.id}`,
            path: r.path,
            provider: r.provider,
            localDenomOrAddress: r.localDenomOrAddress,
            offset
          }
        }))
      .handle("ibcDenom", ({ query }) => {
        const problem = denomPathProblem(query.path)
        if (problem !== undefined) return Effect.fail(new InvalidAssetReference({ reason: problem, field: "path" }))
        const { base, trace } = parseIbcDenomPath(query.path)
        return Effect.succeed({ path: query.path, ibcDenom: ibcDenom(query.path), base, trace })
      })
      .handle("mappings", ({ query }) =>
        Effect.map(assets.current, ({ offset, state }) => ({
          mappings: mappingsOf(state)
            .filter((e) => query.chain === undefined || e.mapping.chain === query.chain)
            .map((e) => ({ ...e.mapping, messageId: e.id, messageOffset: e.offset })),
          offset
        })))
      .handle("register", ({ payload }) =>
        register === undefined
          ? Effect.fail(notPublished("this server has no instance author: it cannot publish mappings"))
          : register(payload).pipe(
            Effect.map((r) => ({ id: r.id, offset: r.offset, lamport: r.lamport, mappings: payload.mappings.length })),
            Effect.catch(registrationError)
          ))
  }))
