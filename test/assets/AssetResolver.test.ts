/**
 * resolveAssetReference's rules (src/domain/assets/AssetResolver.ts): IBC paths are computed
 * (denoms checked against ibc-go's, from test/vectors/ibc/denoms.json, and against an
 * independent SHA-256), `ibc/HASH` only through a registered path, other assets through the
 * registry or as native; and the AssetMappingRegistered schema's consistency rules.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { Result, Schema } from "effect"
import fc from "fast-check"
import { type AssetMapping, AssetMappingRegistered, MAX_MAPPINGS } from "../../src/domain/assets/AssetMessages.ts"
import { registryOf, resolveAssetReference } from "../../src/domain/assets/AssetResolver.ts"
import { parseIbcDenomPath } from "../../src/domain/ibc/IbcDenom.ts"

const sha = (path: string): string => `ibc/${createHash("sha256").update(path, "utf8").digest("hex").toUpperCase()}`

const HUB = "cosmos:cosmoshub-4"
const OSMO = "cosmos:osmosis-1"
const AXELAR = "cosmos:axelar-dojo-1"
const ETH = "eip155:1"
const ARB = "eip155:42161"
const USDC_ETH = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
const USDC_ARB = "0xaf88d065e77c8cC2239327C5EDb3A432268e5831"
const atom = { chain: HUB, id: "slip44:118" }
const usdc = { chain: ETH, id: `erc20:${USDC_ETH.toLowerCase()}` }

// A registry as an authority would write it: ATOM native on the Hub and a voucher on
// Osmosis; Ethereum's USDC natively, bridged to Arbitrum (USDC.e) and wrapped by Axelar,
// whose wrapped denom reached Osmosis over IBC.
const mappings: ReadonlyArray<AssetMapping> = [
  { canonical: atom, chain: HUB, local: "uatom", provider: "native" },
  { canonical: atom, chain: OSMO, local: sha("transfer/channel-0/uatom"), provider: "ibc", path: "transfer/channel-0/uatom" },
  { canonical: usdc, chain: ETH, local: USDC_ETH, provider: "native" },
  { canonical: usdc, chain: ARB, local: "0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8", provider: "arbitrum-bridge" },
  { canonical: usdc, chain: AXELAR, local: "uusdc", provider: "axelar" },
  { canonical: usdc, chain: OSMO, local: sha("transfer/channel-208/uusdc"), provider: "axelar", path: "transfer/channel-208/uusdc" }
]
const registry = registryOf(mappings)

const ok = (r: ReturnType<typeof resolveAssetReference>) => {
  if (Result.isFailure(r)) throw new Error(`expected a resolution, got ${r.failure._tag}: ${r.failure.reason}`)
  return r.success
}
const failure = (r: ReturnType<typeof resolveAssetReference>) => {
  if (Result.isSuccess(r)) throw new Error(`expected a failure, got ${JSON.stringify(r.success)}`)
  return r.failure
}

describe("full ICS-20 paths are computed", () => {
  it("one hop: the base's canonical asset on the source, ibcDenom(path) on the target (ibc-go's denom)", () => {
    const r = ok(resolveAssetReference(registry, HUB, OSMO, "transfer/channel-0/uatom"))
    expect(r).toEqual({
      canonical: atom,
      path: [{ port: "transfer", channel: "channel-0" }],
      provider: "ibc",
      // test/vectors/ibc/denoms.json
      localDenomOrAddress: "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2"
    })
  })

  it("an unregistered base is native to the source; a path the registry does not know still resolves", () => {
    const r = ok(resolveAssetReference(registryOf([]), "cosmos:gaia-test", OSMO, "transfer/channel-1/uatom"))
    expect(r.canonical).toEqual({ chain: "cosmos:gaia-test", id: "denom:uatom" })
    expect(r.localDenomOrAddress).toBe("ibc/C4CFF46FD6DE35CA4CF4CE031E643C8FDC9BA4B99AE598E9B0ED98FE3A2319F9")
    // Outside CAIP-19's alphabet: percent-encoded.
    expect(ok(resolveAssetReference(registryOf([]), HUB, OSMO, "transfer/channel-0/gamm/pool_1")).canonical.id).toBe("denom:gamm%2Fpool%5F1")
  })

  it("a checksummed EVM address base is another voucher than its lowercase form, of the same ERC-20", () => {
    const checksummed = `transfer/08-wasm-1369/${USDC_ETH}`
    const lower = `transfer/08-wasm-1369/${USDC_ETH.toLowerCase()}`
    const a = ok(resolveAssetReference(registryOf([]), ETH, HUB, checksummed))
    const b = ok(resolveAssetReference(registryOf([]), ETH, HUB, lower))
    expect(a.localDenomOrAddress).toBe(sha(checksummed))
    expect(b.localDenomOrAddress).toBe(sha(lower))
    expect(a.localDenomOrAddress).not.toBe(b.localDenomOrAddress)
    expect(a.canonical).toEqual(usdc)
    expect(b.canonical).toEqual(usdc)
    // An IBC v2 hop is a port and a client id.
    expect(a.path).toEqual([{ port: "transfer", client: "08-wasm-1369" }])
    // ibc-go's vector (cosmos-evm's erc20/ denoms): the same rule.
    expect(ok(resolveAssetReference(registryOf([]), HUB, OSMO, "transfer/channel-1/erc20/0x85bcBCd7e79Ec36f4fBBDc54F90C643d921151AA")).localDenomOrAddress)
      .toBe("ibc/37B24B2E5A3E8C55AFF293C40FEDE0BF0A01898001978AE0657BDC22323AFB36")
    expect(ok(resolveAssetReference(registryOf([]), HUB, OSMO, "transfer/channel-1/erc20/0x85bcbcd7e79ec36f4fbbdc54f90c643d921151aa")).localDenomOrAddress)
      .toBe("ibc/7C4DD187F32719C4B19ECED5FB3995066E74493678F1C80A75DD1CD107E525C3")
  })

  it("multi-hop: hops in order, v1 and v2 mixed; the origin is where the registry names the base", () => {
    const path = "transfer/channel-0/transfer/channel-52/uatom"
    const r = ok(resolveAssetReference(registry, "cosmos:juno-1", OSMO, path))
    expect(r).toEqual({
      canonical: atom,
      path: [{ port: "transfer", channel: "channel-0" }, { port: "transfer", channel: "channel-52" }],
      provider: "ibc",
      localDenomOrAddress: "ibc/869A01B76A1E87154A4253B3493A2CDD106F4AE6E8F4800C252006C13B20C226"
    })
    const mixed = `transfer/channel-7/transfer/08-wasm-1369/${USDC_ETH}`
    const m = ok(resolveAssetReference(registry, HUB, OSMO, mixed))
    expect(m.path).toEqual([{ port: "transfer", channel: "channel-7" }, { port: "transfer", client: "08-wasm-1369" }])
    expect(m.canonical).toEqual(usdc)
    expect(m.localDenomOrAddress).toBe(sha(mixed))
    // Hop order matters (ibc-go's vector).
    const test1 = registryOf([{ canonical: { chain: "cosmos:test-1", id: "denom:atom" }, chain: "cosmos:test-1", local: "atom", provider: "native" }])
    expect(ok(resolveAssetReference(test1, HUB, OSMO, "transfer/channel-60/transfer/channel-0/atom")).localDenomOrAddress)
      .toBe("ibc/6080DD7E4982CA11DC025CCAC334AFAB244C16DB0602B5793B03C2C61DD38B5C")
  })

  it("multi-hop with a base nobody registered, or registered as two assets, does not resolve", () => {
    expect(failure(resolveAssetReference(registry, HUB, OSMO, "transfer/channel-0/transfer/channel-1/ufoo"))._tag).toBe("UnknownAsset")
    const twice = registryOf([...mappings, { canonical: { chain: "cosmos:other-1", id: "denom:uatom" }, chain: "cosmos:other-1", local: "uatom", provider: "native" }])
    expect(failure(resolveAssetReference(twice, HUB, OSMO, "transfer/channel-0/transfer/channel-1/uatom"))._tag).toBe("AmbiguousAsset")
    // A voucher registered on the target with its path settles it.
    const voucher = sha("transfer/channel-0/transfer/channel-1/uatom")
    const settled = registryOf([...mappings, { canonical: atom, chain: OSMO, local: voucher, provider: "ibc", path: "transfer/channel-0/transfer/channel-1/uatom" }])
    expect(ok(resolveAssetReference(settled, HUB, OSMO, "transfer/channel-0/transfer/channel-1/uatom")).canonical).toEqual(atom)
  })

  it("a registered voucher names its provider (Axelar's USDC on Osmosis)", () => {
    const r = ok(resolveAssetReference(registry, AXELAR, OSMO, "transfer/channel-208/uusdc"))
    expect(r).toMatchObject({ canonical: usdc, provider: "axelar", localDenomOrAddress: sha("transfer/channel-208/uusdc") })
  })
})

describe("ibc/HASH resolves only through a registered path", () => {
  const voucher = sha("transfer/channel-0/uatom")

  it("registered: back to its origin, to another chain's name, or as itself", () => {
    expect(ok(resolveAssetReference(registry, OSMO, HUB, voucher))).toEqual({ canonical: atom, path: [], provider: "native", localDenomOrAddress: "uatom" })
    expect(ok(resolveAssetReference(registry, OSMO, OSMO, voucher))).toEqual({
      canonical: atom,
      path: [{ port: "transfer", channel: "channel-0" }],
      provider: "ibc",
      localDenomOrAddress: voucher
    })
  })

  it("unregistered: UnknownAsset (a hash cannot be reversed); malformed: InvalidAssetReference", () => {
    const e = failure(resolveAssetReference(registry, HUB, OSMO, voucher))
    expect(e._tag).toBe("UnknownAsset")
    expect(e.reason).toMatch(/cannot be reversed/)
    expect(failure(resolveAssetReference(registry, OSMO, HUB, voucher.toLowerCase()))._tag).toBe("InvalidAssetReference")
    expect(failure(resolveAssetReference(registry, OSMO, HUB, "ibc/ABC"))._tag).toBe("InvalidAssetReference")
  })
})

describe("other assets go through the registry", () => {
  it("an ERC-20 on another chain, its address in any case on eip155 chains", () => {
    expect(ok(resolveAssetReference(registry, ETH, ARB, USDC_ETH.toLowerCase()))).toEqual({
      canonical: usdc,
      path: [],
      provider: "arbitrum-bridge",
      localDenomOrAddress: "0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8"
    })
    expect(ok(resolveAssetReference(registry, ARB, ETH, "0xff970a61a04b1ca14834a43f5de4533ebddb5cc8")).localDenomOrAddress).toBe(USDC_ETH)
    // Cosmos denoms are case-sensitive.
    expect(ok(resolveAssetReference(registry, HUB, HUB, "UATOM")).canonical).toEqual({ chain: HUB, id: "denom:UATOM" })
  })

  it("a bridge-wrapped asset resolves to its origin's, and onto IBC vouchers with their hops", () => {
    expect(ok(resolveAssetReference(registry, AXELAR, ETH, "uusdc"))).toMatchObject({ canonical: usdc, localDenomOrAddress: USDC_ETH, provider: "native" })
    expect(ok(resolveAssetReference(registry, ARB, OSMO, "0xFF970A61A04b1cA14834A43f5dE4533eBDDB5CC8"))).toEqual({
      canonical: usdc,
      path: [{ port: "transfer", channel: "channel-208" }],
      provider: "axelar",
      localDenomOrAddress: sha("transfer/channel-208/uusdc")
    })
  })

  it("an unregistered address is native to its chain; nothing names it elsewhere: NoRoute", () => {
    const r = ok(resolveAssetReference(registry, ARB, ARB, USDC_ARB))
    expect(r).toEqual({ canonical: { chain: ARB, id: `erc20:${USDC_ARB.toLowerCase()}` }, path: [], provider: "native", localDenomOrAddress: USDC_ARB })
    const e = failure(resolveAssetReference(registry, ARB, ETH, USDC_ARB))
    expect(e._tag).toBe("NoRoute")
  })

  it("two names of one asset on the target are ambiguous unless a provider picks one", () => {
    const withWormhole = registryOf([...mappings, { canonical: usdc, chain: OSMO, local: "factory/osmo1wormhole/usdc", provider: "wormhole" }])
    const e = failure(resolveAssetReference(withWormhole, ETH, OSMO, USDC_ETH))
    expect(e._tag).toBe("AmbiguousAsset")
    if (e._tag === "AmbiguousAsset") expect(e.candidates.map((c) => c.provider).sort()).toEqual(["axelar", "wormhole"])
    expect(ok(resolveAssetReference(withWormhole, ETH, OSMO, USDC_ETH, { provider: "wormhole" })).localDenomOrAddress).toBe("factory/osmo1wormhole/usdc")
    expect(failure(resolveAssetReference(withWormhole, ETH, OSMO, USDC_ETH, { provider: "ccip-pool" }))._tag).toBe("NoRoute")
  })

  it("a later mapping of the same chain-local asset replaces the earlier", () => {
    const moved = registryOf([...mappings, { canonical: { chain: ETH, id: "erc20:0x0000000000000000000000000000000000000001" }, chain: AXELAR, local: "uusdc", provider: "axelar" }])
    expect(ok(resolveAssetReference(moved, AXELAR, AXELAR, "uusdc")).canonical.id).toBe("erc20:0x0000000000000000000000000000000000000001")
  })

  it("bad chains and assets are InvalidAssetReference, naming the field", () => {
    expect(failure(resolveAssetReference(registry, "osmosis", OSMO, "uosmo"))).toMatchObject({ _tag: "InvalidAssetReference", field: "source" })
    expect(failure(resolveAssetReference(registry, OSMO, "", "uosmo"))).toMatchObject({ _tag: "InvalidAssetReference", field: "target" })
    expect(failure(resolveAssetReference(registry, OSMO, HUB, "u osmo"))).toMatchObject({ _tag: "InvalidAssetReference", field: "asset" })
    expect(failure(resolveAssetReference(registry, OSMO, HUB, "transfer/channel-0/"))).toMatchObject({ _tag: "InvalidAssetReference", field: "asset" })
    expect(failure(resolveAssetReference(registry, OSMO, HUB, `transfer/channel-0/${sha("transfer/channel-1/uatom")}`))).toMatchObject({ _tag: "InvalidAssetReference", field: "asset" })
    expect(failure(resolveAssetReference(registry, OSMO, HUB, `${"transfer/channel-0/".repeat(17)}uatom`))).toMatchObject({ _tag: "InvalidAssetReference", field: "asset" })
  })
})

describe("AssetMappingRegistered", () => {
  const decode = Schema.decodeUnknownResult(AssetMappingRegistered)
  const valid = { mappings: [mappings[1]] }

  it("takes consistent mappings", () => {
    expect(Result.isSuccess(decode({ mappings }))).toBe(true)
  })

  it("refuses a path that does not hash to the local denom, a voucher without its path, a repeated asset, too many", () => {
    const bad = (payload: unknown) => expect(Result.isFailure(decode(payload, { onExcessProperty: "error" })), JSON.stringify(payload).slice(0, 200)).toBe(true)
    bad({ mappings: [{ ...mappings[1], path: "transfer/channel-1/uatom" }] })
    bad({ mappings: [{ canonical: atom, chain: OSMO, local: sha("transfer/channel-0/uatom"), provider: "ibc" }] })
    bad({ mappings: [{ ...mappings[0], path: "uatom" }] })
    bad({ mappings: [mappings[2], { ...mappings[2], local: USDC_ETH.toLowerCase() }] })
    bad({ mappings: [] })
    bad({ mappings: Array.from({ length: MAX_MAPPINGS + 1 }, (_, i) => ({ ...mappings[0], local: `u${i}` })) })
    bad({ mappings: [{ ...mappings[0], canonical: { chain: "cosmoshub", id: "slip44:118" } }] })
    bad({ mappings: [{ ...mappings[0], provider: "Native" }] })
    bad({ mappings: [{ ...mappings[0], local: "x".repeat(257) }] })
    bad({ mappings: [{ ...mappings[0], extra: 1 }] })
    expect(Result.isSuccess(decode(valid))).toBe(true)
  })
})

describe("properties", () => {
  const printable = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-:/"), minLength: 1, maxLength: 40 })
    // A base that reads back as the base after a hop (no hop-like pair of its own), not an ibc/ hash.
    .filter((b) => !b.startsWith("ibc/") && parseIbcDenomPath(`transfer/channel-0/${b}`).base === b)
  const hop = fc.oneof(
    fc.nat({ max: 100_000 }).map((n) => ({ port: "transfer", channel: `channel-${n}` })),
    fc.tuple(fc.constantFrom("07-tendermint", "08-wasm", "10-evm"), fc.nat({ max: 100_000 })).map(([t, n]) => ({ port: "transfer", client: `${t}-${n}` }))
  )
  const text = (h: { port: string; channel?: string; client?: string }) => `${h.port}/${h.channel ?? h.client}`

  it("a full path resolves to SHA-256 of its exact text on the target, its hops in order, v1 and v2 told apart", () => {
    fc.assert(fc.property(fc.array(hop, { minLength: 1, maxLength: 16 }), printable, (hops, base) => {
      const path = `${hops.map(text).join("/")}/${base}`
      const named = registryOf([{ canonical: { chain: "cosmos:origin-1", id: "denom:x" }, chain: "cosmos:origin-1", local: base, provider: "native" }])
      const r = ok(resolveAssetReference(named, "cosmos:source-1", "cosmos:target-1", path))
      expect(r.localDenomOrAddress).toBe(sha(path))
      expect(r.path).toEqual(hops)
      expect(r.provider).toBe("ibc")
    }))
  })

  it("an EVM address base in another case is another voucher of the same ERC-20", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), (bytes, upper) => {
      const lower = Buffer.from(bytes).toString("hex")
      const mixed = [...lower].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("")
      fc.pre(mixed !== lower)
      const a = ok(resolveAssetReference(registryOf([]), ETH, HUB, `transfer/08-wasm-1/0x${mixed}`))
      const b = ok(resolveAssetReference(registryOf([]), ETH, HUB, `transfer/08-wasm-1/0x${lower}`))
      expect(a.localDenomOrAddress).not.toBe(b.localDenomOrAddress)
      expect(a.canonical).toEqual({ chain: ETH, id: `erc20:0x${lower}` })
      expect(b.canonical).toEqual(a.canonical)
    }))
  })
})
