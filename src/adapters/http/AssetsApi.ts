/**
 * The assets group of the HTTP contract: cross-chain asset resolution over the registry the
 * deployment's authority keeps in the log (src/domain/assets/AssetResolver.ts states the
 * rules), ICS-20 denoms computed from their paths, and the registry itself: register mappings
 * (an AssetMappingRegistered the instance publishes) and list them. Handlers:
 * AssetsHandlers.ts.
 */
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { AssetMappingRegistered, MAX_MAPPINGS, MAX_PATH_LENGTH } from "../../domain/assets/AssetMessages.ts"
import { NeedsAssetsScope, DecodesInput, NeedsLog, ReadsJsonBody } from "./EdgeApi.ts"

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/** A chain, an asset or a denom path that cannot name anything; `field` says which. */
export class InvalidAssetReference extends Schema.TaggedError<InvalidAssetReference>()("InvalidAssetReference", {
  reason: Schema.String,
  field: Schema.Literals(["source", "target", "asset", "path"])
}, { httpApiStatus: 400 }) {}

/** The asset cannot be identified: an ibc/ hash with no registered path, a multi-hop path whose origin nobody registered. */
export class UnknownAsset extends Schema.TaggedError<UnknownAsset>()("UnknownAsset", {
  reason: Schema.String,
  chain: Schema.String,
  asset: Schema.String
}, { httpApiStatus: 404 }) {}

const CanonicalView = Schema.Struct({
  chain: Schema.String.annotate({ description: "the CAIP-2 chain the asset is native to" }),
  id: Schema.String.annotate({ description: "its CAIP-19 asset type there (erc20:0x…, slip44:118, denom:…)" })
}).annotate({ identifier: "CanonicalAsset" })

/** The asset is known, but the registry names it nowhere on the target (or not by the provider asked for). */
export class NoRoute extends Schema.TaggedError<NoRoute>()("NoRoute", {
  reason: Schema.String,
  canonical: CanonicalView,
  target: Schema.String
}, { httpApiStatus: 404 }) {}

const MappingView = Schema.Struct({
  canonical: CanonicalView,
  chain: Schema.String,
  local: Schema.String,
  provider: Schema.String,
  path: Schema.optionalKey(Schema.String)
}).annotate({ identifier: "AssetMappingView" })

/** Several assets, or several names of one asset on the target, fit; `candidates` lists them (narrow with `provider`). */
export class AmbiguousAsset extends Schema.TaggedError<AmbiguousAsset>()("AmbiguousAsset", {
  reason: Schema.String,
  candidates: Schema.Array(MappingView)
}, { httpApiStatus: 409 }) {}

/** This instance may not register mappings now: in a cluster, only the current leader's count. */
export class NotAssetAuthority extends Schema.TaggedError<NotAssetAuthority>()("NotAssetAuthority", {
  reason: Schema.String,
  leader: Schema.NullOr(Schema.String).annotate({ description: "the leader now, whose instance registers mappings (null: none)" })
}, { httpApiStatus: 409 }) {}

/** The instance could not append its message to the log; retrying later may succeed. */
export class MappingNotPublished extends Schema.TaggedError<MappingNotPublished>()("MappingNotPublished", {
  reason: Schema.String
}, { httpApiStatus: 503 }) {}

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------

// Loose on purpose: the resolver judges them and says which one is wrong (InvalidAssetReference).
const ChainParam = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(64))
const AssetParam = Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(MAX_PATH_LENGTH))

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

/** One hop of a path: a port and an IBC v1 channel, or a port and an IBC v2 client. */
export const HopView = Schema.Union([
  Schema.Struct({ port: Schema.String, channel: Schema.String }).annotate({ identifier: "AssetChannelHop" }),
  Schema.Struct({ port: Schema.String, client: Schema.String }).annotate({ identifier: "AssetClientHop" })
], { mode: "oneOf" }).annotate({ identifier: "AssetHop" })

/** An asset resolved onto the target chain. */
export const ResolvedAssetView = Schema.Struct({
  source: Schema.String,
  target: Schema.String,
  asset: Schema.String.annotate({ description: "the asset as asked" }),
  canonical: CanonicalView,
  caip19: Schema.String.annotate({ description: "the canonical asset as one CAIP-19 id: chain/id" }),
  path: Schema.Array(HopView).annotate({ description: "the IBC hops of the target's name for it, most recent first (empty: not an IBC voucher there)" }),
  provider: Schema.String.annotate({ description: "who makes it exist on the target: native, ibc, axelar, …" }),
  localDenomOrAddress: Schema.String.annotate({ description: "its denom or address on the target" }),
  offset: Schema.Finite.annotate({ description: "log records folded into the registry this answer read" })
}).annotate({ identifier: "ResolvedAsset" })
export type ResolvedAssetView = typeof ResolvedAssetView.Type

/** A denom path's ICS-20 denom, base and trace. */
export const IbcDenomView = Schema.Struct({
  path: Schema.String,
  ibcDenom: Schema.String.annotate({ description: "ibc/ + uppercase hex SHA-256 of the path; the path itself when it has no hop" }),
  base: Schema.String,
  trace: Schema.Array(Schema.Struct({ portId: Schema.String, channelId: Schema.String.annotate({ description: "a channel-N, or an IBC v2 client id" }) }).annotate({ identifier: "IbcDenomHop" }))
}).annotate({ identifier: "IbcDenom" })
export type IbcDenomView = typeof IbcDenomView.Type

