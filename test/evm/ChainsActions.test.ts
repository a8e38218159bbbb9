/**
 * The chains group's actions on a real server (the composition root's core with an EVM chain)
 * over a real anvil behind a switchable JSON-RPC proxy: a storage proof asked over HTTP is
 * published as the instance's LightClientProof and verifies offline against the header the
 * log holds; a watch decided over HTTP is in the log, survives a restart, publishes on value
 * change and stops when removed; a raw transaction submitted over HTTP is mined; every
 * failure has its typed status (400 key, 404 chain / height, 502 lying RPC with nothing
 * published, 503 unreachable, 422 refused transaction).
 */
import { createServer, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Result } from "effect"
import { verifyEip1186Proof } from "../../src/domain/verify/Eip1186.ts"
import type { ServeConfig } from "../../src/Config.ts"
import { coreLayer } from "../../src/main.ts"
import { MAX_WATCHES } from "../../src/domain/effects/EffectFold.ts"
import { MAX_CHAIN_WATCHES } from "../../src/projections/ChainWatches/ChainWatches.ts"
import { eventually, get, layer as serverLayer, request, sample, TestServer } from "../http/support/server.ts"
import { type Anvil, anvil, blockNumber, deployStore, receiptOf, signedTransfer, store } from "./support/Anvil.ts"

const word = (n: bigint) => n.toString(16).padStart(64, "0")
const postJson = (path: string, body: unknown) =>
  request("POST", path, { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
const rpcBlock = async (node: Anvil, height: number) => await node.rpc("eth_getBlockByNumber", [`0x${height.toString(16)}`, false])

/** A JSON-RPC proxy to `target` that can lie about eth_getProof values or drop every connection. */
const proxy = (target: string) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ url: string; mode: { lie: boolean; down: boolean }; close: () => Promise<void> }>((resolve) => {
        const mode = { lie: false, down: false }
        const server = createServer((req: IncomingMessage, res) => {
          if (mode.down) return void req.socket.destroy()
          let text = ""
          req.setEncoding("utf8").on("data", (d: string) => (text += d)).on("end", () => {
            void fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: text })
              .then((r) => r.json() as Promise<any>)
              .then((body) => {
                const call = JSON.parse(text) as { method?: string }
                if (mode.lie && call.method === "eth_getProof" && body.result?.storageProof?.[0] !== undefined) {
                  body.result.storageProof[0].value = "0x2b"
                }
                res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body))
              })
          })
        })
        server.listen(0, "127.0.0.1", () =>
          resolve({
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
            mode,
            close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r())))
          }))
      })
    ),
    (p) => Effect.promise(() => p.close())
  )

const serverOver = (url: string, dataDir?: string, watchesPerToken?: ServeConfig["watchesPerToken"]) =>
  serverLayer({
    ...(dataDir === undefined ? {} : { dataDir }),
    core: (config, runner) =>
      coreLayer({ ...config, ...(watchesPerToken === undefined ? {} : { watchesPerToken }), evm: { chainId: "anvil", rpcUrls: [url], confirmations: 1, pollIntervalMs: 25 } }, runner)
  })

/** The instance's messages of a type, from the log over HTTP. */
/** How many records of a type the log holds, once the log index has folded the whole log. */
const countOf = (type: string) =>
  Effect.gen(function*() {
    const end = Number(sample((yield* get("/metrics")).text, "causeway_log_end_offset"))
    const index = yield* eventually(get("/v1/projections/log-index?limit=1"), (r) => r.json?.offset >= end, 10_000)
    return (index.json.state.byType[type] ?? 0) as number
  })

const messagesOf = (type: string) =>
  get("/v1/messages?limit=1000").pipe(Effect.map((r) => (r.json as Array<any>).filter((m) => m.type === type)))

