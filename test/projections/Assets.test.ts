/**
 * The asset registry projection (src/projections/Assets): only the authority's mappings
 * count (the instance of a deployment of one; a cluster's leader of the term current at the
 * record's place), a later mapping of a chain-local asset replaces the earlier, snapshots
 * round-trip and resume to the full fold's digest, and a live runner over the real ingest
 * pipeline (mappings published by Author) reaches the digest a replay from offset 0 reaches.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import type { AssetMapping } from "../../src/domain/assets/AssetMessages.ts"
import { resolveAssetReference } from "../../src/domain/assets/AssetResolver.ts"
import type { AuthorityConfig } from "../../src/domain/cluster/Authority.ts"
import { ibcDenom } from "../../src/domain/ibc/IbcDenom.ts"
import { projections } from "../../src/main.ts"
import { CausalLog, type LogRecord } from "../../src/ports/CausalLog.ts"
import { ASSETS, makeAssets, mappingsOf, registryOfState } from "../../src/projections/Assets/Assets.ts"
import { digestOf, foldPage, serialize } from "../../src/projections/Projection.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import * as Author from "../../src/services/Author.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { clusterConfig, clusterLog, keys, soloConfig } from "../cluster/support.ts"
import { envelope } from "../support/fixtures.ts"

const { a, b, alice } = keys
const OSMO = "cosmos:osmosis-1"
const HUB = "cosmos:cosmoshub-4"
const atom = { chain: HUB, id: "slip44:118" }
const voucher = (channel: string): AssetMapping => ({
  canonical: atom,
  chain: OSMO,
  local: ibcDenom(`transfer/${channel}/uatom`),
  provider: "ibc",
  path: `transfer/${channel}/uatom`
})
const native: AssetMapping = { canonical: atom, chain: HUB, local: "uatom", provider: "native" }
const forged: AssetMapping = { canonical: { chain: "cosmos:evil-1", id: "denom:fake" }, chain: HUB, local: "uatom", provider: "native" }

const fold = (config: AuthorityConfig, records: ReadonlyArray<LogRecord>) => {
  const p = makeAssets(config)
  return foldPage(p, p.initialState, records)
}
const canonicalOf = (state: ReturnType<typeof fold>, chain: string, asset: string) => {
  const r = resolveAssetReference(registryOfState(state), chain, chain, asset)
  return Result.isSuccess(r) ? r.success.canonical : r.failure._tag
}

describe("the asset registry counts only the authority's mappings", () => {
  it("a deployment of one: the instance's mappings, never another key's", () => {
    const log = clusterLog()
    const first = log.append(a, "AssetMappingRegistered", { mappings: [native, voucher("channel-0")] })
    log.append(alice, "AssetMappingRegistered", { mappings: [forged] })
    const s = fold(soloConfig(a), log.records)
    expect(mappingsOf(s).map((e) => [e.mapping.chain, e.mapping.local, e.id])).toEqual([
      [HUB, "uatom", first.id],
      [OSMO, voucher("channel-0").local, first.id]
    ])
    expect(canonicalOf(s, HUB, "uatom")).toEqual(atom)
    // The same records folded where alice is the instance: only hers count.
    expect(canonicalOf(fold(soloConfig(alice), log.records), HUB, "uatom")).toEqual(forged.canonical)
  })

  it("a cluster: the leader of the term current at the record's place, not a member, not a deposed leader", () => {
    const log = clusterLog()
    log.set([a, b])
    log.append(a, "AssetMappingRegistered", { mappings: [forged] }) // before any term: nobody leads
    log.claim(a, 1)
    log.append(b, "AssetMappingRegistered", { mappings: [forged] }) // a member, not the leader
    log.append(a, "AssetMappingRegistered", { mappings: [native] })
    log.claim(b, 2)
    log.append(a, "AssetMappingRegistered", { mappings: [voucher("channel-9")] }) // deposed
    log.append(b, "AssetMappingRegistered", { mappings: [voucher("channel-0")] })
    for (const config of [clusterConfig(a), clusterConfig(b)]) {
      const s = fold(config, log.records)
      expect(mappingsOf(s).map((e) => e.mapping)).toEqual([native, voucher("channel-0")])
      expect(s.replaced).toBe(0)
    }
  })

  it("a later mapping of the same chain-local asset replaces the earlier (an EVM address in any case)", () => {
    const usdc = { chain: "eip155:1", id: "erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48" }
    const log = clusterLog()
    log.append(a, "AssetMappingRegistered", { mappings: [{ canonical: usdc, chain: "eip155:10", local: "0x7F5c764cBc14f9669B88837ca1490cCa17c31607", provider: "optimism-bridge" }] })
    log.append(a, "AssetMappingRegistered", { mappings: [{ canonical: usdc, chain: "eip155:10", local: "0x7f5c764cbc14f9669b88837ca1490cca17c31607", provider: "native" }] })
    const s = fold(soloConfig(a), log.records)
    expect(mappingsOf(s).map((e) => e.mapping.provider)).toEqual(["native"])
    expect(s.replaced).toBe(1)
  })

  it("snapshots round-trip, and resume at any cut to the full fold's digest", () => {
    const log = clusterLog()
    log.set([a, b])
    log.claim(a, 1)
    log.append(a, "AssetMappingRegistered", { mappings: [native] })
    log.append(b, "AssetMappingRegistered", { mappings: [forged] })
    log.append(a, "AssetMappingRegistered", { mappings: [voucher("channel-0"), voucher("channel-1")] })
    log.append(a, "AssetMappingRegistered", { mappings: [{ ...voucher("channel-1"), provider: "ibc-hooks" }] })
    const p = makeAssets(clusterConfig(a))
    const full = foldPage(p, p.initialState, log.records)
    for (let cut = 0; cut <= log.records.length; cut++) {
      const at = foldPage(p, p.initialState, log.records.slice(0, cut))
      const text = serialize(p, at)
      const back = p.decode(JSON.parse(text))
      expect(serialize(p, back)).toBe(text)
      expect(digestOf(p, foldPage(p, back, log.records.slice(cut)))).toBe(digestOf(p, full))
    }
    expect(JSON.parse(serialize(p, full))).toMatchObject({ replaced: 1, authority: { term: 1, leader: a.publicKey } })
  })
})

describe("the asset registry replays", () => {
  const storage = Layer.mergeAll(MemoryCausalLog.layerMemory, SqliteProjectionStore.layerMemory, NodeCryptoSignatureVerifier.layer, InstanceKeyFile.layerKey(a))
  const services = Author.layer.pipe(
    Layer.provideMerge(Ingest.layer({ ...Ingest.defaultOptions, exemptSenders: [a.publicKey] })),
    Layer.provideMerge(storage)
  )

  it.effect("a live runner over mappings published by the instance reaches the replay's digest; another key's is ignored", () =>
    Effect.gen(function*() {
      const author = yield* Author.Author
      const ingest = yield* Ingest.Ingest
      const log = yield* CausalLog
      const context = { instanceKey: a.publicKey }
      const live = yield* Effect.scoped(Effect.gen(function*() {
        const runner = yield* ProjectionRunner.make(projections(context), { snapshotEvery: 1_000_000, pageSize: 2 })
        yield* author.publish("AssetMappingRegistered", { mappings: [native] })
        // This ingest has no authority view (the service's refuses it, test/http/Assets.test.ts): it lands, and is ignored.
        yield* ingest.submit(envelope(alice, { type: "AssetMappingRegistered", payload: { mappings: [forged] }, nonce: 1, lamport: 100 }))
        yield* author.publish("AssetMappingRegistered", { mappings: [voucher("channel-0"), voucher("channel-1")] })
        yield* author.publish("NetworkHealth", { component: "x", status: "ok", latencyMs: 1 })
        yield* author.publish("AssetMappingRegistered", { mappings: [{ ...voucher("channel-1"), provider: "ibc-hooks" }] })
        yield* runner.awaitOffset(yield* log.endOffset)
        const { state } = yield* runner.state(makeAssets(context))
        const held = mappingsOf(state).map((e) => [e.mapping.local, e.mapping.provider])
        expect(held).toEqual(expect.arrayContaining([["uatom", "native"], [voucher("channel-0").local, "ibc"], [voucher("channel-1").local, "ibc-hooks"]]))
        expect(mappingsOf(state)).toHaveLength(3)
        expect(canonicalOf(state, OSMO, voucher("channel-1").local)).toEqual(atom)
        expect(canonicalOf(state, HUB, "uatom")).toEqual(atom)
        return (yield* runner.status).find((s) => s.name === ASSETS)
      }))
      expect(live?.offset).toBe(yield* log.endOffset)
      const replayed = yield* ProjectionRunner.replay(log, projections(context))
      expect(replayed.digests[ASSETS]).toBe(live?.digest)
    }).pipe(Effect.provide(services)))
})