/** The receipt of a registration. */
export const MappingsRegistered = Schema.Struct({
  id: Schema.String.annotate({ description: "the AssetMappingRegistered message's id" }),
  offset: Schema.Finite,
  lamport: Schema.Finite,
  mappings: Schema.Finite.annotate({ description: "how many mappings it registered" })
}).annotate({ identifier: "AssetMappingsRegistered" })

/** A mapping in force and the message that registered it. */
export const MappingEntryView = Schema.Struct({
  ...MappingView.fields,
  messageId: Schema.String.annotate({ description: "the AssetMappingRegistered message that registered it" }),
  messageOffset: Schema.Finite
}).annotate({ identifier: "AssetMapping" })

/** The registry. */
export const MappingsView = Schema.Struct({
  mappings: Schema.Array(MappingEntryView),
  offset: Schema.Finite.annotate({ description: "log records folded into this answer" })
}).annotate({ identifier: "AssetMappings" })

/** Body of POST /v1/assets/mappings: the AssetMappingRegistered payload. */
export const RegisterMappingsRequest = AssetMappingRegistered.annotate({
  identifier: "RegisterAssetMappings",
  description: `1 to ${MAX_MAPPINGS} mappings; a mapping with a path must hash to its local denom (ibcDenom(path) = local), an ibc/ local denom needs its path, and a chain-local asset is named once`
})

// ---------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------

/** Cross-chain asset resolution and the asset registry. */
export const AssetsGroup = HttpApiGroup.make("assets")
  .add(
    HttpApiEndpoint.get("resolve", "/v1/assets/resolve", {
      query: {
        source: ChainParam.annotate({ description: "the CAIP-2 chain the asset is named on (eip155:1, cosmos:cosmoshub-4)" }),
        target: ChainParam.annotate({ description: "the CAIP-2 chain to name it on" }),
        asset: AssetParam.annotate({ description: "a denom or address on the source, an ibc/HASH denom, or a full ICS-20 path port/channel/…/base (its trace on the target)" }),
        provider: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(32)).annotate({ description: "only the target's names this provider makes" }))
      },
      success: ResolvedAssetView,
      error: [InvalidAssetReference, UnknownAsset, NoRoute, AmbiguousAsset]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "resolveAsset")
      .annotate(OpenApi.Summary, "Resolve an asset from one chain onto another")
      .annotate(
        OpenApi.Description,
        "The canonical asset (CAIP-19) of an asset named on the source chain, and its denom or address, IBC hops and provider on the target. A full ICS-20 path is computed, never looked up: it is the asset's trace on the target, its denom there ibc/ + SHA-256 of the path. An ibc/HASH resolves only through a registered mapping naming its path. Other assets resolve through the registry (POST /v1/assets/mappings), or as native to their chain. 400 InvalidAssetReference (which field), 404 UnknownAsset or NoRoute, 409 AmbiguousAsset (narrow with provider)."
      ),
    HttpApiEndpoint.get("ibcDenom", "/v1/assets/ibc-denom", {
      query: { path: AssetParam.annotate({ description: "a full ICS-20 denom path port/channel/…/base (hops: channel-N or IBC v2 client ids)" }) },
      success: IbcDenomView,
      error: [InvalidAssetReference]
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "computeIbcDenom")
      .annotate(OpenApi.Summary, "The ICS-20 denom of a denom path")
      .annotate(
        OpenApi.Description,
        "Split a full denom path into its trace and base as ibc-go does, and compute its denom: ibc/ + uppercase hex SHA-256 of the path (the base keeps its exact bytes: a checksummed EVM address gives another denom than its lowercase form); a path with no hop is its own denom. 400 InvalidAssetReference for a path with no base, a bad port, more than 16 hops, or an ibc/ hash as the base."
      ),
    HttpApiEndpoint.get("mappings", "/v1/assets/mappings", {
      query: { chain: Schema.optionalKey(ChainParam.annotate({ description: "only the mappings of assets on this CAIP-2 chain" })) },
      success: MappingsView
    })
      .middleware(DecodesInput)
      .annotate(OpenApi.Identifier, "listAssetMappings")
      .annotate(OpenApi.Summary, "List the asset registry")
      .annotate(OpenApi.Description, "The mappings in force, sorted by chain and local name, each with the AssetMappingRegistered message that registered it: only the authority's (the instance, or the cluster's leader at that point of the log) count; a later mapping of a chain-local asset replaces the earlier."),
    HttpApiEndpoint.post("register", "/v1/assets/mappings", {
      payload: RegisterMappingsRequest,
      success: MappingsRegistered.pipe(HttpApiSchema.status(201)),
      error: [NotAssetAuthority, MappingNotPublished]
    })
      .middleware(DecodesInput)
      .middleware(ReadsJsonBody)
      .middleware(NeedsAssetsScope)
      .annotate(OpenApi.Identifier, "registerAssetMappings")
      .annotate(OpenApi.Summary, "Register asset mappings")
      .annotate(
        OpenApi.Description,
        "Publish the mappings as the instance (an AssetMappingRegistered decision in the log) and answer 201 with its receipt once the registry has folded it. 400 for mappings that do not check (a path that does not hash to its local denom, a CAIP id that is not one), 409 NotAssetAuthority when this instance does not lead the cluster, 503 when the log cannot take the message."
      )
  )
  .middleware(NeedsLog)
  .annotate(OpenApi.Description, "Cross-chain asset resolution: ICS-20 denoms computed from their paths, and the registry of non-IBC mappings (ERC-20s on several chains, bridge-wrapped assets, token pools) the deployment's authority keeps in the log.")
