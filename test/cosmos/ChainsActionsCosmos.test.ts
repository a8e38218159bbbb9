/**
 * The chains group's actions on a Cosmos chain, end to end on the composition root over the
 * in-process CometBFT RPC server (no CometBFT node runs here): an ICS23 store proof asked
 * over HTTP is published as a LightClientProof and verifies against the app hash of the
 * header the log holds; a forged abci_query answer is a 502 with nothing published; a
 * kvstore transaction submitted over HTTP is committed and a watch of its key publishes the
 * new value; a node that is down is a 503.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { verifyStoreProof } from "../../src/adapters/cosmos/StoreProof.ts"
import { coreLayer } from "../../src/main.ts"
import { eventually, get, layer as serverLayer, request } from "../http/support/server.ts"
import { makeValidators, seconds } from "../verify/cometbft/ChainBuilder.ts"
import { type CometBftRpcServer, startCometBftRpcServer } from "./support/CometBftRpcServer.ts"
import { TestChain } from "./support/TestChain.ts"

const CHAIN = "cosmos-actions-1"
const VALIDATORS = makeValidators(4, "actions")
const hex = (text: string) => Buffer.from(text, "utf8").toString("hex")
const postJson = (path: string, body: unknown) =>
  request("POST", path, { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
const proofsInLog = get("/v1/messages?limit=1000").pipe(Effect.map((r) => (r.json as Array<any>).filter((m) => m.type === "LightClientProof").length))

describe("chain actions on a served Cosmos chain", () => {
  it.live("proves, watches and submits through the light-client-verified observer", () =>
    Effect.scoped(
      Effect.gen(function*() {
        const chain = new TestChain({
          chainId: CHAIN,
          genesisTimeNanos: BigInt(Date.now() - 600_000) * 1_000_000n,
          blockIntervalNanos: seconds(1),
          validatorsAt: () => VALIDATORS,
          genesisState: new Map([["kv", new Map([["6b", Uint8Array.of(1)]])]])
        })
        chain.produceBlocks(3)
        const node = yield* Effect.acquireRelease(Effect.promise(() => startCometBftRpcServer(chain)), (s: CometBftRpcServer) => Effect.promise(() => s.close()))
        const server = serverLayer({
          core: (config, runner) =>
            coreLayer({ ...config, cosmos: { rpc: node.url, chainId: CHAIN, trustedHeight: 1, trustedHash: chain.block(1)?.blockId.hash ?? "", witnesses: [], pollIntervalMs: 25 } }, runner)
        })
        yield* Effect.gen(function*() {
          yield* eventually(get(`/v1/chains/${CHAIN}`), (r) => r.json?.latest?.height === 3, 15_000)
          const key = hex("kv/") + "6b"

          // Default height: the state the latest verified header (3) commits to, after block 2.
          const ok = yield* postJson(`/v1/chains/${CHAIN}/proofs`, { key: "kv/6b" })
          expect(ok.status, ok.text).toBe(200)
          expect(ok.json.proof).toMatchObject({ chain: CHAIN, height: 2, kind: "ics23", key, value: "01" })
          expect(ok.json.header).toMatchObject({ height: 3, hash: chain.block(3)?.blockId.hash.toLowerCase() })
          expect(verifyStoreProof(ok.json.header.stateRoot, key, ok.json.proof.value, ok.json.proof.proof)).toBe(true)
          expect(verifyStoreProof(ok.json.header.stateRoot, key, "02", ok.json.proof.proof)).toBe(false)
          const message = yield* get(`/v1/messages/${ok.json.receipt.id}`)
          expect(message.json).toMatchObject({ type: "LightClientProof", deps: [ok.json.header.messageId] })
          const absent = yield* postJson(`/v1/chains/${CHAIN}/proofs`, { key: "kv/ff", height: 2 })
          expect(absent.status, absent.text).toBe(200)
          expect(absent.json.proof).toMatchObject({ height: 2, value: "" })

          expect((yield* postJson(`/v1/chains/${CHAIN}/proofs`, { key: "no-slash-zz" })).json._tag).toBe("InvalidStateKey")
          // Header 2 was never announced in the log (following began at 3): nothing to check a proof of state 1 against.
          const unheld = yield* postJson(`/v1/chains/${CHAIN}/proofs`, { key: "kv/6b", height: 1 })
          expect(unheld.status).toBe(404)
          expect(unheld.json).toMatchObject({ _tag: "HeaderNotFound", height: 1 })
          const before = yield* proofsInLog
          node.tamper = (method, _params, result) => {
            if (method !== "abci_query") return result
            const r = structuredClone(result) as { response: { value: string | null } }
            r.response.value = Buffer.from("999").toString("base64")
            return r
          }
          const lie = yield* postJson(`/v1/chains/${CHAIN}/proofs`, { key: "kv/6b" })
          expect(lie.status).toBe(502)
          expect(lie.json).toMatchObject({ _tag: "ChainAnswerInvalid", failure: "InvalidProof" })
          expect(yield* proofsInLog).toBe(before)
          node.tamper = undefined

          const watch = yield* postJson(`/v1/chains/${CHAIN}/watches`, { key: "kv/6b" })
          expect(watch.json).toMatchObject({ created: true, watch: { key } })
          const tx = yield* postJson(`/v1/chains/${CHAIN}/transactions`, { raw: hex("k=05") })
          expect(tx.status, tx.text).toBe(200)
          expect(tx.json.hash).toMatch(/^[0-9a-f]{64}$/)
          const refused = yield* postJson(`/v1/chains/${CHAIN}/transactions`, { raw: hex("no-equals") })
          expect(refused.status).toBe(422)
          expect(refused.json.reason).toMatch(/CheckTx code 1/)
          // Committed in block 4; its state is committed to by header 5.
          chain.produceBlocks(2)
          const changed = yield* eventually(get(`/v1/chains/${CHAIN}`), (r) => r.json?.proven?.find((p: any) => p.key === key)?.value === hex("05"), 15_000)
          expect(changed.json.proven.find((p: any) => p.key === key)).toMatchObject({ value: hex("05"), kind: "ics23" })

          node.down = true
          const down = yield* postJson(`/v1/chains/${CHAIN}/proofs`, { key: "kv/6b" })
          expect(down.status, down.text).toBe(503)
          expect(down.json._tag).toBe("ChainUnreachable")
        }).pipe(Effect.provide(Layer.fresh(server)))
      })
    ), 60_000)
})
