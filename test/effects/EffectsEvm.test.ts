/**
 * The effect tracker end to end on a real anvil behind a JSON-RPC proxy that can lie: a watch
 * decided over HTTP; a contract's log appears as an effect with a receipts proof that verifies
 * offline (causeway/verify's verifyReceiptLog on the EffectsObserved message the effect names);
 * a log no watch matches is not tracked; an RPC that alters a receipt moves nothing; the effect
 * becomes final with the chain's marks; anvil_reorg drops a block and its effect is retracted;
 * the log replayed from scratch folds to the live state, digest for digest. Effects resolve by
 * their transaction's hash (legacy, EIP-2930 and EIP-1559 transactions in one block, hashes as
 * viem's sendTransaction returned them), proven against anvil's transactionsRoot; an RPC that
 * alters one transaction of the block costs the alias, not the effect.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import { createWalletClient, http, keccak256 } from "viem"
import { privateKeyToAccount } from "viem/accounts"
import { verifyReceiptLog, verifyTransactionProof } from "causeway/verify"
import { coreLayer } from "../../src/main.ts"
import { expectReplayEqualsLive, liveEffects } from "./support/replay.ts"
import { eventually, get, layer as serverLayer, request, TestServer } from "../http/support/server.ts"
import { connect, type SseEvent } from "../http/support/sse.ts"
import { type Anvil, anvil, blockNumber, DEV_KEY, EMITTER_CONTRACT, lyingProxy, receiptOf, sendAndMine } from "../evm/support/Anvil.ts"

const EMITTER = EMITTER_CONTRACT
const TOPIC_A = "aa".repeat(32)
const TOPIC_B = "bb".repeat(32)

const postJson = (path: string, body: unknown) => request("POST", path, { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
const effects = () => get("/v1/effects?chain=anvil").pipe(Effect.map((r) => r.json.effects as Array<any>))

const emit = (node: Anvil, address: string, topic: string, extra = "") => Effect.promise(() => sendAndMine(node, { to: address, data: `0x${topic}${extra}` }))

describe("effect tracker on anvil", () => {
  it.live("tracks a log with a verified receipt proof, follows finality, retracts on reorg; replay equals live", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      yield* Effect.promise(() => node.rpc("anvil_mine", ["0x1"]))
      const deployed = yield* Effect.promise(() => sendAndMine(node, { data: EMITTER }))
      const address = (deployed.contractAddress as string).toLowerCase()
      const lie = { on: false }
      const url = yield* lyingProxy(node.url, (method, _params, result) => {
        if (!lie.on || method !== "eth_getBlockReceipts" || !Array.isArray(result)) return result
        // Alter one byte of every log's data: the receipts no longer rebuild the header's root.
        return result.map((r: any) => ({ ...r, logs: r.logs.map((l: any) => ({ ...l, data: `${l.data.slice(0, -2)}${l.data.endsWith("00") ? "01" : "00"}` })) }))
      })
      const dataDir = mkdtempSync(join(tmpdir(), "causeway-effects-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const server = serverLayer({
        dataDir,
        core: (config, runner) => coreLayer({ ...config, evm: { chainId: "anvil", rpcUrls: [url], confirmations: 2, pollIntervalMs: 25 } }, runner)
      })

      const live = yield* Effect.gen(function*() {
        const start = yield* Effect.promise(() => blockNumber(node))
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === start, 10_000)

        // Typed refusals first.
        expect((yield* postJson("/v1/effects/watches", { chain: "nope", kind: "evm-log", filter: {} })).status).toBe(404)
        const ibc = yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "ibc-packet", filter: { port: "transfer", channel: "channel-0" } })
        expect([ibc.status, ibc.json._tag]).toEqual([422, "EffectKindUnsupported"])
        expect((yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: { address: "0xNOPE" } })).status).toBe(400)
        expect((yield* request("DELETE", `/v1/effects/watches?id=${"00".repeat(32)}`)).status).toBe(404)
        expect((yield* get("/v1/effects/evm-log:anvil:00:0:0")).status).toBe(404)
        // An id with a 64-character chain name and a block hash still reaches the handler (past the router's default 100).
        const long = yield* get(`/v1/effects/evm-log:${"c".repeat(64)}:${"00".repeat(32)}:0:0`)
        expect([long.status, long.json?._tag]).toEqual([404, "EffectNotFound"])

        const added = yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: { address: address.slice(2), topics: [TOPIC_A] } })
        expect(added.status).toBe(201)
        expect(added.json.watch).toMatchObject({ chain: "anvil", kind: "evm-log", id: added.json.receipt.id })
        expect((yield* get("/v1/effects/watches")).json.watches.map((w: any) => w.id)).toEqual([added.json.watch.id])

        // A lying RPC: the receipts of the block holding the log do not rebuild its root; nothing moves.
        lie.on = true
        const lied = yield* emit(node, address, TOPIC_A, "01")
        const liedHeight = Number(lied.blockNumber)
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height >= liedHeight, 10_000)
        yield* Effect.sleep("1 second")
        expect(yield* effects()).toEqual([])
        lie.on = false

        // Honest again: that block's log is tracked, and so is the next one; topic B is not watched.
        yield* emit(node, address, TOPIC_B, "02")
        const second = yield* emit(node, address, TOPIC_A, "03")
        const tracked = yield* eventually(effects(), (es) => es.length === 2, 15_000)
        expect(tracked.map((e) => [e.origin.height, e.log.topics[0], e.status])).toEqual([
          [liedHeight, `0x${TOPIC_A}`, "included"],
          [Number(second.blockNumber), `0x${TOPIC_A}`, "included"]
        ])
        expect(tracked[0].log.data).toBe(`0x${TOPIC_A}01`)
        expect(tracked[0].id).toBe(`evm-log:anvil:${(lied.blockHash as string).slice(2)}:0:0`)
        // This watch did not ask for transaction hashes: none is proven, none is an alias.
        expect(tracked.map((e) => [e.origin.transactionHash, e.aliases])).toEqual([[undefined, []], [undefined, []]])

        // The evidence re-checks offline from the message it names.
        const first = (yield* get(`/v1/effects/${tracked[0].id}`)).json.effect
        // The design's EffectEvolution names the id effectId: the answer carries both.
        expect(first.effectId).toBe(tracked[0].id)
        const message = (yield* get(`/v1/messages/${first.history[0].evidence.message}`)).json
        expect(message.envelope.type).toBe("EffectsObserved")
        const observed = message.envelope.payload
        const proven = verifyReceiptLog({
          header: { hash: `0x${observed.hash}`, rlp: `0x${observed.headerRlp}` },
          transactionIndex: observed.receipts[0].transactionIndex,
          proof: observed.receipts[0].proof.map((i: number) => `0x${observed.nodes[i]}`),
          logIndex: observed.receipts[0].logs[0]
        })
        expect(Result.isSuccess(proven) && proven.success.log).toEqual({ address, topics: [`0x${TOPIC_A}`], data: `0x${TOPIC_A}01` })
        expect(proven).toMatchObject({ success: { blockHash: lied.blockHash } })

        // Finality follows the marks (2 confirmations): the newest effect is at the head, two more blocks finalize it.
        // (The first was found late, after the lying RPC: its block was final by then, so it was final at once.)
        expect([tracked[0].finality, tracked[1].finality]).toEqual(["finalized", "latest"])
        yield* Effect.promise(() => node.rpc("anvil_mine", ["0x2"]))
        const final = yield* eventually(get(`/v1/effects/${tracked[1].id}`), (r) => r.json.effect.finality === "finalized", 10_000)
        expect(final.json.effect.history.map((m: any) => [m.status, m.finality, m.evidence.kind])).toEqual([
          ["included", "latest", "evm-receipt"],
          ["included", "finalized", "chain-finalized"]
        ])

        // A log in the newest block, then a reorg replacing that block: the effect is retracted.
        const doomed = yield* emit(node, address, TOPIC_A, "04")
        const doomedId = `evm-log:anvil:${(doomed.blockHash as string).slice(2)}:0:0`
        yield* eventually(get(`/v1/effects/${doomedId}`), (r) => r.status === 200, 15_000)
        // Followed as Server-Sent Events: the effect now, then its retraction.
        const { base } = yield* TestServer
        const opened = yield* Effect.promise(() => connect(`${base}/v1/effects/${doomedId}/events`))
        const nextEffect = (stream: typeof opened) => async (): Promise<SseEvent> => {
          for (;;) {
            const e = await stream.next()
            if (e === null) throw new Error("the effect stream ended")
            if (e.event === "effect") return e
          }
        }
        const now = yield* Effect.promise(nextEffect(opened))
        expect(JSON.parse(now.data as string)).toMatchObject({ id: doomedId, effectId: doomedId, status: "included" })
        expect(now.id).toMatch(/^\d+\.[0-9a-f]{16}$/)
        opened.close()
        // Resumed with the last event's id while the effect has not changed: no resend; the first
        // event is the next change.
        const stream = yield* Effect.promise(() => connect(`${base}/v1/effects/${doomedId}/events`, { "last-event-id": now.id as string }))
        yield* Effect.promise(() => node.rpc("anvil_reorg", [1, []]))
        const moved = yield* Effect.promise(nextEffect(stream))
        expect(JSON.parse(moved.data as string)).toMatchObject({ id: doomedId, status: "retracted" })
        expect(Number((moved.id as string).split(".")[0])).toBeGreaterThan(Number((now.id as string).split(".")[0]))
        stream.close()
        // Reconnecting (Last-Event-ID) sends the effect now first: nothing is missed.
        const resumed = yield* Effect.promise(() => connect(`${base}/v1/effects/${doomedId}/events`, { "last-event-id": now.id as string }))
        expect(JSON.parse(((yield* Effect.promise(async () => {
          for (;;) {
            const e = await resumed.next()
            if (e?.event === "effect" || e === null) return e
          }
        })) as SseEvent).data as string).status).toBe("retracted")
        resumed.close()
        expect((yield* get(`/v1/effects/${doomedId}x/events`)).status).toBe(404)
        // A Last-Event-ID that is neither an offset nor `<offset>.<digest>`: 400 with a reason.
        const badResume = yield* Effect.promise(() => fetch(`${base}/v1/effects/${doomedId}/events`, { headers: { "last-event-id": "yesterday" } }))
        expect(badResume.status).toBe(400)
        expect(yield* Effect.promise(() => badResume.json())).toMatchObject({ _tag: "InvalidRequest" })
        const retracted = yield* eventually(get(`/v1/effects/${doomedId}`), (r) => r.json.effect.status === "retracted", 15_000)
        expect(retracted.json.effect.evidence.kind).toBe("chain-reorged")
        const history = yield* get(`/v1/effects/${doomedId}/history`)
        expect(history.json.history.map((m: any) => m.status)).toEqual(["included", "retracted"])
        expect((yield* get("/v1/effects?status=retracted")).json.effects.map((e: any) => e.id)).toEqual([doomedId])

        // Stop the watch: later logs are not tracked.
        expect((yield* request("DELETE", `/v1/effects/watches?id=${added.json.watch.id}`)).status).toBe(200)
        yield* emit(node, address, TOPIC_A, "05")
        yield* Effect.sleep("1 second")
        expect((yield* effects()).length).toBe(3)

        return yield* liveEffects
      }).pipe(Effect.provide(Layer.fresh(server)))

      // Replay: the same records folded from nothing give the same state.
      yield* expectReplayEqualsLive(dataDir, live)
    }), 120_000)

  it.live("a watch added from a block below the scan position back-fills its past logs, by parent hash, with verified receipt proofs and no duplicates; replay equals live", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const address = ((yield* Effect.promise(() => sendAndMine(node, { data: EMITTER }))).contractAddress as string).toLowerCase()
      // Logs in early blocks, before the server runs: the log never holds their headers.
      const early: Array<any> = []
      for (const extra of ["01", "02", "03"]) early.push(yield* emit(node, address, TOPIC_B, extra))
      yield* Effect.promise(() => node.rpc("anvil_mine", ["0x2"]))
      const dataDir = mkdtempSync(join(tmpdir(), "causeway-backfill-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const server = serverLayer({
        dataDir,
        core: (config, runner) => coreLayer({ ...config, evm: { chainId: "anvil", rpcUrls: [node.url], confirmations: 2, pollIntervalMs: 25 } }, runner)
      })
      const idOf = (r: any) => `evm-log:anvil:${(r.blockHash as string).slice(2)}:0:0`

      const live = yield* Effect.gen(function*() {
        const start = yield* Effect.promise(() => blockNumber(node))
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === start, 10_000)
        // Watch A (topic A) from the head: the tracker scans past the early blocks' heights without them.
        const a = yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: { address: address.slice(2), topics: [TOPIC_A] } })
        expect(a.status).toBe(201)
        const logA = yield* emit(node, address, TOPIC_A, "04")
        yield* eventually(effects(), (es) => es.length === 1, 15_000)

        // Watch B (any topic of the emitter) from the first early block: back-filled down to it.
        const from = Number(early[0].blockNumber)
        const b = yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: { address: address.slice(2) }, fromHeight: from })
        expect(b.status).toBe(201)
        const watchA = a.json.watch.id as string
        const watchB = b.json.watch.id as string
        const all = yield* eventually(effects(), (es) => es.length === 4, 20_000)
        expect(all.map((e) => [e.id, e.status, e.watches])).toEqual([
          [idOf(logA), "included", [watchA, watchB]],
          ...[...early].reverse().map((r) => [idOf(r), "included", [watchB]])
        ])
        expect(all.slice(1).map((e) => e.log.data)).toEqual([`0x${TOPIC_B}03`, `0x${TOPIC_B}02`, `0x${TOPIC_B}01`])
        // The early blocks are final by now (2 confirmations): so are their effects, at once.
        expect(all.slice(1).map((e) => e.finality)).toEqual(["finalized", "finalized", "finalized"])
        const listed = yield* eventually(get("/v1/effects/watches"), (r) => r.json.watches.every((w: any) => w.backfill === null), 10_000)
        expect(listed.json.watches.map((w: any) => w.id).sort()).toEqual([watchA, watchB].sort())

        // A back-filled effect's evidence re-checks offline from the message it names.
        const first = (yield* get(`/v1/effects/${idOf(early[0])}`)).json.effect
        const message = (yield* get(`/v1/messages/${first.evidence.message}`)).json
        const observed = message.envelope.payload
        expect([message.envelope.type, observed.backfill, observed.height]).toEqual(["EffectsObserved", watchB, from])
        const proven = verifyReceiptLog({
          header: { hash: `0x${observed.hash}`, rlp: `0x${observed.headerRlp}` },
          transactionIndex: observed.receipts[0].transactionIndex,
          proof: observed.receipts[0].proof.map((i: number) => `0x${observed.nodes[i]}`),
          logIndex: observed.receipts[0].logs[0]
        })
        expect(proven).toMatchObject({ success: { blockHash: early[0].blockHash, log: { address, topics: [`0x${TOPIC_B}`], data: `0x${TOPIC_B}01` } } })

        // The forward scan covers B from the scan position on.
        const later = yield* emit(node, address, TOPIC_B, "05")
        yield* eventually(get(`/v1/effects/${idOf(later)}`), (r) => r.json?.effect?.watches?.join() === watchB, 15_000)
        return yield* liveEffects
      }).pipe(Effect.provide(Layer.fresh(server)))

      yield* expectReplayEqualsLive(dataDir, live)
    }), 120_000)

  it.live("a bridge journey: a fill seen before its deposit is linked when the deposit lands; reorged deposits flag their fills", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const depositor = ((yield* Effect.promise(() => sendAndMine(node, { data: EMITTER }))).contractAddress as string).toLowerCase()
      const filler = ((yield* Effect.promise(() => sendAndMine(node, { data: EMITTER }))).contractAddress as string).toLowerCase()
      const server = serverLayer({
        core: (config, runner) => coreLayer({ ...config, evm: { chainId: "anvil", rpcUrls: [node.url], confirmations: 2, pollIntervalMs: 25 } }, runner)
      })
      yield* Effect.gen(function*() {
        const start = yield* Effect.promise(() => blockNumber(node))
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === start, 10_000)
        // The bridge's message id is the data's second word (the first is the topic).
        for (const [address, role] of [[depositor, "deposit"], [filler, "fill"]] as const) {
          const added = yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: { address: address.slice(2) }, correlate: { route: "bridge", role, id: { dataWord: 1 } }, transactionHashes: true })
          expect(added.status, added.text).toBe(201)
        }
        const ID1 = "11".repeat(32)
        const ID2 = "22".repeat(32)
        const idOf = (r: any) => `evm-log:anvil:${(r.blockHash as string).slice(2)}:0:0`

        // The fill first: held, its alias names it.
        const fill1 = yield* emit(node, filler, TOPIC_B, ID1)
        const held = yield* eventually(get(`/v1/effects/bridge:0x${ID1}`), (r) => r.status === 200, 15_000)
        // Its aliases: the bridge's message id, and its transaction's proven hash.
        expect(held.json.effect).toMatchObject({ id: idOf(fill1), journeys: [], aliases: [`bridge:0x${ID1}`, fill1.transactionHash] })
        // The deposit lands: linked, delivered by the fill, and the alias now names the deposit.
        const deposit1 = yield* emit(node, depositor, TOPIC_A, ID1)
        const delivered = yield* eventually(get(`/v1/effects/bridge:0x${ID1}`), (r) => r.json?.effect?.id === idOf(deposit1), 15_000)
        expect(delivered.json.effect).toMatchObject({ status: "delivered", journeys: [{ role: "target", effect: idOf(fill1) }], causalDependents: [idOf(fill1)] })
        expect((yield* get(`/v1/effects/${idOf(fill1)}`)).json.effect).toMatchObject({ journeys: [{ role: "source", effect: idOf(deposit1) }], causalDependencies: [idOf(deposit1)] })

        // A second journey whose deposit is in the newest block: a reorg retracts it and flags its fill.
        const fill2 = yield* emit(node, filler, TOPIC_B, ID2)
        const deposit2 = yield* emit(node, depositor, TOPIC_A, ID2)
        yield* eventually(get(`/v1/effects/${idOf(deposit2)}`), (r) => r.json?.effect?.status === "delivered", 15_000)
        yield* Effect.promise(() => node.rpc("anvil_reorg", [1, []]))
        yield* eventually(get(`/v1/effects/${idOf(deposit2)}`), (r) => r.json.effect.status === "retracted", 15_000)
        expect((yield* get(`/v1/effects/${idOf(fill2)}`)).json.effect).toMatchObject({ status: "included", dependencyRetracted: true })

        // The first fill final: its deposit is settled, with the fill's chain mark as evidence.
        yield* Effect.promise(() => node.rpc("anvil_mine", ["0x3"]))
        const settled = yield* eventually(get(`/v1/effects/${idOf(deposit1)}`), (r) => r.json.effect.status === "settled", 15_000)
        const settling = (settled.json.effect.history as Array<any>).find((m) => m.status === "settled")
        expect(settling.evidence).toMatchObject({ kind: "chain-finalized", effect: idOf(fill1), chain: "anvil" })
      }).pipe(Effect.provide(Layer.fresh(server)))
    }), 120_000)

  it.live("across two chains: a deposit on one anvil is delivered and settled by its fill on another; a reorg of the fill's chain rolls it back", () =>
    Effect.gen(function*() {
      const source = yield* anvil()
      const target = yield* anvil()
      const depositor = ((yield* Effect.promise(() => sendAndMine(source, { data: EMITTER }))).contractAddress as string).toLowerCase()
      const filler = ((yield* Effect.promise(() => sendAndMine(target, { data: EMITTER }))).contractAddress as string).toLowerCase()
      const chain = (id: string, node: Anvil) => ({ chainId: id, rpcUrls: [node.url], confirmations: 2, pollIntervalMs: 25 })
      const server = serverLayer({
        core: (config, runner) => coreLayer({ ...config, evm: chain("source", source), evmChains: [chain("target", target)] }, runner)
      })
      yield* Effect.gen(function*() {
        for (const [name, node] of [["source", source], ["target", target]] as const) {
          const height = yield* Effect.promise(() => blockNumber(node))
          yield* eventually(get(`/v1/chains/${name}`), (r) => r.json?.latest?.height === height, 10_000)
        }
        const watch = (name: string, address: string, role: "deposit" | "fill") =>
          postJson("/v1/effects/watches", { chain: name, kind: "evm-log", filter: { address: address.slice(2) }, correlate: { route: "bridge", role, id: { dataWord: 1 } } })
        expect((yield* watch("source", depositor, "deposit")).status).toBe(201)
        expect((yield* watch("target", filler, "fill")).status).toBe(201)
        const ID = "33".repeat(32)
        const deposit = yield* emit(source, depositor, TOPIC_A, ID)
        const depositId = `evm-log:source:${(deposit.blockHash as string).slice(2)}:0:0`
        yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json?.effect?.status === "included", 15_000)

        // The fill lands on the other chain: the deposit is delivered, with the fill's receipt proof on "target" as evidence.
        const fill = yield* emit(target, filler, TOPIC_B, ID)
        const fillId = `evm-log:target:${(fill.blockHash as string).slice(2)}:0:0`
        const delivered = yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json.effect.status === "delivered", 15_000)
        expect(delivered.json.effect).toMatchObject({ journeys: [{ role: "target", effect: fillId }], evidence: { kind: "evm-receipt", effect: fillId, chain: "target" } })

        // The target chain drops the fill's block: the deposit is back to included.
        yield* Effect.promise(() => target.rpc("anvil_reorg", [1, []]))
        const rolled = yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json.effect.status === "included", 15_000)
        expect(rolled.json.effect.evidence).toMatchObject({ kind: "chain-reorged", effect: fillId, chain: "target" })
        expect((yield* get(`/v1/effects/${fillId}`)).json.effect.status).toBe("retracted")

        // A new fill, finalized on the target, settles the deposit; finality on the source alone does not.
        yield* Effect.promise(() => source.rpc("anvil_mine", ["0x3"]))
        const refill = yield* emit(target, filler, TOPIC_B, ID)
        const refillId = `evm-log:target:${(refill.blockHash as string).slice(2)}:0:0`
        yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json.effect.status === "delivered" && r.json.effect.finality === "finalized", 15_000)
        yield* Effect.promise(() => target.rpc("anvil_mine", ["0x3"]))
        const settled = yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json.effect.status === "settled", 15_000)
        expect(settled.json.effect.history.find((m: any) => m.status === "settled").evidence).toMatchObject({ kind: "chain-finalized", effect: refillId, chain: "target" })
      }).pipe(Effect.provide(Layer.fresh(server)))
    }), 120_000)

  it.live("a deposit with a deadline and no fill expires once the fill chain passes it, by that block's message; a refund then refunds it; replay equals live", () =>
    Effect.gen(function*() {
      const source = yield* anvil()
      const target = yield* anvil()
      const depositor = ((yield* Effect.promise(() => sendAndMine(source, { data: EMITTER }))).contractAddress as string).toLowerCase()
      const refunder = ((yield* Effect.promise(() => sendAndMine(source, { data: EMITTER }))).contractAddress as string).toLowerCase()
      const filler = ((yield* Effect.promise(() => sendAndMine(target, { data: EMITTER }))).contractAddress as string).toLowerCase()
      const dataDir = mkdtempSync(join(tmpdir(), "causeway-effects-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const chain = (id: string, node: Anvil) => ({ chainId: id, rpcUrls: [node.url], confirmations: 2, pollIntervalMs: 25 })
      const server = serverLayer({
        dataDir,
        core: (config, runner) => coreLayer({ ...config, evm: chain("source", source), evmChains: [chain("target", target)] }, runner)
      })
      const timeOf = (node: Anvil) => Effect.promise(() => node.rpc("eth_getBlockByNumber", ["latest", false])).pipe(Effect.map((b: any) => BigInt(b.timestamp)))
      const live = yield* Effect.gen(function*() {
        for (const [name, node] of [["source", source], ["target", target]] as const) {
          const height = yield* Effect.promise(() => blockNumber(node))
          yield* eventually(get(`/v1/chains/${name}`), (r) => r.json?.latest?.height === height, 10_000)
        }
        // Across's shape: the deposit id in data word 1, its fillDeadline (Unix seconds) in word 2.
        const watch = (name: string, address: string, role: "deposit" | "fill" | "refund") =>
          postJson("/v1/effects/watches", {
            chain: name,
            kind: "evm-log",
            filter: { address: address.slice(2) },
            correlate: { route: "across", role, id: { dataWord: 1 }, ...(role === "deposit" ? { deadline: { dataWord: 2 } } : {}) }
          })
        expect((yield* watch("source", depositor, "deposit")).status).toBe(201)
        expect((yield* watch("target", filler, "fill")).status).toBe(201)
        expect((yield* watch("source", refunder, "refund")).status).toBe(201)
        const ID = "44".repeat(32)
        const deadline = (yield* timeOf(target)) + 600n
        const deposit = yield* emit(source, depositor, TOPIC_A, `${ID}${deadline.toString(16).padStart(64, "0")}`)
        const depositId = `evm-log:source:${(deposit.blockHash as string).slice(2)}:0:0`
        const included = yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json?.effect?.status === "included", 15_000)
        expect(included.json.effect.deadline).toEqual({ time: deadline.toString(), passed: [] })

        // Blocks on the target before the deadline: still included.
        yield* Effect.promise(() => target.rpc("anvil_mine", ["0x2"]))
        const before = yield* Effect.promise(() => blockNumber(target))
        yield* eventually(get("/v1/chains/target"), (r) => r.json?.latest?.height >= before, 10_000)
        yield* Effect.sleep("500 millis")
        expect((yield* get(`/v1/effects/${depositId}`)).json.effect.status).toBe("included")

        // The target's next block is past the deadline, and no fill came: expired, that block's EffectsObserved the evidence.
        yield* Effect.promise(() => target.rpc("evm_setNextBlockTimestamp", [`0x${(deadline + 1n).toString(16)}`]))
        yield* Effect.promise(() => target.rpc("evm_mine", []))
        const expired = yield* eventually(get(`/v1/effects/across:0x${ID}`), (r) => r.json?.effect?.status === "expired", 15_000)
        const evidence = expired.json.effect.evidence
        expect(evidence).toMatchObject({ kind: "deadline-passed", chain: "target", time: (deadline + 1n).toString() })
        const passedBlock = yield* Effect.promise(() => target.rpc("eth_getBlockByNumber", [`0x${evidence.header.height.toString(16)}`, false]))
        expect(`0x${evidence.header.hash}`).toBe((passedBlock as any).hash)
        expect(BigInt((passedBlock as any).timestamp)).toBeGreaterThan(deadline)
        // The message carries the header: its keccak256 is the block's hash, its time field the one past the deadline.
        const message = (yield* get(`/v1/messages/${evidence.message}`)).json.envelope
        expect(message.type).toBe("EffectsObserved")
        expect(message.payload).toMatchObject({ chain: "target", height: evidence.header.height, hash: evidence.header.hash, last: true })
        expect(keccak256(`0x${message.payload.headerRlp}`)).toBe((passedBlock as any).hash)
        expect(expired.json.effect.deadline.passed).toEqual([{ chain: "target", height: evidence.header.height, hash: evidence.header.hash, message: evidence.message, time: evidence.time }])

        // The bridge refunds the depositor on the source chain: refunded, the refund's receipt proof the evidence.
        const refund = yield* emit(source, refunder, TOPIC_B, ID)
        const refundId = `evm-log:source:${(refund.blockHash as string).slice(2)}:0:0`
        const refunded = yield* eventually(get(`/v1/effects/${depositId}`), (r) => r.json?.effect?.status === "refunded", 15_000)
        expect(refunded.json.effect).toMatchObject({ journeys: [{ role: "refund", effect: refundId }], evidence: { kind: "evm-receipt", effect: refundId, chain: "source" } })
        expect(refunded.json.effect.history.map((m: any) => m.status)).toEqual(["included", "expired", "refunded"])
        expect((yield* get(`/v1/effects/${refundId}`)).json.effect).toMatchObject({ journeys: [{ role: "source", effect: depositId }], causalDependencies: [depositId] })
        return yield* liveEffects
      }).pipe(Effect.provide(Layer.fresh(server)))

      yield* expectReplayEqualsLive(dataDir, live)
    }), 120_000)

  it.live("a transaction's hash resolves to its effects: legacy, EIP-2930 and EIP-1559 in one block, proven against transactionsRoot; a lying block costs the alias only", () =>
    Effect.gen(function*() {
      const node = yield* anvil()
      const address = ((yield* Effect.promise(() => sendAndMine(node, { data: EMITTER }))).contractAddress as string).toLowerCase()
      const lie = { on: false }
      const url = yield* lyingProxy(node.url, (method, params, result) => {
        if (!lie.on || method !== "eth_getBlockByHash" || params[1] !== true || !Array.isArray(result?.transactions) || result.transactions.length === 0) return result
        // One transaction's value changed: its fields no longer hash to its hash, nor rebuild the root.
        const [first, ...rest] = result.transactions
        return { ...result, transactions: [{ ...first, value: "0x2a" }, ...rest] }
      })
      const server = serverLayer({
        core: (config, runner) => coreLayer({ ...config, evm: { chainId: "anvil", rpcUrls: [url], confirmations: 2, pollIntervalMs: 25 } }, runner)
      })
      const wallet = createWalletClient({ account: privateKeyToAccount(DEV_KEY), transport: http(node.url) })
      const chain = { id: 31337, name: "anvil", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [node.url] } } } as const
      yield* Effect.gen(function*() {
        const start = yield* Effect.promise(() => blockNumber(node))
        yield* eventually(get("/v1/chains/anvil"), (r) => r.json?.latest?.height === start, 10_000)
        expect((yield* postJson("/v1/effects/watches", { chain: "anvil", kind: "evm-log", filter: { address: address.slice(2) }, transactionHashes: true })).status).toBe(201)

        // Three transactions of three types in one block, each emitting one log.
        yield* Effect.promise(() => node.rpc("evm_setAutomine", [false]))
        const nonce = Number(yield* Effect.promise(() => node.rpc("eth_getTransactionCount", [wallet.account.address, "latest"])))
        const send = (type: "legacy" | "eip2930" | "eip1559", i: number) =>
          Effect.promise(() =>
            wallet.sendTransaction({
              chain,
              type,
              to: address as `0x${string}`,
              data: `0x${TOPIC_A}0${i}`,
              nonce: nonce + i,
              gas: 100_000n,
              ...(type === "eip1559" ? { maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1n } : { gasPrice: 10_000_000_000n }),
              ...(type === "eip2930" ? { accessList: [{ address: address as `0x${string}`, storageKeys: [`0x${"00".repeat(32)}`] }] } : {})
            } as never)
          )
        const hashes = [yield* send("legacy", 0), yield* send("eip2930", 1), yield* send("eip1559", 2)]
        yield* Effect.promise(() => node.rpc("evm_mine", []))
        yield* Effect.promise(() => node.rpc("evm_setAutomine", [true]))
        const receipts = yield* Effect.promise(() => Promise.all(hashes.map((h) => receiptOf(node, h))))
        expect(receipts.map((r) => [r.type, r.blockHash, Number(r.transactionIndex)])).toEqual([
          ["0x0", receipts[0].blockHash, 0],
          ["0x1", receipts[0].blockHash, 1],
          ["0x2", receipts[0].blockHash, 2]
        ])

        for (const [i, hash] of hashes.entries()) {
          const found = yield* eventually(get(`/v1/effects/${hash}`), (r) => r.status === 200, 15_000)
          expect(found.json.effect).toMatchObject({
            id: `evm-log:anvil:${(receipts[0].blockHash as string).slice(2)}:${i}:0`,
            aliases: [hash],
            origin: { transactionIndex: i, transactionHash: hash },
            log: { data: `0x${TOPIC_A}0${i}` }
          })
        }
        expect((yield* get(`/v1/effects?tx=${hashes[1]}`)).json.effects.map((e: any) => e.origin.transactionIndex)).toEqual([1])
        expect((yield* get(`/v1/effects?tx=${"0x" + "00".repeat(32)}`)).json.effects).toEqual([])
        expect((yield* get("/v1/effects?tx=nope")).status).toBe(400)

        // The transaction proof re-checks offline from the message, against the header it carries.
        const effect = (yield* get(`/v1/effects/${hashes[2]}`)).json.effect
        const observed = (yield* get(`/v1/messages/${effect.evidence.message}`)).json.envelope.payload
        const r = observed.receipts.find((x: any) => x.transactionIndex === 2)
        const proven = verifyTransactionProof({
          header: { hash: `0x${observed.hash}`, rlp: `0x${observed.headerRlp}` },
          transactionIndex: 2,
          proof: r.transactionProof.map((i: number) => `0x${observed.nodes[i]}`)
        })
        expect(proven).toMatchObject({ success: { transactionHash: hashes[2], blockHash: receipts[0].blockHash } })

        // A lying RPC alters one transaction of the block: the effect is proven by its receipt, without the alias.
        lie.on = true
        const lied = yield* Effect.promise(() => sendAndMine(node, { to: address, data: `0x${TOPIC_A}09` }))
        const liedId = `evm-log:anvil:${(lied.blockHash as string).slice(2)}:0:0`
        const tracked = yield* eventually(get(`/v1/effects/${liedId}`), (x) => x.status === 200, 15_000)
        lie.on = false
        expect(tracked.json.effect).toMatchObject({ status: "included", aliases: [] })
        expect(tracked.json.effect.origin.transactionHash).toBeUndefined()
        expect((yield* get(`/v1/effects/${lied.transactionHash}`)).status).toBe(404)
      }).pipe(Effect.provide(Layer.fresh(server)))
    }), 120_000)
})
