/**
 * Cross-chain asset resolution: what an asset named on `sourceChain` is (its canonical
 * asset, CAIP-19 style) and how it is named on `targetChain` (its local denom or address,
 * the IBC hops of that name, the provider that makes it exist there). Pure: the registry
 * (the authority's AssetMappingRegistered decisions, src/projections/Assets) is an input.
 *
 * The rules, by the shape of `asset`:
 *
 * 1. **A full ICS-20 path** `port/channel/…/base` (at least one hop; a hop is a port and a
 *    `channel-N` or an IBC v2 client id): it is the asset's trace *on the target*, hops first
 *    as the target received it. Computed, never looked up: the local denom on the target is
 *    `ibcDenom(path)` and `path` is its hops. The canonical asset is the registered one of
 *    that voucher on the target if there is one; otherwise the base's on its origin: with one
 *    hop the origin is the source chain (the base as the source names it: registered, or
 *    taken as native there, rule 4); with several, the origin is the one chain where the
 *    registry names the base (none: UnknownAsset; several assets: AmbiguousAsset).
 * 2. **An `ibc/HASH` denom** (64 uppercase hex digits) on the source: a hash cannot be
 *    reversed, so it resolves only through a registered mapping on the source that names its
 *    full path (else UnknownAsset: give the full path instead, rule 1).
 * 3. **Any other denom or address** on the source: its registered mapping on the source, or,
 *    unregistered, the asset native to the source (rule 4).
 * 4. **Native, unregistered**: an EVM address on an `eip155:` chain is `erc20:<address,
 *    lowercased>`; any other denom is `denom:<denom, percent-encoded to CAIP-19's alphabet>`.
 *    Register a mapping to name it otherwise (`slip44:118` for uatom).
 *
 * Then, for rules 2 and 3, the asset on the target: the same chain gives the asset as
 * named; otherwise the registry's mappings of the canonical asset on the target (one:
 * that one; several: AmbiguousAsset, narrowed by `provider`; none: NoRoute), or, when the
 * target is the canonical asset's own chain, its native name (`erc20:` and `denom:` ids give
 * it back). An EVM address matches in any case on `eip155:` chains; IBC bases keep their
 * exact bytes, so a checksummed address base is another voucher than its lowercase form.
 */
import { Data, Result } from "effect"
import { type DenomHop, ibcDenom, isChannelId, parseIbcDenomPath } from "../ibc/IbcDenom.ts"
import {
  type AssetMapping,
  CAIP2_CHAIN_ID,
  type CanonicalAsset,
  canonicalKey,
  denomPathProblem,
  EVM_ADDRESS,
  localKey,
  MAX_LOCAL_LENGTH
} from "./AssetMessages.ts"

/** One hop of a path: a port and an IBC v1 channel, or a port and an IBC v2 client. */
export type AssetHop =
  | { readonly port: string; readonly channel: string }
  | { readonly port: string; readonly client: string }

/** An asset resolved onto the target chain. */
export interface ResolvedAsset {
  readonly canonical: CanonicalAsset
  /** The IBC hops of the target's name for it (empty: not an IBC voucher there). */
  readonly path: ReadonlyArray<AssetHop>
  readonly provider: string
  readonly localDenomOrAddress: string
}

/** The chain, the asset or a path is not of a shape that can name anything. */
export class InvalidAssetReference extends Data.TaggedError("InvalidAssetReference")<{
  readonly reason: string
  readonly field: "source" | "target" | "asset"
}> {}

/** The asset cannot be identified from what the registry and the asset's name say. */
export class UnknownAsset extends Data.TaggedError("UnknownAsset")<{
  readonly reason: string
  readonly chain: string
  readonly asset: string
}> {}

/** The asset is known, but nothing names it on the target chain. */
export class NoRoute extends Data.TaggedError("NoRoute")<{
  readonly reason: string
  readonly canonical: CanonicalAsset
  readonly target: string
}> {}