describe("POST /v1/chains/{chain}/proofs", () => {
  it.live("publishes a verified storage proof as a LightClientProof; typed errors otherwise", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      // Not at height 1: anvil's genesis carries the empty trie as its state root, so nothing proves at 0.
      yield* Effect.promise(() => node.rpc("anvil_mine", ["0x1"]))
      const address = yield* Effect.promise(() => deployStore(node))
      const rpc = yield* proxy(node.url)
      yield* Effect.gen(function*() {
        const height = yield* Effect.promise(() => blockNumber(node))
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === height, 10_000)

        const ok = yield* postJson("/v1/chains/anvil/proofs", { key: `${address}/0` })
        expect(ok.status).toBe(200)
        const block = yield* Effect.promise(() => rpcBlock(node, height))
        expect(ok.json.proof).toMatchObject({ chain: "anvil", height, headerHash: block.hash.slice(2), kind: "eip1186", key: address.slice(2) + word(0n), value: word(0x2an) })
        expect(ok.json.header).toMatchObject({ height, hash: block.hash.slice(2), stateRoot: block.stateRoot.slice(2) })
        // The proof verifies offline against the state root the log holds.
        const getProof = JSON.parse(Buffer.from(ok.json.proof.proof, "hex").toString("utf8"))
        const verified = verifyEip1186Proof(`0x${ok.json.header.stateRoot}`, getProof)
        expect(Result.isSuccess(verified)).toBe(true)
        // In the log: the instance's LightClientProof, depending on the header's message.
        const message = yield* get(`/v1/messages/${ok.json.receipt.id}`)
        expect(message.status).toBe(200)
        expect(message.json).toMatchObject({ type: "LightClientProof", offset: ok.json.receipt.offset, deps: [ok.json.header.messageId] })
        expect(message.json.envelope.payload).toEqual(ok.json.proof)
        const chain = yield* eventually(get("/v1/chains/anvil"), (r) => r.json.proven.length === 1)
        expect(chain.json.proven).toEqual([expect.objectContaining({ key: ok.json.proof.key, value: word(0x2an), messageId: ok.json.receipt.id })])

        // An explicit older height, the account form of the key.
        const older = yield* postJson("/v1/chains/anvil/proofs", { key: address, height: height - 1 })
        expect(older.status, older.text).toBe(200)
        expect(older.json.proof).toMatchObject({ height: height - 1, key: address.slice(2) })

        const badKey = yield* postJson("/v1/chains/anvil/proofs", { key: "0x1234/zz" })
        expect(badKey.status).toBe(400)
        expect(badKey.json).toMatchObject({ _tag: "InvalidStateKey", key: "0x1234/zz" })
        expect(badKey.json.reason).toMatch(/neither an address/)
        expect((yield* postJson("/v1/chains/anvil/proofs", { height: 1 })).json._tag).toBe("InvalidRequest")
        const unknown = yield* postJson("/v1/chains/nope/proofs", { key: address })
        expect(unknown.status).toBe(404)
        expect(unknown.json._tag).toBe("UnknownChain")
        const above = yield* postJson("/v1/chains/anvil/proofs", { key: address, height: height + 50 })
        expect(above.status).toBe(404)
        expect(above.json).toMatchObject({ _tag: "HeaderNotFound", height: height + 50 })

        const before = (yield* messagesOf("LightClientProof")).length
        rpc.mode.lie = true
        const lie = yield* postJson("/v1/chains/anvil/proofs", { key: `${address}/0` })
        expect(lie.status).toBe(502)
        expect(lie.json).toMatchObject({ _tag: "ChainAnswerInvalid", failure: "InvalidProof" })
        expect(lie.json.reason).toMatch(/nothing was published/)
        expect((yield* messagesOf("LightClientProof")).length).toBe(before)
        rpc.mode.lie = false
        rpc.mode.down = true
        const down = yield* postJson("/v1/chains/anvil/proofs", { key: `${address}/0` })
        expect(down.status).toBe(503)
        expect(down.json._tag).toBe("ChainUnreachable")
        expect((yield* messagesOf("LightClientProof")).length).toBe(before)
      }).pipe(Effect.provide(Layer.fresh(serverOver(rpc.url))))
    }), 60_000)
})

