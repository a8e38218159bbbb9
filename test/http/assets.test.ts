/**
 * The assets group against a real server (SQLite log, the composition root's core): a
 * registration published as the instance (201, the message in the log) is what resolve then
 * answers with; denoms are computed; bad inputs are typed 400s naming the field, unknown
 * assets 404s, two names of one asset 409; a mapping submitted by another key is refused at
 * ingest, and the registry never held it. Every answer is checked against the OpenAPI document.
 */
import { createHash } from "node:crypto"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { OpenApi } from "effect/http-api"
import { Api } from "../../src/adapters/http/Api.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { mismatch, operationOf } from "./support/openapiDocument.ts"
import * as Server from "./support/server.ts"

const doc = OpenApi.fromApi(Api)
const sha = (path: string): string => `ibc/${createHash("sha256").update(path, "utf8").digest("hex").toUpperCase()}`
const OSMO = "cosmos:osmosis-1"
const HUB = "cosmos:cosmoshub-4"
const ETH = "eip155:1"
const USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
const atom = { chain: HUB, id: "slip44:118" }
const usdc = { chain: ETH, id: `erc20:${USDC.toLowerCase()}` }

/** Send, and check the answer's status and body against the document. */
const call = (method: string, url: string, status: number, tag?: string, body?: unknown) =>
  Effect.gen(function*() {
    const r = yield* Server.request(method, url, body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
    expect(r.status, `${method} ${url}: ${r.text.slice(0, 400)}`).toBe(status)
    const found = operationOf(doc, method, url.split("?")[0] as string)
    const schema = (found?.op.responses as Record<string, any> | undefined)?.[String(status)]?.content?.["application/json"]?.schema
    expect(schema, `${method} ${url} declares ${status}`).toBeDefined()
    expect(mismatch(doc, schema, r.json), r.text.slice(0, 300)).toBeUndefined()
    if (tag !== undefined) {
      expect(r.json._tag).toBe(tag)
      expect(r.json.reason.length).toBeGreaterThan(0)
    }
    return r.json
  })

const q = (params: Record<string, string>) => new URLSearchParams(params).toString()
const resolve = (source: string, target: string, asset: string, status = 200, tag?: string, provider?: string) =>
  call("GET", `/v1/assets/resolve?${q({ source, target, asset, ...(provider === undefined ? {} : { provider }) })}`, status, tag)

describe("assets over HTTP", () => {
  layer(Server.layer(), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("ibc-denom computes ibc-go's denom, v2 client hops included; a bad path is a typed 400", () =>
      Effect.gen(function*() {
        const one = yield* call("GET", `/v1/assets/ibc-denom?${q({ path: "transfer/channel-0/uatom" })}`, 200)
        expect(one).toEqual({
          path: "transfer/channel-0/uatom",
          ibcDenom: "ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2",
          base: "uatom",
          trace: [{ portId: "transfer", channelId: "channel-0" }]
        })
        const v2 = yield* call("GET", `/v1/assets/ibc-denom?${q({ path: `transfer/08-wasm-1369/${USDC}` })}`, 200)
        expect(v2.ibcDenom).toBe(sha(`transfer/08-wasm-1369/${USDC}`))
        const lower = yield* call("GET", `/v1/assets/ibc-denom?${q({ path: `transfer/08-wasm-1369/${USDC.toLowerCase()}` })}`, 200)
        expect(lower.ibcDenom).not.toBe(v2.ibcDenom)
        expect((yield* call("GET", `/v1/assets/ibc-denom?${q({ path: "uatom" })}`, 200)).ibcDenom).toBe("uatom")
        const bad = yield* call("GET", `/v1/assets/ibc-denom?${q({ path: "transfer/channel-0/" })}`, 400, "InvalidAssetReference")
        expect(bad.field).toBe("path")
        yield* call("GET", `/v1/assets/ibc-denom?${q({ path: "transfer/channel-0/u atom" })}`, 400, "InvalidAssetReference")
        yield* call("GET", "/v1/assets/ibc-denom", 400, "InvalidRequest")
      }))

    it.effect("bad chains and assets are typed 400s naming the field; an unregistered ibc/ hash is a 404", () =>
      Effect.gen(function*() {
        expect((yield* resolve("osmosis", OSMO, "uosmo", 400, "InvalidAssetReference")).field).toBe("source")
        expect((yield* resolve(OSMO, HUB, "ibc/xyz", 400, "InvalidAssetReference")).field).toBe("asset")
        expect((yield* resolve(OSMO, HUB, "transfer/channel-0/Transfer/channel-1/ibc/ABC", 400, "InvalidAssetReference")).field).toBe("asset")
        yield* call("GET", `/v1/assets/resolve?${q({ source: OSMO, target: HUB })}`, 400, "InvalidRequest")
        const unknown = yield* resolve("cosmos:juno-1", HUB, sha("transfer/channel-1/ujuno"), 404, "UnknownAsset")
        expect(unknown.reason).toMatch(/cannot be reversed/)
        yield* resolve(ETH, OSMO, USDC, 404, "NoRoute")
      }))

    it.effect("a registration round trip: 201 with the message id, listed, and resolve answers by it", () =>
      Effect.gen(function*() {
        const voucher = "transfer/channel-208/uusdc"
        const mappings = [
          { canonical: atom, chain: HUB, local: "uatom", provider: "native" },
          { canonical: atom, chain: OSMO, local: sha("transfer/channel-0/uatom"), provider: "ibc", path: "transfer/channel-0/uatom" },
          { canonical: usdc, chain: ETH, local: USDC, provider: "native" },
          { canonical: usdc, chain: OSMO, local: sha(voucher), provider: "axelar", path: voucher }
        ]
        const receipt = yield* call("POST", "/v1/assets/mappings", 201, undefined, { mappings })
        expect(receipt).toMatchObject({ id: expect.stringMatching(/^[0-9a-f]{64}$/), mappings: 4 })
        const record = yield* Server.get(`/v1/messages/${receipt.id}`)
        expect(record.json).toMatchObject({ type: "AssetMappingRegistered", offset: receipt.offset })
        expect(record.json.envelope.payload).toEqual({ mappings })

        const listed = yield* call("GET", `/v1/assets/mappings?${q({ chain: OSMO })}`, 200)
        expect(listed.mappings.map((m: any) => [m.local, m.messageId])).toEqual(
          [[sha("transfer/channel-0/uatom"), receipt.id], [sha(voucher), receipt.id]].sort((x, y) => (x[0]! < y[0]! ? -1 : 1))
        )
        expect((yield* call("GET", "/v1/assets/mappings", 200)).mappings).toHaveLength(4)

        // Right after the 201: the registered ibc/ hash resolves home, and Ethereum's USDC onto Osmosis' Axelar voucher.
        expect(yield* resolve(OSMO, HUB, sha("transfer/channel-0/uatom"))).toMatchObject({
          canonical: atom,
          caip19: "cosmos:cosmoshub-4/slip44:118",
          path: [],
          provider: "native",
          localDenomOrAddress: "uatom"
        })
        expect(yield* resolve(ETH, OSMO, USDC.toLowerCase())).toMatchObject({
          canonical: usdc,
          path: [{ port: "transfer", channel: "channel-208" }],
          provider: "axelar",
          localDenomOrAddress: sha(voucher)
        })
        // A second name of USDC on Osmosis makes it ambiguous, unless a provider picks one.
        yield* call("POST", "/v1/assets/mappings", 201, undefined, { mappings: [{ canonical: usdc, chain: OSMO, local: "factory/osmo1noble/uusdc", provider: "wormhole" }] })
        const ambiguous = yield* resolve(ETH, OSMO, USDC, 409, "AmbiguousAsset")
        expect(ambiguous.candidates.map((c: any) => c.provider).sort()).toEqual(["axelar", "wormhole"])
        expect((yield* resolve(ETH, OSMO, USDC, 200, undefined, "wormhole")).localDenomOrAddress).toBe("factory/osmo1noble/uusdc")
      }))

    it.effect("a mapping that does not check is a 400; another key's AssetMappingRegistered is refused at ingest and never counted", () =>
      Effect.gen(function*() {
        const wrongHash = { canonical: atom, chain: OSMO, local: sha("transfer/channel-0/uatom"), provider: "ibc", path: "transfer/channel-1/uatom" }
        const bad = yield* call("POST", "/v1/assets/mappings", 400, "InvalidRequest", { mappings: [wrongHash] })
        expect(bad.reason).toMatch(/hashes to/)
        yield* call("POST", "/v1/assets/mappings", 400, "InvalidRequest", { mappings: [] })
        const mallory = testKey("assets-mallory")
        const forged = envelope(mallory, { type: "AssetMappingRegistered", payload: { mappings: [{ canonical: { chain: "cosmos:evil-1", id: "denom:x" }, chain: "cosmos:juno-1", local: "ujuno", provider: "native" }] } })
        const refused = yield* Server.post(forged)
        expect(refused.status).toBe(403)
        expect(refused.json._tag).toBe("NotAuthorized")
        expect((yield* call("GET", `/v1/assets/mappings?${q({ chain: "cosmos:juno-1" })}`, 200)).mappings).toEqual([])
        expect((yield* resolve("cosmos:juno-1", "cosmos:juno-1", "ujuno")).canonical).toEqual({ chain: "cosmos:juno-1", id: "denom:ujuno" })
      }))
  })
})