/** Several assets, or several names of one asset on the target, fit. */
export class AmbiguousAsset extends Data.TaggedError("AmbiguousAsset")<{
  readonly reason: string
  readonly candidates: ReadonlyArray<AssetMapping>
}> {}

/** Why an asset reference did not resolve. */
export type AssetResolutionError = InvalidAssetReference | UnknownAsset | NoRoute | AmbiguousAsset

/** The registry as the resolver reads it. */
export interface AssetRegistry {
  /** The mapping of a chain-local asset (an EVM address in any case on eip155 chains). */
  readonly local: (chain: string, local: string) => AssetMapping | undefined
  /** The mappings of a canonical asset on a chain, by local name. */
  readonly onChain: (canonical: CanonicalAsset, chain: string) => ReadonlyArray<AssetMapping>
  /** The mappings without a path whose local name is `local`, on any chain. */
  readonly named: (local: string) => ReadonlyArray<AssetMapping>
}

const byLocalName = (a: AssetMapping, b: AssetMapping): number => {
  const x = localKey(a.chain, a.local)
  const y = localKey(b.chain, b.local)
  return x < y ? -1 : x > y ? 1 : 0
}

/** The registry of a list of mappings, in log order (a later mapping of a chain-local asset replaces the earlier). */
export const registryOf = (mappings: Iterable<AssetMapping>): AssetRegistry => {
  const byLocal = new Map<string, AssetMapping>()
  for (const m of mappings) byLocal.set(localKey(m.chain, m.local), m)
  const byCanonical = new Map<string, Array<AssetMapping>>()
  const byName = new Map<string, Array<AssetMapping>>()
  const add = (index: Map<string, Array<AssetMapping>>, key: string, m: AssetMapping) => {
    const list = index.get(key)
    if (list === undefined) index.set(key, [m])
    else list.push(m)
  }
  for (const m of byLocal.values()) {
    add(byCanonical, `${canonicalKey(m.canonical)}\u0000${m.chain}`, m)
    if (m.path === undefined) add(byName, EVM_ADDRESS.test(m.local) ? m.local.toLowerCase() : m.local, m)
  }
  return {
    local: (chain, local) => byLocal.get(localKey(chain, local)),
    onChain: (canonical, chain) => [...(byCanonical.get(`${canonicalKey(canonical)}\u0000${chain}`) ?? [])].sort(byLocalName),
    named: (local) => [...(byName.get(EVM_ADDRESS.test(local) ? local.toLowerCase() : local) ?? [])].sort(byLocalName)
  }
}

/** Options of a resolution. */
export interface ResolveOptions {
  /** Only the target's names this provider makes. */
  readonly provider?: string | undefined
}

const IBC_HASH = /^ibc\/[0-9A-F]{64}$/u

/** A hop of a parsed trace in the resolver's shape: a channel id is a v1 channel, any other id a v2 client. */
export const hopOf = (h: DenomHop): AssetHop => (isChannelId(h.channelId) ? { port: h.portId, channel: h.channelId } : { port: h.portId, client: h.channelId })

const hopsOf = (path: string | undefined): ReadonlyArray<AssetHop> => (path === undefined ? [] : parseIbcDenomPath(path).trace.map(hopOf))