describe("/v1/chains/{chain}/watches", () => {
  it.live("records a watch in the log, keeps it across a restart, publishes on change, stops when removed", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const address = yield* Effect.promise(() => deployStore(node))
      const dataDir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "causeway-watch-"))),
        (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
      )
      const key = address.slice(2) + word(1n)
      const valueOf = (r: { json: any }) => r.json?.proven?.find((p: any) => p.key === key)?.value
      yield* Effect.gen(function*() {
        const height = yield* Effect.promise(() => blockNumber(node))
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === height, 10_000)
        const added = yield* postJson("/v1/chains/anvil/watches", { key: `${address}/1` })
        expect(added.status).toBe(200)
        expect(added.json).toMatchObject({ chain: "anvil", created: true, watch: { key } })
        expect(added.json.proof.proof).toMatchObject({ key, value: "" }) // slot 1 is unset: a proven absence
        const decision = yield* get(`/v1/messages/${added.json.watch.messageId}`)
        expect(decision.json).toMatchObject({ type: "ChainWatchAdded", deps: [added.json.proof.receipt.id] })
        expect(decision.json.envelope.payload).toEqual({ chain: "anvil", key, owner: "test-admin" })
        const again = yield* postJson("/v1/chains/anvil/watches", { key })
        expect(again.json).toMatchObject({ created: false, watch: { key, messageId: added.json.watch.messageId }, proof: null })
        expect((yield* get("/v1/chains/anvil/watches")).json).toEqual({ chain: "anvil", watches: [{ key, messageId: added.json.watch.messageId, owner: "test-admin" }] })

        yield* Effect.promise(() => store(node, address, 1n, 7n))
        const changed = yield* eventually(get("/v1/chains/anvil"), (r) => valueOf(r) === word(7n), 10_000)
        expect(valueOf(changed)).toBe(word(7n))
      }).pipe(Effect.provide(Layer.fresh(serverOver(node.url, dataDir))))

      // Restarted over the same data directory: the log says what it watches.
      yield* Effect.gen(function*() {
        const listed = yield* eventually(get("/v1/chains/anvil/watches"), (r) => r.json?.watches?.length === 1)
        expect(listed.json.watches[0].key).toBe(key)
        // Its owner too, restored from the log.
        expect(listed.json.watches[0].owner).toBe("test-admin")
        yield* Effect.promise(() => store(node, address, 1n, 8n))
        const changed = yield* eventually(get("/v1/chains/anvil"), (r) => valueOf(r) === word(8n), 10_000)
        expect(valueOf(changed)).toBe(word(8n))

        const removed = yield* request("DELETE", `/v1/chains/anvil/watches?key=${key}`)
        expect(removed.status, removed.text).toBe(200)
        expect((yield* get(`/v1/messages/${removed.json.receipt.id}`)).json).toMatchObject({ type: "ChainWatchRemoved", deps: [listed.json.watches[0].messageId] })
        expect((yield* get("/v1/chains/anvil/watches")).json.watches).toEqual([])
        const gone = yield* request("DELETE", `/v1/chains/anvil/watches?key=${key}`)
        expect(gone.status).toBe(404)
        expect(gone.json._tag).toBe("WatchNotFound")
        expect((yield* request("DELETE", "/v1/chains/anvil/watches?key=not-hex")).status).toBe(400)

        // No longer watched: a change is not published.
        const proofs = (yield* messagesOf("LightClientProof")).length
        yield* Effect.promise(() => store(node, address, 1n, 9n))
        yield* Effect.promise(() => node.rpc("anvil_mine", ["0x2"]))
        const later = (yield* Effect.promise(() => blockNumber(node))) - 2
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height >= later + 2, 10_000)
        expect((yield* messagesOf("LightClientProof")).length).toBe(proofs)
        expect(valueOf(yield* get("/v1/chains/anvil"))).toBe(word(8n))
      }).pipe(Effect.provide(Layer.fresh(serverOver(node.url, dataDir))))
    }), 90_000)
})

describe("POST /v1/chains/{chain}/transactions", () => {
  it.live("submits a signed raw transaction that is mined; typed errors otherwise", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const raw = yield* Effect.promise(signedTransfer)
      yield* Effect.gen(function*() {
        const sent = yield* postJson("/v1/chains/anvil/transactions", { raw })
        expect(sent.status).toBe(200)
        expect(sent.json.chain).toBe("anvil")
        const receipt = yield* Effect.promise(() => receiptOf(node, `0x${sent.json.hash}`))
        expect(receipt.status).toBe("0x1")
        const replayed = yield* postJson("/v1/chains/anvil/transactions", { raw })
        expect(replayed.status).toBe(422)
        expect(replayed.json._tag).toBe("TransactionRejected")
        expect((yield* postJson("/v1/chains/anvil/transactions", { raw: "0xzz" })).status).toBe(400)
        expect((yield* postJson("/v1/chains/nope/transactions", { raw })).status).toBe(404)
      }).pipe(Effect.provide(Layer.fresh(serverOver(node.url))))
    }), 60_000)
})

