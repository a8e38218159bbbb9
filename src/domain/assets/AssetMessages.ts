/**
 * The asset registry's message: `AssetMappingRegistered`, the deployment authority's record
 * of which chain-local denoms and addresses stand for which canonical asset (non-IBC
 * mappings: one ERC-20 on several chains, bridge-wrapped assets by origin chain and address,
 * token-pool mappings; and IBC vouchers whose full path someone wants `ibc/HASH` to resolve
 * by). IBC denoms themselves are computed (src/domain/ibc/IbcDenom.ts), never registered to
 * be believed: a mapping that names a path must hash to its local denom.
 *
 * Names are CAIP style: a chain is a CAIP-2 id (`eip155:1`, `cosmos:cosmoshub-4`), a
 * canonical asset is that chain and a CAIP-19 asset type (`erc20:0x…`, `slip44:118`). An
 * EVM address is one asset whatever its case, so on `eip155:` chains addresses are compared
 * lowercased (`localKey`); an IBC path's base keeps its exact bytes (the hash covers them).
 *
 * It is a decision (src/domain/cluster/Authority.ts, role "leader"): only the instance of a
 * deployment of one, or the current leader of a cluster, registers mappings that count.
 */
import { Schema } from "effect"
import { denomFullPath, ibcDenom, parseIbcDenomPath } from "../ibc/IbcDenom.ts"

/** Most mappings one message may carry. */
export const MAX_MAPPINGS = 64
/** Longest chain-local denom or address. */
export const MAX_LOCAL_LENGTH = 256
/** Longest full ICS-20 denom path. */
export const MAX_PATH_LENGTH = 1024
/** Most hops a denom path may have. */
export const MAX_HOPS = 16

/** CAIP-2's chain id syntax: `namespace:reference`. */
export const CAIP2_CHAIN_ID = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/u

/** A CAIP-2 chain id: `namespace:reference`. */
export const ChainId = Schema.String.check(Schema.isPattern(CAIP2_CHAIN_ID)).annotate({
  description: "a CAIP-2 chain id, e.g. eip155:1, cosmos:cosmoshub-4"
})

/** A CAIP-19 asset type without its chain: `asset_namespace:asset_reference`. */
export const AssetType = Schema.String.check(Schema.isPattern(/^[-a-z0-9]{3,8}:[-.%a-zA-Z0-9]{1,128}$/u)).annotate({
  description: "a CAIP-19 asset type on its chain, e.g. erc20:0xa0b8…, slip44:118, denom:uosmo"
})

/** An asset named on its origin chain (CAIP-19: `{chain}/{id}`). */
export const CanonicalAsset = Schema.Struct({ chain: ChainId, id: AssetType })
export type CanonicalAsset = typeof CanonicalAsset.Type

/** A denom or address as a chain names it: printable ASCII, no spaces. */
export const LocalAsset = Schema.String.check(Schema.isPattern(new RegExp(`^[\\x21-\\x7e]{1,${MAX_LOCAL_LENGTH}}$`, "u"))).annotate({
  description: "a chain-local denom or address (uatom, ibc/27394…, 0xA0b8…)"
})

/** Who makes the asset exist on a chain: native, ibc, axelar, wormhole, ccip-pool, or another lowercase name. */
export const ProviderName = Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9._-]{0,31}$/u)).annotate({
  description: "who makes the asset exist on the chain: native, ibc, axelar, wormhole, ccip-pool, … (lowercase, at most 32)"
})

/** A full ICS-20 denom path as text. */
export const DenomPathText = Schema.String.check(Schema.isPattern(new RegExp(`^[\\x21-\\x7e]{1,${MAX_PATH_LENGTH}}$`, "u"))).annotate({
  description: "a full ICS-20 denom path `port/channel/…/base` (printable ASCII, at most 1,024)"
})