// CAIP-19's asset reference alphabet is [-.%a-zA-Z0-9]; anything else is percent-encoded (UTF-8).
const encodeReference = (text: string): string =>
  [...new TextEncoder().encode(text)]
    .map((b) => {
      const c = String.fromCharCode(b)
      return /[-.a-zA-Z0-9]/u.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, "0")}`
    })
    .join("")

/** The canonical asset of an unregistered denom or address native to `chain` (rule 4), or undefined when it cannot be named (too long). */
export const nativeAsset = (chain: string, local: string): CanonicalAsset | undefined => {
  if (chain.startsWith("eip155:") && EVM_ADDRESS.test(local)) return { chain, id: `erc20:${local.toLowerCase()}` }
  const reference = encodeReference(local)
  return reference.length <= 128 ? { chain, id: `denom:${reference}` } : undefined
}

/** A canonical asset's name on its own chain when its id carries it (`erc20:`, `denom:`). */
const nativeName = (c: CanonicalAsset): string | undefined => {
  const colon = c.id.indexOf(":")
  const namespace = c.id.slice(0, colon)
  const reference = c.id.slice(colon + 1)
  if (namespace === "erc20" && EVM_ADDRESS.test(reference)) return reference
  if (namespace !== "denom") return undefined
  try {
    return decodeURIComponent(reference)
  } catch {
    return undefined
  }
}

const named = (c: CanonicalAsset): string => `${c.chain}/${c.id}`

/** How the target names a canonical asset (rules 2 and 3, after the source). */
const onTarget = (
  registry: AssetRegistry,
  canonical: CanonicalAsset,
  target: string,
  options: ResolveOptions
): Result.Result<ResolvedAsset, AssetResolutionError> => {
  const all = registry.onChain(canonical, target)
  const fitting = options.provider === undefined ? all : all.filter((m) => m.provider === options.provider)
  const [only, ...rest] = fitting
  if (only !== undefined && rest.length === 0) {
    return Result.succeed({ canonical, path: hopsOf(only.path), provider: only.provider, localDenomOrAddress: only.local })
  }
  if (only !== undefined) {
    return Result.fail(
      new AmbiguousAsset({
        reason: `${named(canonical)} has ${fitting.length} names on ${target} (${fitting.map((m) => `${m.local} by ${m.provider}`).join(", ")}); choose one with provider`,
        candidates: fitting
      })
    )
  }
  const native = canonical.chain === target && all.length === 0 && (options.provider === undefined || options.provider === "native")
    ? nativeName(canonical)
    : undefined
  if (native !== undefined) return Result.succeed({ canonical, path: [], provider: "native", localDenomOrAddress: native })
  const why = all.length > 0
    ? `no name of ${named(canonical)} on ${target} is made by provider ${JSON.stringify(options.provider)} (providers: ${[...new Set(all.map((m) => m.provider))].join(", ")})`
    : canonical.chain === target
    ? `${named(canonical)}'s id does not carry its name on ${target}: register its native mapping`
    : `the registry names ${named(canonical)} nowhere on ${target}`
  return Result.fail(new NoRoute({ reason: why, canonical, target }))
}

const chainProblem = (chain: string, field: "source" | "target"): InvalidAssetReference | undefined =>
  CAIP2_CHAIN_ID.test(chain)
    ? undefined
    : (new InvalidAssetReference({ reason: `${field} ${JSON.stringify(chain.slice(0, 80))} is not a CAIP-2 chain id (namespace:reference, e.g. eip155:1, cosmos:cosmoshub-4)`, field }))

/** Rule 1: a full path, its trace on the target. */
const fromPath = (registry: AssetRegistry, source: string, target: string, path: string, options: ResolveOptions): Result.Result<ResolvedAsset, AssetResolutionError> => {
  const { base, trace } = parseIbcDenomPath(path)
  const local = ibcDenom(path)
  const hops = trace.map(hopOf)
  const registered = registry.local(target, local)
  let canonical: CanonicalAsset
  let provider = "ibc"
  if (registered !== undefined) {
    canonical = registered.canonical
    provider = registered.provider
  } else if (trace.length === 1) {
    const onSource = registry.local(source, base)
    const native = onSource?.canonical ?? nativeAsset(source, base)
    if (native === undefined) {
      return Result.fail(new UnknownAsset({ reason: `the base ${JSON.stringify(base.slice(0, 80))} is neither registered on ${source} nor nameable as a CAIP-19 reference (at most 128 characters encoded)`, chain: source, asset: path }))
    }
    canonical = native
  } else {
    const candidates = registry.named(base)
    const assets = new Map(candidates.map((m) => [canonicalKey(m.canonical), m.canonical] as const))
    const [only, ...rest] = [...assets.values()]
    if (only === undefined) {
      return Result.fail(new UnknownAsset({
        reason: `the origin of a ${trace.length}-hop path is not in it: register ${JSON.stringify(base.slice(0, 80))} on its origin chain, or the voucher ${local} on ${target} with its path`,
        chain: target,
        asset: path
      }))
    }
    if (rest.length > 0) {
      return Result.fail(new AmbiguousAsset({ reason: `the base ${JSON.stringify(base)} names ${assets.size} assets (${[...assets.values()].map(named).join(", ")}); register the voucher ${local} on ${target} with its path`, candidates }))
    }
    canonical = only
  }
  if (options.provider !== undefined && options.provider !== provider) {
    return Result.fail(new NoRoute({ reason: `the path's voucher on ${target} is made by ${provider}, not ${options.provider}`, canonical, target }))
  }
  return Result.succeed({ canonical, path: hops, provider, localDenomOrAddress: local })
}