describe("the bound on a chain's watches", () => {
  it.live(`at most MAX_CHAIN_WATCHES (${MAX_CHAIN_WATCHES}) keys per chain: the next is 429 WatchLimitReached before anything is proven or published`, () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const address = yield* Effect.promise(() => deployStore(node))
      yield* Effect.gen(function*() {
        const height = yield* Effect.promise(() => blockNumber(node))
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === height, 10_000)
        for (let slot = 0; slot < MAX_CHAIN_WATCHES; slot++) {
          const added = yield* postJson("/v1/chains/anvil/watches", { key: `${address}/${slot}` })
          expect(added.status, added.text).toBe(200)
        }
        const [proofs, adds] = [yield* countOf("LightClientProof"), yield* countOf("ChainWatchAdded")]
        const refused = yield* postJson("/v1/chains/anvil/watches", { key: `${address}/${MAX_CHAIN_WATCHES}` })
        expect([refused.status, refused.json._tag, refused.json.limit]).toEqual([429, "WatchLimitReached", MAX_CHAIN_WATCHES])
        expect(refused.json.reason).toContain("remove one first")
        expect([yield* countOf("LightClientProof"), yield* countOf("ChainWatchAdded")]).toEqual([proofs, adds])
        expect((yield* get("/v1/chains/anvil/watches")).json.watches.length).toBe(MAX_CHAIN_WATCHES)
        // An already watched key is still answered (nothing new), and removing one makes room.
        const key0 = address.slice(2) + word(0n)
        expect((yield* postJson("/v1/chains/anvil/watches", { key: key0 })).json.created).toBe(false)
        expect((yield* request("DELETE", `/v1/chains/anvil/watches?key=${key0}`)).status).toBe(200)
        expect((yield* postJson("/v1/chains/anvil/watches", { key: `${address}/${MAX_CHAIN_WATCHES}` })).status).toBe(200)
        // One token may own the chain's whole bound here: this is the chain's bound, not the token's.
      }).pipe(Effect.provide(Layer.fresh(serverOver(node.url, undefined, { chain: MAX_CHAIN_WATCHES }))))
    }), 120_000)
})

describe("the bound on the deployment's effect watches", () => {
  it.live(`at most MAX_WATCHES (${MAX_WATCHES}) active effect watches: the next is 429 EffectWatchLimitReached, nothing published`, () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      yield* Effect.gen(function*() {
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height >= 0, 10_000)
        let first = ""
        for (let i = 0; i < MAX_WATCHES; i++) {
          const added = yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: { address: i.toString(16).padStart(40, "0") } })
          expect(added.status, added.text).toBe(201)
          if (i === 0) first = added.json.watch.id
        }
        const adds = yield* countOf("EffectWatchAdded")
        expect(adds).toBe(MAX_WATCHES)
        const refused = yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: {} })
        expect([refused.status, refused.json._tag, refused.json.limit]).toEqual([429, "EffectWatchLimitReached", MAX_WATCHES])
        expect(yield* countOf("EffectWatchAdded")).toBe(adds)
        // Removing one makes room.
        expect((yield* request("DELETE", `/v1/effects/watches?id=${first}`)).status).toBe(200)
        expect((yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: {} })).status).toBe(201)
        // One token may own the deployment's whole bound here: this is the deployment's bound, not the token's.
      }).pipe(Effect.provide(Layer.fresh(serverOver(node.url, undefined, { effect: MAX_WATCHES }))))
    }), 180_000)
})