// ICS-24 identifier characters, 2 to 128 of them.
const PORT_ID = /^[a-zA-Z0-9._+\-#[\]<>]{2,128}$/u

/**
 * Why a full denom path cannot be one, or undefined when it is well formed: at most
 * MAX_PATH_LENGTH printable characters, at most MAX_HOPS hops, each port an ICS-24
 * identifier, a base that is not empty (kept byte for byte otherwise: ibc-go hashes
 * `uatom/` too) nor an `ibc/` hash when hops precede it (a voucher sent on is prefixed,
 * never hashed into another path).
 */
export const denomPathProblem = (path: string): string | undefined => {
  if (path.length === 0 || path.length > MAX_PATH_LENGTH) return `a denom path is 1 to ${MAX_PATH_LENGTH} characters`
  if (!/^[\x21-\x7e]+$/u.test(path)) return "a denom path is printable ASCII without spaces"
  const parsed = parseIbcDenomPath(path)
  if (parsed.trace.length > MAX_HOPS) return `a denom path has at most ${MAX_HOPS} hops (this one has ${parsed.trace.length})`
  for (const hop of parsed.trace) {
    if (!PORT_ID.test(hop.portId)) return `${JSON.stringify(hop.portId)} is not a port identifier (2 to 128 of a-z A-Z 0-9 . _ + - # [ ] < >)`
  }
  if (parsed.base === "") return "the path has no base denom after its hops"
  if (parsed.trace.length > 0 && parsed.base.startsWith("ibc/")) return "the base of a path is never an ibc/ hash: a voucher sent on keeps its full path"
  // The parse must give the path back byte for byte, or the hash would cover another text.
  if (denomFullPath(parsed) !== path) return "the path does not read back as itself"
  return undefined
}

/** An EVM address as text (any case). */
export const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/u

/** The key a chain-local asset is found by: the chain, and the local name (an EVM address lowercased on eip155 chains). */
export const localKey = (chain: string, local: string): string =>
  `${chain}\u0000${chain.startsWith("eip155:") && EVM_ADDRESS.test(local) ? local.toLowerCase() : local}`

/** The key of a canonical asset (an `erc20:` address lowercased). */
export const canonicalKey = (c: CanonicalAsset): string =>
  `${c.chain}/${c.id.startsWith("erc20:") ? c.id.toLowerCase() : c.id}`

/** Why a mapping is inconsistent, or undefined. */
const mappingProblem = (m: { readonly local: string; readonly path?: string | undefined }): string | undefined => {
  if (m.path === undefined) {
    return m.local.startsWith("ibc/") ? `${m.local} is an IBC voucher: name its full path (path) so its hash can be checked` : undefined
  }
  const problem = denomPathProblem(m.path)
  if (problem !== undefined) return `path: ${problem}`
  if (parseIbcDenomPath(m.path).trace.length === 0) return "path: a mapping's path has at least one hop (a denom without hops is its own local name)"
  const computed = ibcDenom(m.path)
  return computed === m.local ? undefined : `the path hashes to ${computed}, not to the local denom ${m.local}`
}

/**
 * One mapping: `local` on `chain` is the canonical asset, made to exist there by
 * `provider`; `path`, for an IBC voucher, is its full ICS-20 denom path on `chain` (hops
 * first as the chain received it, then the base), and `local` must be `ibcDenom(path)`.
 */
export const AssetMapping = Schema.Struct({
  canonical: CanonicalAsset,
  chain: ChainId.annotate({ description: "the CAIP-2 chain where `local` names the asset" }),
  local: LocalAsset,
  provider: ProviderName,
  path: Schema.optionalKey(DenomPathText)
}).check(Schema.makeFilter((m) => mappingProblem(m) ?? true))
export type AssetMapping = typeof AssetMapping.Type

/**
 * The authority registered mappings. A later mapping of the same chain-local asset
 * (`localKey`) replaces the earlier one; one message names each chain-local asset once.
 */
export const AssetMappingRegistered = Schema.Struct({
  mappings: Schema.Array(AssetMapping).check(
    Schema.isMinLength(1),
    Schema.isMaxLength(MAX_MAPPINGS),
    Schema.makeFilter((ms) => {
      const seen = new Set<string>()
      for (const m of ms) {
        const key = localKey(m.chain, m.local)
        if (seen.has(key)) return `${m.local} on ${m.chain} is named twice`
        seen.add(key)
      }
      return true
    })
  )
})
export type AssetMappingRegistered = typeof AssetMappingRegistered.Type

/** The asset registry's payload schemas, by message type. */
export const AssetPayloads = { AssetMappingRegistered } as const