/**
 * Resolve `asset` as named on `sourceChain` onto `targetChain` (the rules of this module's
 * doc): its canonical asset, and the target's local name, hops and provider for it; or why not.
 */
export const resolveAssetReference = (
  registry: AssetRegistry,
  sourceChain: string,
  targetChain: string,
  asset: string,
  options: ResolveOptions = {}
): Result.Result<ResolvedAsset, AssetResolutionError> => {
  const badChain = chainProblem(sourceChain, "source") ?? chainProblem(targetChain, "target")
  if (badChain !== undefined) return Result.fail(badChain)
  if (asset.startsWith("ibc/")) {
    if (!IBC_HASH.test(asset)) {
      return Result.fail(new InvalidAssetReference({ reason: "an ibc/ denom is ibc/ and 64 uppercase hex digits (the SHA-256 of its full path)", field: "asset" }))
    }
    const registered = registry.local(sourceChain, asset)
    if (registered === undefined) {
      return Result.fail(new UnknownAsset({
        reason: `${asset} on ${sourceChain} has no registered path and a hash cannot be reversed: resolve its full path (port/channel/…/base) instead, or register it`,
        chain: sourceChain,
        asset
      }))
    }
    return sourceChain === targetChain && (options.provider === undefined || options.provider === registered.provider)
      ? Result.succeed({ canonical: registered.canonical, path: hopsOf(registered.path), provider: registered.provider, localDenomOrAddress: registered.local })
      : onTarget(registry, registered.canonical, targetChain, options)
  }
  const { trace } = parseIbcDenomPath(asset)
  if (trace.length > 0) {
    const problem = denomPathProblem(asset)
    if (problem !== undefined) return Result.fail(new InvalidAssetReference({ reason: problem, field: "asset" }))
    return fromPath(registry, sourceChain, targetChain, asset, options)
  }
  if (asset.length === 0 || asset.length > MAX_LOCAL_LENGTH || !/^[\x21-\x7e]+$/u.test(asset)) {
    return Result.fail(new InvalidAssetReference({ reason: `an asset is a denom, an address or a denom path: 1 to ${MAX_LOCAL_LENGTH} printable ASCII characters`, field: "asset" }))
  }
  const registered = registry.local(sourceChain, asset)
  const canonical = registered?.canonical ?? nativeAsset(sourceChain, asset)
  if (canonical === undefined) {
    return Result.fail(new UnknownAsset({ reason: `${JSON.stringify(asset.slice(0, 80))} is not registered on ${sourceChain} and too long to name natively`, chain: sourceChain, asset }))
  }
  if (sourceChain === targetChain) {
    const provider = registered?.provider ?? "native"
    if (options.provider === undefined || options.provider === provider) {
      return Result.succeed({ canonical, path: hopsOf(registered?.path), provider, localDenomOrAddress: registered?.local ?? asset })
    }
  }
  return onTarget(registry, canonical, targetChain, options)
}
