/**
 * IBC packet effects end to end on two in-process CometBFT chains (A sends on transfer/channel-0,
 * B receives on transfer/channel-1), each followed through the light client: a watch decided
 * over HTTP; a packet's journey commitment (A) → receipt (B) → acknowledgement (B) →
 * commitment deleted (A), each leg an ICS23 proof that re-checks offline against the app hash
 * of the verified header it names, ending settled; a packet left unreceived past its timeout
 * height proven timed out by the receipt's absence on B, then refunded; a node that lies about
 * a value moves nothing; an in-flight packet reported stuck; the acknowledgement's result read
 * from the destination's write_acknowledgement event (tx_search) only when its bytes hash to the
 * proven ack commitment: ok, error (then refunded on the deletion), or unknown when a node
 * reports bytes that do not hash to it; the log replayed from scratch
 * folds to the live state, digest for digest. The same journey for an IBC v2 packet, on
 * ibc-go's binary client keys (commitment, receipt 0x02, v2 ack commitment).
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { verifyStoreProof } from "../../src/adapters/cosmos/StoreProof.ts"
import type { CosmosChainConfig } from "../../src/Config.ts"
import { coreLayer } from "../../src/main.ts"
import { expectReplayEqualsLive, liveEffects } from "./support/replay.ts"
import { eventually, get, layer as serverLayer, request } from "../http/support/server.ts"
import { makeValidators, seconds } from "../verify/cometbft/ChainBuilder.ts"
import { type CometBftRpcServer, startCometBftRpcServer } from "../cosmos/support/CometBftRpcServer.ts"
import {
  commitmentOf,
  commitmentV2Of,
  deleteCommitment,
  deleteCommitmentV2,
  ibcKey,
  ICS20_ERROR_ACK,
  ICS20_SUCCESS_ACK,
  receivePacket,
  receivePacketV2,
  sendPacket,
  sendPacketV2,
  sendPacketV2Tx,
  sha256Hex,
  type TestPacket,
  type TestPacketV2,
  transferData,
  transferPayloadV2,
  UNIVERSAL_ERROR_ACK,
  writeAcknowledgement,
  writeAcknowledgementTx,
  writeAcknowledgementV2Tx
} from "../cosmos/support/IbcStore.ts"
import { TestChain } from "../cosmos/support/TestChain.ts"

const A = "chain-a"
const B = "chain-b"
const C = "chain-c"

const newChain = (chainId: string) => {
  const validators = makeValidators(4, chainId)
  return new TestChain({
    chainId,
    genesisTimeNanos: BigInt(Date.now() - 600_000) * 1_000_000n,
    blockIntervalNanos: seconds(1),
    validatorsAt: () => validators,
    genesisState: new Map([
      ["ibc", new Map([[ibcKey("nextSequenceSend/ports/transfer/channels/channel-0"), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1)]])],
      ["kv", new Map([["6b", Uint8Array.of(1)]])]
    ])
  })
}

const rpcServer = (chain: TestChain) =>
  Effect.acquireRelease(Effect.promise(() => startCometBftRpcServer(chain)), (s: CometBftRpcServer) => Effect.promise(() => s.close()))

const cosmosConfig = (chain: TestChain, node: CometBftRpcServer): CosmosChainConfig => ({
  rpc: node.url,
  chainId: chain.config.chainId,
  trustedHeight: 1,
  trustedHash: chain.block(1)?.blockId.hash ?? "",
  witnesses: [],
  pollIntervalMs: 25
})

const packet = (sequence: bigint, timeout: { readonly height?: bigint; readonly timestamp?: bigint }): TestPacket => ({
  sourcePort: "transfer",
  sourceChannel: "channel-0",
  destinationPort: "transfer",
  destinationChannel: "channel-1",
  sequence,
  data: transferData("uatom", String(100n * sequence), "cosmos1sender", "cosmos1receiver"),
  timeoutHeight: { revisionNumber: 0n, revisionHeight: timeout.height ?? 0n },
  timeoutTimestamp: timeout.timestamp ?? 0n
})

const postJson = (path: string, body: unknown) => request("POST", path, { body: JSON.stringify(body), headers: { "content-type": "application/json" } })
const packetAt = (id: string, query = "") => get(`/v1/ibc/packets/${id}${query}`)
const statusIs = (id: string, status: string) => eventually(packetAt(id), (r) => r.status === 200 && r.json.packet.status === status, 20_000)

describe("IBC packet effects on two CometBFT chains", () => {
  it.live("a transfer settles leg by leg, an unreceived packet times out and is refunded, a lying node moves nothing; replay equals live", () =>
    Effect.scoped(Effect.gen(function*() {
      const chainA = newChain(A)
      const chainB = newChain(B)
      chainA.produceBlocks(3)
      chainB.produceBlocks(3)
      const nodeA = yield* rpcServer(chainA)
      const nodeB = yield* rpcServer(chainB)
      const dataDir = mkdtempSync(join(tmpdir(), "causeway-ibc-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const server = serverLayer({
        dataDir,
        core: (config, runner) => coreLayer({ ...config, cosmos: cosmosConfig(chainA, nodeA), cosmosChains: [cosmosConfig(chainB, nodeB)] }, runner)
      })

      const live = yield* Effect.gen(function*() {
        yield* eventually(get(`/v1/chains/${A}`), (r) => r.json?.latest?.height === 3, 15_000)
        yield* eventually(get(`/v1/chains/${B}`), (r) => r.json?.latest?.height === 3, 15_000)

        // IBC v2 clients are refused; a destination no observer follows is unknown.
        const v2 = yield* postJson("/v1/effects/watches", { chain: A, kind: "ibc-packet", filter: { clientId: "07-tendermint-0" } })
        expect([v2.status, v2.json._tag]).toEqual([422, "EffectKindUnsupported"])
        const nowhere = yield* postJson("/v1/effects/watches", { chain: A, kind: "ibc-packet", filter: { port: "transfer", channel: "channel-0", destination: { chain: "nope", port: "transfer", channel: "channel-1" } } })
        expect(nowhere.status).toBe(404)

        const added = yield* postJson("/v1/effects/watches", {
          chain: A,
          kind: "ibc-packet",
          filter: { port: "transfer", channel: "channel-0", destination: { chain: B, port: "transfer", channel: "channel-1" } }
        })
        expect(added.status).toBe(201)

        // A node lying about the ibc store's values: the proofs do not prove them, nothing moves.
        nodeA.tamper = (method, params, result: any) => {
          if (method !== "abci_query" || params["path"] !== "/store/ibc/key" || typeof result?.response?.value !== "string") return result
          const bytes = Buffer.from(result.response.value, "base64")
          bytes[0] = (bytes[0] ?? 0) ^ 1
          return { ...result, response: { ...result.response, value: bytes.toString("base64") } }
        }
        const transfer = packet(1n, { timestamp: BigInt(Date.now() + 3_600_000) * 1_000_000n })
        const sent = sendPacket(transfer)
        chainA.produceBlock({ writes: sent.writes, results: [sent.result] })
        chainA.produceBlocks(1)
        yield* eventually(get(`/v1/chains/${A}`), (r) => r.json?.latest?.height === 5, 15_000)
        yield* Effect.sleep("1500 millis")
        expect((yield* get("/v1/ibc/packets")).json.packets).toEqual([])
        expect(nodeA.calls.some((c) => c.method === "abci_query" && c.params["path"] === "/store/ibc/subspace")).toBe(true)
        nodeA.tamper = undefined

        // Honest again: the commitment is proven, the packet is sent.
        const id = "ibc-packet:chain-a:transfer:channel-0:1"
        const first = yield* statusIs(id, "sent")
        expect(first.json.packet).toMatchObject({
          source: { chain: A, port: "transfer", channel: "channel-0" },
          destination: { chain: B, port: "transfer", channel: "channel-1" },
          sequence: "1",
          commitment: Buffer.from(commitmentOf(transfer)).toString("hex"),
          timeout: { revisionNumber: "0", revisionHeight: "0", timestamp: String(transfer.timeoutTimestamp) }
        })

        // Received on B, then acknowledged on B, then the commitment deleted on A.
        chainB.produceBlock({ writes: [receivePacket(transfer)] })
        chainB.produceBlocks(1)
        yield* statusIs(id, "delivered")
        const ackTx = writeAcknowledgementTx(transfer, ICS20_SUCCESS_ACK)
        chainB.produceBlock({ writes: ackTx.writes, results: [ackTx.result] })
        chainB.produceBlocks(1)
        // The ack bytes from B's write_acknowledgement event hash to the proven ack commitment: ok.
        expect((yield* statusIs(id, "executed")).json.packet.execution).toEqual({ result: "ok", acknowledgement: ICS20_SUCCESS_ACK })
        expect(nodeB.calls.some((c) => c.method === "tx_search" && String(c.params["query"]).startsWith("write_acknowledgement.packet_dst_port='transfer'"))).toBe(true)
        chainA.produceBlock({ writes: [deleteCommitment(transfer)] })
        chainA.produceBlocks(1)
        const settled = (yield* statusIs(id, "settled")).json.packet
        expect(settled.journey.map((l: any) => [l.leg, l.chain])).toEqual([
          ["commitment", A],
          ["receipt", B],
          ["acknowledgement", B],
          ["commitment-deleted", A]
        ])
        expect(settled.history.map((m: any) => [m.status, m.evidence.kind])).toEqual([
          ["sent", "ibc-commitment"],
          ["delivered", "ibc-receipt"],
          ["executed", "ibc-acknowledgement"],
          ["settled", "ibc-commitment-deleted"]
        ])
        expect(settled.stuck).toBeNull()

        // Every leg re-checks offline: its message's ICS23 proof against the app hash of the verified header it names.
        for (const leg of settled.journey) {
          const message = (yield* get(`/v1/messages/${leg.message}`)).json
          expect(message.envelope.type).toBe("IbcPacketEvidence")
          const evidence = message.envelope.payload
          const header = (yield* get(`/v1/chains/${leg.chain}/headers/${leg.height + 1}`)).json.header
          expect(header.hash).toBe(evidence.headerHash)
          expect(verifyStoreProof(header.stateRoot, evidence.key, evidence.value, evidence.proof)).toBe(true)
          expect(verifyStoreProof(header.stateRoot, evidence.key, evidence.value === "" ? "01" : "", evidence.proof)).toBe(false)
        }

        // A packet never received: proven timed out once B's headers pass its timeout height, refunded once A deletes it.
        const lost = packet(2n, { height: BigInt(chainB.height + 4) })
        const lostSent = sendPacket(lost)
        chainA.produceBlock({ writes: lostSent.writes, results: [lostSent.result] })
        chainA.produceBlocks(1)
        const lostId = "ibc-packet:chain-a:transfer:channel-0:2"
        yield* statusIs(lostId, "sent")
        // In flight: stuck after 0 ms since its last leg's header time, not after 1,000 years.
        const stuck = (yield* packetAt(lostId, "?stuckAfterMs=0")).json.packet.stuck
        expect(stuck?.forMs).toBeGreaterThan(0)
        expect((yield* packetAt(lostId, "?stuckAfterMs=31536000000")).json.packet.stuck).toBeNull()
        // B below the timeout height: the receipt's absence proves nothing yet.
        chainB.produceBlocks(1)
        yield* Effect.sleep("1 second")
        expect((yield* packetAt(lostId)).json.packet.status).toBe("sent")
        chainB.produceBlocks(4)
        const timedOut = (yield* statusIs(lostId, "timed-out")).json.packet
        const absent = timedOut.journey.at(-1)
        expect([absent.leg, absent.chain]).toEqual(["receipt-absent", B])
        expect(absent.height + 1).toBeGreaterThanOrEqual(Number(lost.timeoutHeight.revisionHeight))
        chainA.produceBlock({ writes: [deleteCommitment(lost)] })
        chainA.produceBlocks(1)
        const refunded = (yield* statusIs(lostId, "refunded")).json.packet
        expect(refunded.history.map((m: any) => m.status)).toEqual(["sent", "timed-out", "refunded"])

        expect((yield* get("/v1/ibc/packets?status=settled")).json.packets.map((p: any) => p.id)).toEqual([id])
        // The effects API answers packets too: by id, in listings, history and its event stream.
        const asEffect = yield* get(`/v1/effects/${id}`)
        expect([asEffect.status, asEffect.json.effect.kind, asEffect.json.effect.status, asEffect.json.effect.effectId]).toEqual([200, "ibc-packet", "settled", id])
        expect(asEffect.json.effect.journey).toEqual((yield* packetAt(id)).json.packet.journey)
        expect((yield* get("/v1/effects?kind=ibc-packet&status=settled")).json.effects.map((e: any) => e.id)).toEqual([id])
        expect((yield* get(`/v1/effects?chain=${B}&kind=ibc-packet`)).json.effects.map((e: any) => e.id)).toContain(id)
        expect((yield* get("/v1/effects?kind=evm-log")).json.effects).toEqual([])
        expect((yield* get(`/v1/effects/${lostId}/history`)).json.history.map((m: any) => m.status)).toEqual(["sent", "timed-out", "refunded"])

        // A transfer B's app refuses: its error ack is proven and bound (executed, error); A's deletion then refunds it.
        const refused = packet(3n, { timestamp: BigInt(Date.now() + 3_600_000) * 1_000_000n })
        const refusedId = "ibc-packet:chain-a:transfer:channel-0:3"
        const refusedSent = sendPacket(refused)
        chainA.produceBlock({ writes: refusedSent.writes, results: [refusedSent.result] })
        chainA.produceBlocks(1)
        yield* statusIs(refusedId, "sent")
        const errorAck = writeAcknowledgementTx(refused, ICS20_ERROR_ACK)
        chainB.produceBlock({ writes: [receivePacket(refused), ...errorAck.writes], results: [errorAck.result] })
        chainB.produceBlocks(1)
        const failed = (yield* statusIs(refusedId, "executed")).json.packet
        expect(failed.execution).toEqual({ result: "error", error: "ABCI code: 1: error handling packet: see events for details", acknowledgement: ICS20_ERROR_ACK })
        chainA.produceBlock({ writes: [deleteCommitment(refused)] })
        chainA.produceBlocks(1)
        const refundedOnError = (yield* statusIs(refusedId, "refunded")).json.packet
        expect(refundedOnError.history.map((m: any) => [m.status, m.evidence.kind])).toEqual([
          ["sent", "ibc-commitment"],
          ["delivered", "ibc-receipt"],
          ["executed", "ibc-acknowledgement"],
          ["refunded", "ibc-commitment-deleted"]
        ])

        // B's node lies about the ack bytes (success for a proven error ack): the ack leg counts, its result stays unknown.
        nodeB.tamper = (method, _params, result: any) => {
          if (method !== "tx_search" || !Array.isArray(result?.txs)) return result
          const lie = (e: any) =>
            e.type !== "write_acknowledgement" ? e : { ...e, attributes: e.attributes.map((a: any) => (a.key === "packet_ack_hex" ? { ...a, value: ICS20_SUCCESS_ACK } : a)) }
          return { ...result, txs: result.txs.map((t: any) => ({ ...t, tx_result: { ...t.tx_result, events: t.tx_result.events.map(lie) } })) }
        }
        const lied = packet(4n, { timestamp: BigInt(Date.now() + 3_600_000) * 1_000_000n })
        const liedId = "ibc-packet:chain-a:transfer:channel-0:4"
        const liedSent = sendPacket(lied)
        chainA.produceBlock({ writes: liedSent.writes, results: [liedSent.result] })
        chainA.produceBlocks(1)
        yield* statusIs(liedId, "sent")
        const liedAck = writeAcknowledgementTx(lied, ICS20_ERROR_ACK)
        chainB.produceBlock({ writes: [receivePacket(lied), ...liedAck.writes], results: [liedAck.result] })
        chainB.produceBlocks(1)
        const unknown = (yield* statusIs(liedId, "executed")).json.packet
        expect([unknown.acknowledgement, unknown.execution]).toEqual([sha256Hex(ICS20_ERROR_ACK), { result: "unknown" }])
        nodeB.tamper = undefined
        return yield* liveEffects
      }).pipe(Effect.provide(Layer.fresh(server)))

      // Replay: the same records folded from nothing give the same state.
      yield* expectReplayEqualsLive(dataDir, live)
    })), 120_000)
  it.live("a two-hop route (A → B → C, packet-forward) settles its first hop only when the second has settled", () =>
    Effect.scoped(Effect.gen(function*() {
      const chainA = newChain(A)
      const chainB = newChain(B)
      const chainC = newChain(C)
      for (const c of [chainA, chainB, chainC]) c.produceBlocks(3)
      const nodeA = yield* rpcServer(chainA)
      const nodeB = yield* rpcServer(chainB)
      const nodeC = yield* rpcServer(chainC)
      const server = serverLayer({
        core: (config, runner) =>
          coreLayer({ ...config, cosmos: cosmosConfig(chainA, nodeA), cosmosChains: [cosmosConfig(chainB, nodeB), cosmosConfig(chainC, nodeC)] }, runner)
      })
      yield* Effect.gen(function*() {
        for (const c of [A, B, C]) yield* eventually(get(`/v1/chains/${c}`), (r) => r.json?.latest?.height === 3, 15_000)
        for (const [chain, channel, destination] of [[A, "channel-0", { chain: B, port: "transfer", channel: "channel-1" }], [B, "channel-2", { chain: C, port: "transfer", channel: "channel-3" }]] as const) {
          expect((yield* postJson("/v1/effects/watches", { chain, kind: "ibc-packet", filter: { port: "transfer", channel, destination } })).status).toBe(201)
        }

        // Hop 1: A → B, its memo asking B to forward to C on transfer/channel-2.
        const memo = JSON.stringify({ forward: { receiver: "cosmos1final", port: "transfer", channel: "channel-2" } })
        const hop1: TestPacket = {
          ...packet(1n, { timestamp: BigInt(Date.now() + 3_600_000) * 1_000_000n }),
          data: Buffer.from(JSON.stringify({ amount: "100", denom: "uatom", memo, receiver: "cosmos1pfm", sender: "cosmos1sender" }), "utf8").toString("hex")
        }
        const hop2: TestPacket = {
          ...packet(1n, { timestamp: BigInt(Date.now() + 3_600_000) * 1_000_000n }),
          sourceChannel: "channel-2",
          destinationChannel: "channel-3",
          data: transferData("ibc/27394FB092D2ECCD56123C74F36E4C1F926001CEADA9CA97EA622B25F41E5EB2", "100", "cosmos1pfm", "cosmos1final")
        }
        const id1 = "ibc-packet:chain-a:transfer:channel-0:1"
        const id2 = "ibc-packet:chain-b:transfer:channel-2:1"
        const sent1 = sendPacket(hop1)
        chainA.produceBlock({ writes: sent1.writes, results: [sent1.result] })
        chainA.produceBlocks(1)
        yield* statusIs(id1, "sent")

        // B receives hop 1 and, in the same block, sends hop 2 (the middleware's forward).
        const sent2 = sendPacket(hop2)
        chainB.produceBlock({ writes: [receivePacket(hop1), ...sent2.writes], results: [sent2.result] })
        chainB.produceBlocks(1)
        yield* statusIs(id1, "delivered")
        const forward = (yield* statusIs(id2, "sent")).json.packet
        expect(forward.causalDependents).toEqual([id1])
        expect((yield* packetAt(id1)).json.packet.causalDependencies).toEqual([id2])

        // C's node is down while C receives and acks hop 2, B acks hop 1 and deletes hop 2's commitment, and A deletes hop 1's:
        // every leg of hop 1 is proven, but hop 2's are not, so hop 1 is executed, not settled.
        nodeC.down = true
        chainC.produceBlock({ writes: [receivePacket(hop2), writeAcknowledgement(hop2, ICS20_SUCCESS_ACK)] })
        chainC.produceBlocks(1)
        chainB.produceBlock({ writes: [writeAcknowledgement(hop1, ICS20_SUCCESS_ACK), deleteCommitment(hop2)] })
        chainB.produceBlocks(1)
        chainA.produceBlock({ writes: [deleteCommitment(hop1)] })
        chainA.produceBlocks(1)
        const held = (yield* eventually(packetAt(id1), (r) => r.json.packet.journey.length === 4, 20_000)).json.packet
        expect(held.journey.map((l: any) => l.leg)).toEqual(["commitment", "receipt", "acknowledgement", "commitment-deleted"])
        expect(held.status).toBe("executed")
        yield* Effect.sleep("1 second")
        expect((yield* packetAt(id1)).json.packet.status).toBe("executed")
        expect((yield* packetAt(id2)).json.packet.status).toBe("sent")

        // C answers again: hop 2 is proven delivered, executed and settled, and hop 1 settles with it.
        nodeC.down = false
        const second = (yield* statusIs(id2, "settled")).json.packet
        expect(second.history.map((m: any) => m.status)).toEqual(["sent", "delivered", "executed", "settled"])
        const first = (yield* statusIs(id1, "settled")).json.packet
        expect(first.history.map((m: any) => m.status)).toEqual(["sent", "delivered", "executed", "settled"])
        expect(first.history.at(-1).evidence).toEqual(second.history.at(-1).evidence)
      }).pipe(Effect.provide(Layer.fresh(server)))
    })), 120_000)
  it.live("an IBC v2 packet (client ids) settles leg by leg on the binary v2 keys, an unreceived one times out by timestamp and is refunded; replay equals live", () =>
    Effect.scoped(Effect.gen(function*() {
      const chainA = newChain(A)
      const chainB = newChain(B)
      chainA.produceBlocks(3)
      chainB.produceBlocks(3)
      const nodeA = yield* rpcServer(chainA)
      const nodeB = yield* rpcServer(chainB)
      const dataDir = mkdtempSync(join(tmpdir(), "causeway-ibc2-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const server = serverLayer({
        dataDir,
        core: (config, runner) => coreLayer({ ...config, cosmos: cosmosConfig(chainA, nodeA), cosmosChains: [cosmosConfig(chainB, nodeB)] }, runner)
      })

      const live = yield* Effect.gen(function*() {
        yield* eventually(get(`/v1/chains/${A}`), (r) => r.json?.latest?.height === 3, 15_000)
        yield* eventually(get(`/v1/chains/${B}`), (r) => r.json?.latest?.height === 3, 15_000)

        const nowhere = yield* postJson("/v1/effects/watches", { chain: A, kind: "ibc-packet", filter: { clientId: "07-tendermint-0", destination: { chain: "nope", clientId: "08-wasm-1369" } } })
        expect(nowhere.status).toBe(404)
        const added = yield* postJson("/v1/effects/watches", {
          chain: A,
          kind: "ibc-packet",
          filter: { clientId: "07-tendermint-0", destination: { chain: B, clientId: "08-wasm-1369" } }
        })
        expect(added.status).toBe(201)

        // Another client's commitment (its id extends this one's) is not listed under this client's prefix.
        const transfer: TestPacketV2 = {
          sourceClient: "07-tendermint-0",
          destinationClient: "08-wasm-1369",
          sequence: 1n,
          timeoutTimestamp: BigInt(Math.floor(Date.now() / 1000) + 3_600),
          payloads: [transferPayloadV2("uatom", "100", "cosmos1sender", "cosmos1receiver")]
        }
        const other: TestPacketV2 = { ...transfer, sourceClient: "07-tendermint-01" }
        const sent = sendPacketV2Tx(transfer)
        chainA.produceBlock({ writes: [...sent.writes, sendPacketV2(other)], results: [sent.result] })
        chainA.produceBlocks(1)
        const id = "ibc-packet-v2:chain-a:07-tendermint-0:1"
        const first = yield* statusIs(id, "sent")
        expect(first.json.packet).toMatchObject({
          source: { chain: A, clientId: "07-tendermint-0" },
          destination: { chain: B, clientId: "08-wasm-1369" },
          sequence: "1",
          commitment: Buffer.from(commitmentV2Of(transfer)).toString("hex"),
          // From the v2 send_packet event, bound to the proven commitment: seconds, kept as ns, no height.
          timeout: { revisionNumber: "0", revisionHeight: "0", timestamp: String(transfer.timeoutTimestamp * 1_000_000_000n) }
        })

        chainB.produceBlock({ writes: [receivePacketV2(transfer)] })
        chainB.produceBlocks(1)
        yield* statusIs(id, "delivered")
        const ackTx = writeAcknowledgementV2Tx(transfer, [ICS20_SUCCESS_ACK])
        chainB.produceBlock({ writes: ackTx.writes, results: [ackTx.result] })
        chainB.produceBlocks(1)
        // The apps' acks from B's v2 write_acknowledgement event (encoded_acknowledgement_hex) hash to the proven v2 ack commitment: ok.
        expect((yield* statusIs(id, "executed")).json.packet.execution).toEqual({ result: "ok", appAcknowledgements: [ICS20_SUCCESS_ACK] })
        chainA.produceBlock({ writes: [deleteCommitmentV2(transfer)] })
        chainA.produceBlocks(1)
        const settled = (yield* statusIs(id, "settled")).json.packet
        expect(settled.journey.map((l: any) => [l.leg, l.chain])).toEqual([
          ["commitment", A],
          ["receipt", B],
          ["acknowledgement", B],
          ["commitment-deleted", A]
        ])
        expect(settled.history.map((m: any) => [m.status, m.evidence.kind])).toEqual([
          ["sent", "ibc-commitment"],
          ["delivered", "ibc-receipt"],
          ["executed", "ibc-acknowledgement"],
          ["settled", "ibc-commitment-deleted"]
        ])

        // Every leg re-checks offline against the app hash of the verified header it names.
        for (const leg of settled.journey) {
          const message = (yield* get(`/v1/messages/${leg.message}`)).json
          expect(message.envelope.type).toBe("IbcPacketEvidenceV2")
          const evidence = message.envelope.payload
          const header = (yield* get(`/v1/chains/${leg.chain}/headers/${leg.height + 1}`)).json.header
          expect(header.hash).toBe(evidence.headerHash)
          expect(verifyStoreProof(header.stateRoot, evidence.key, evidence.value, evidence.proof)).toBe(true)
          expect(verifyStoreProof(header.stateRoot, evidence.key, evidence.value === "" ? "02" : "", evidence.proof)).toBe(false)
        }
        expect((yield* get("/v1/ibc/packets")).json.packets.map((p: any) => p.id)).toEqual([id])

        // A v2 packet never received: timed out once B's verified header time passes its timeout (seconds), refunded once A deletes it.
        const lost: TestPacketV2 = { ...transfer, sequence: 2n, timeoutTimestamp: chainB.timeAt(chainB.height + 4) / 1_000_000_000n }
        const lostSent = sendPacketV2Tx(lost)
        chainA.produceBlock({ writes: lostSent.writes, results: [lostSent.result] })
        chainA.produceBlocks(1)
        const lostId = "ibc-packet-v2:chain-a:07-tendermint-0:2"
        yield* statusIs(lostId, "sent")
        chainB.produceBlocks(1)
        yield* Effect.sleep("1 second")
        expect((yield* packetAt(lostId)).json.packet.status).toBe("sent")
        chainB.produceBlocks(4)
        const timedOut = (yield* statusIs(lostId, "timed-out")).json.packet
        const absent = timedOut.journey.at(-1)
        expect([absent.leg, absent.chain]).toEqual(["receipt-absent", B])
        expect(chainB.timeAt(absent.height + 1)).toBeGreaterThanOrEqual(lost.timeoutTimestamp * 1_000_000_000n)
        chainA.produceBlock({ writes: [deleteCommitmentV2(lost)] })
        chainA.produceBlocks(1)
        const refunded = (yield* statusIs(lostId, "refunded")).json.packet
        expect(refunded.history.map((m: any) => m.status)).toEqual(["sent", "timed-out", "refunded"])

        // A v2 packet whose app failed: the universal error ack, proven and bound (executed, error), then refunded.
        const refused: TestPacketV2 = { ...transfer, sequence: 3n }
        const refusedId = "ibc-packet-v2:chain-a:07-tendermint-0:3"
        const refusedSent = sendPacketV2Tx(refused)
        chainA.produceBlock({ writes: refusedSent.writes, results: [refusedSent.result] })
        chainA.produceBlocks(1)
        yield* statusIs(refusedId, "sent")
        const errorAck = writeAcknowledgementV2Tx(refused, [UNIVERSAL_ERROR_ACK])
        chainB.produceBlock({ writes: [receivePacketV2(refused), ...errorAck.writes], results: [errorAck.result] })
        chainB.produceBlocks(1)
        expect((yield* statusIs(refusedId, "executed")).json.packet.execution).toEqual({
          result: "error",
          error: "UNIVERSAL_ERROR_ACKNOWLEDGEMENT",
          appAcknowledgements: [UNIVERSAL_ERROR_ACK]
        })
        chainA.produceBlock({ writes: [deleteCommitmentV2(refused)] })
        chainA.produceBlocks(1)
        yield* statusIs(refusedId, "refunded")

        return yield* liveEffects
      }).pipe(Effect.provide(Layer.fresh(server)))

      // Replay: the same records folded from nothing give the same state.
      yield* expectReplayEqualsLive(dataDir, live)
    })), 120_000)
})
