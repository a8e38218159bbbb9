/**
 * GET /v1/chains/{chain}/proven?key= on a real server (issue #14, retention): a key's proven
 * values from memory, then, once the header its newest value was proven against left the kept
 * window (RETAINED_HEADERS below the head), from disk as they were last; a key never proven is
 * 404 ProvenValueNotFound, an unknown chain 404 UnknownChain, a key not in proven form 400.
 * The chain's records are the instance's own, seeded over POST /v1/messages.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { OpenApi } from "effect/http-api"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import { Api } from "../../src/adapters/http/Api.ts"
import { instanceKeyPath } from "../../src/Config.ts"
import type { Envelope } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { RETAINED_HEADERS } from "../../src/projections/ChainState/ChainState.ts"
import { envelope } from "../support/fixtures.ts"
import { mismatch, operationOf } from "./support/openapiDocument.ts"
import * as Server from "./support/server.ts"

const doc = OpenApi.fromApi(Api)
const hash = (label: string) => bytesToHex(sha256(new TextEncoder().encode(label)))
const hashAt = (height: number) => hash(`proven-chain:${height}`)
const KEY = "aa".repeat(20)

/** The answer's body checked against the document's schema for its status. */
const conforms = (path: string, status: number, json: unknown) => {
  const found = operationOf(doc, "GET", path.split("?")[0] as string)
  const schema = (found?.op.responses as Record<string, any> | undefined)?.[String(status)]?.content?.["application/json"]?.schema
  expect(schema, `GET ${path} declares ${status}`).toBeDefined()
  expect(mismatch(doc, schema, json)).toBeUndefined()
}

describe("a key's proven values over HTTP", () => {
  layer(Server.layer(), { excludeTestServices: true, timeout: "90 seconds" })((it) => {
    it.effect("from memory, then from disk once its header left the window; 404 and 400 with reasons", () =>
      Effect.gen(function*() {
        const { dataDir } = yield* Server.TestServer
        const key: KeyFile = yield* InstanceKeyFile.loadOrCreate(instanceKeyPath(dataDir))
        let nonce = 1000
        const message = (type: MessageType, payload: unknown): Envelope => {
          nonce += 1
          return envelope(key, { type, payload, nonce, lamport: nonce, deps: [] })
        }
        const head = (height: number) =>
          message("ChainHeadVerified", {
            chain: "proven-chain",
            kind: "evm",
            height,
            hash: hashAt(height),
            parentHash: height === 0 ? "00".repeat(32) : hashAt(height - 1),
            stateRoot: hash(`root:${height}`),
            time: 1_700_000_000_000 + height
          })
        const proof = (height: number, value: string) =>
          message("LightClientProof", { chain: "proven-chain", height, headerHash: hashAt(height), kind: "eip1186", key: KEY, value, proof: "c0" })
        const submit = (envelopes: ReadonlyArray<Envelope>) =>
          Effect.gen(function*() {
            for (let i = 0; i < envelopes.length; i += 256) {
              const r = yield* Server.post(envelopes.slice(i, i + 256))
              expect(r.status, r.text.slice(0, 300)).toBe(200)
              expect(r.json.results.every((x: any) => x.ok === true), r.text.slice(0, 300)).toBe(true)
            }
          })
        yield* submit([head(0), head(1), proof(1, "01"), head(2), proof(2, "02")])
        const path = `/v1/chains/proven-chain/proven?key=${KEY}`
        const held = yield* Server.eventually(Server.get(path), (r) => r.status === 200)
        expect([held.status, held.json.archived, held.json.proven.map((p: any) => [p.height, p.value])]).toEqual([200, false, [[1, "01"], [2, "02"]]])
        conforms(path, 200, held.json)

        // The head moves RETAINED_HEADERS past height 2: the key's newest header leaves the window.
        yield* submit(Array.from({ length: RETAINED_HEADERS }, (_, i) => head(3 + i)))
        const top = RETAINED_HEADERS + 2
        yield* Server.eventually(Server.get("/v1/chains/proven-chain"), (r) => r.status === 200 && r.json.latest?.height === top, 30_000)
        const chain = (yield* Server.get("/v1/chains/proven-chain")).json
        expect(chain.proven).toEqual([])
        const archived = yield* Server.get(path)
        expect([archived.status, archived.json.archived]).toEqual([200, true])
        expect({ ...archived.json, archived: false, offset: held.json.offset }).toEqual(held.json)
        conforms(path, 200, archived.json)

        const never = yield* Server.get(`/v1/chains/proven-chain/proven?key=${"bb".repeat(20)}`)
        expect([never.status, never.json._tag]).toEqual([404, "ProvenValueNotFound"])
        expect(never.json.reason).toMatch(/was proven on proven-chain/)
        conforms("/v1/chains/proven-chain/proven", 404, never.json)
        const unknown = yield* Server.get(`/v1/chains/nowhere/proven?key=${KEY}`)
        expect([unknown.status, unknown.json._tag]).toEqual([404, "UnknownChain"])
        const malformed = yield* Server.get("/v1/chains/proven-chain/proven?key=XYZ")
        expect(malformed.status).toBe(400)
      }))
  })
})