describe("the bound on one token's watches", () => {
  it.live("a token past its chain and effect watch bounds is 429 before anything is proven or published, another token still adds; a removal frees a slot; the listings show owners", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const address = yield* Effect.promise(() => deployStore(node))
      yield* Effect.gen(function*() {
        const server = yield* TestServer
        const [alice, bob] = [server.tokens.alice as string, server.tokens.bob as string]
        const postAs = (path: string, body: unknown, token: string) =>
          request("POST", path, { body: JSON.stringify(body), headers: { "content-type": "application/json" }, token })
        const height = yield* Effect.promise(() => blockNumber(node))
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === height, 10_000)

        // Chain watches: two for alice, the third refused before its proof.
        for (const slot of [0, 1]) expect((yield* postAs("/v1/chains/anvil/watches", { key: `${address}/${slot}` }, alice)).status).toBe(200)
        const [proofs, adds] = [yield* countOf("LightClientProof"), yield* countOf("ChainWatchAdded")]
        const refused = yield* postAs("/v1/chains/anvil/watches", { key: `${address}/2` }, alice)
        expect([refused.status, refused.json._tag, refused.json.limit]).toEqual([429, "WatchLimitReached", 2])
        expect(refused.json.reason).toBe('the token "alice" owns 2 chain watches, the most one token may; remove one of them first (DELETE /v1/chains/{chain}/watches)')
        expect([yield* countOf("LightClientProof"), yield* countOf("ChainWatchAdded")]).toEqual([proofs, adds])
        // Another token (and the admin's, under its own name) still adds.
        const bobs = yield* postAs("/v1/chains/anvil/watches", { key: `${address}/2` }, bob)
        expect([bobs.status, bobs.json.watch.owner]).toEqual([200, "bob"])
        expect((yield* postJson("/v1/chains/anvil/watches", { key: `${address}/3` })).json.watch.owner).toBe("test-admin")
        const listed = (yield* get("/v1/chains/anvil/watches")).json.watches as ReadonlyArray<{ key: string; owner: string | null }>
        expect(listed.map((w) => w.owner)).toEqual(["alice", "alice", "bob", "test-admin"])
        // The decision carries its owner in the log.
        const added = yield* messagesOf("ChainWatchAdded")
        expect(added.map((m) => m.envelope.payload.owner)).toEqual(["alice", "alice", "bob", "test-admin"])
        // Removing one of alice's (with any token of the scope) frees her slot.
        expect((yield* request("DELETE", `/v1/chains/anvil/watches?key=${listed[0]?.key}`, { token: bob })).status).toBe(200)
        const again = yield* postAs("/v1/chains/anvil/watches", { key: `${address}/4` }, alice)
        expect([again.status, again.json.created, again.json.watch.owner]).toEqual([200, true, "alice"])
        expect((yield* postAs("/v1/chains/anvil/watches", { key: `${address}/5` }, alice)).status).toBe(429)

        // Effect watches: the same for alice's two.
        const watch = (i: number) => ({ chain: "anvil", kind: "evm-log", filter: { address: i.toString(16).padStart(40, "0") } })
        const firsts = [] as Array<string>
        for (const i of [0, 1]) {
          const created = yield* postAs("/v1/effects/watches", watch(i), alice)
          expect([created.status, created.json.watch.owner]).toEqual([201, "alice"])
          firsts.push(created.json.watch.id)
        }
        const effectAdds = yield* countOf("EffectWatchAdded")
        const over = yield* postAs("/v1/effects/watches", watch(2), alice)
        expect([over.status, over.json._tag, over.json.limit]).toEqual([429, "EffectWatchLimitReached", 2])
        expect(over.json.reason).toBe('the token "alice" owns 2 active effect watches, the most one token may; remove one of them first (DELETE /v1/effects/watches)')
        expect(yield* countOf("EffectWatchAdded")).toBe(effectAdds)
        expect((yield* postAs("/v1/effects/watches", watch(2), bob)).status).toBe(201)
        const effectWatches = (yield* get("/v1/effects/watches")).json.watches as ReadonlyArray<{ id: string; owner?: string }>
        expect(effectWatches.map((w) => w.owner).sort()).toEqual(["alice", "alice", "bob"])
        expect((yield* request("DELETE", `/v1/effects/watches?id=${firsts[0]}`, { token: alice })).status).toBe(200)
        expect((yield* postAs("/v1/effects/watches", watch(3), alice)).status).toBe(201)
      }).pipe(Effect.provide(Layer.fresh(serverLayer({
        tokens: { alice: ["chains", "effects"], bob: ["chains", "effects"] },
        core: (config, runner) =>
          coreLayer({ ...config, watchesPerToken: { chain: 2, effect: 2 }, evm: { chainId: "anvil", rpcUrls: [node.url], confirmations: 1, pollIntervalMs: 25 } }, runner)
      }))))
    }), 120_000)
})
