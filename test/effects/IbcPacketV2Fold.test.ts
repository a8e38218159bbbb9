/**
 * IBC v2 (client-based) packets in the effect tracker's pure fold, on SDK-shaped stores holding
 * ibc-go v10's binary v2 keys (test/cosmos/support/IbcStore.ts): a packet's journey leg by
 * proven leg; a forged proof, a v1 path, a receipt of the wrong value, fields that do not hash
 * to the v2 commitment move nothing; a timeout (seconds, no height) is proven by the receipt's
 * absence at a header whose verified time is past it, and only then. The apps' acks, when their
 * v2 ack commitment is the proven one, say ok or error (the universal error ack: error, then
 * refunded); acks that do not hash to it leave the result unknown.
 */
import { describe, expect, it } from "@effect/vitest"
import { encodeProofOps, parseStoreKey, storeKeyHex } from "../../src/adapters/cosmos/StoreProof.ts"
import type { ChainHeadVerified, ChainReorged } from "../../src/domain/chain/ChainMessages.ts"
import { type EffectsState, initialEffectsState, onWatchAdded } from "../../src/domain/effects/EffectFold.ts"
import type { EffectWatchAdded, IbcLeg, IbcPacketEvidenceV2 } from "../../src/domain/effects/EffectMessages.ts"
import { listPackets, onIbcHead, onIbcReorg, packetOf } from "../../src/domain/effects/IbcPacketFold.ts"
import { ibcPacketV2EffectId, ibcV2LegKey, onIbcEvidenceV2 } from "../../src/domain/effects/IbcPacketV2Fold.ts"
import { packetReceiptKeyV2 } from "../../src/domain/ibc/IbcCommitments.ts"
import { MultiStore } from "../cosmos/support/IavlStore.ts"
import {
  commitmentV2Of,
  deleteCommitmentV2,
  ibcKey,
  ICS20_SUCCESS_ACK,
  receivePacket,
  receivePacketV2,
  sendPacketV2,
  type TestPacket,
  type TestPacketV2,
  transferData,
  transferPayloadV2,
  UNIVERSAL_ERROR_ACK,
  writeAcknowledgementV2
} from "../cosmos/support/IbcStore.ts"
import type { StoreWrite } from "../cosmos/support/TestChain.ts"

const A = "chain-a"
const B = "chain-b"
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const meta = (n: number) => ({ id: n.toString(16).padStart(64, "0"), lamport: n })
const hashOf = (chain: string, height: number) => `${chain === A ? "aa" : "bb"}${height.toString(16).padStart(62, "0")}`

// Header time is 1,000 s per height: height h's header is at h * 1,000,000 ms.
const TIME = (height: number) => height * 1_000_000
// Timeout (seconds) between B's headers 31 (31,000 s) and 41 (41,000 s).
const PACKET: TestPacketV2 = {
  sourceClient: "07-tendermint-0",
  destinationClient: "08-wasm-1369",
  sequence: 7n,
  timeoutTimestamp: 35_000n,
  payloads: [transferPayloadV2("uatom", "700", "cosmos1a", "cosmos1b")]
}
const ID = ibcPacketV2EffectId(A, "07-tendermint-0", "7")
const REF = { chain: A, clientId: "07-tendermint-0", sequence: "7" }
const DEST = { chain: B, clientId: "08-wasm-1369" }
const SENT = { timeoutTimestamp: "35000", payloads: PACKET.payloads }

const storeWith = (writes: ReadonlyArray<StoreWrite>): MultiStore => {
  const ibc = new Map<string, Uint8Array>([["00", Uint8Array.of(1)]])
  for (const w of writes) if (w.value === undefined) ibc.delete(w.key); else ibc.set(w.key, w.value)
  return new MultiStore(new Map([["ibc", ibc]]), 1)
}

const head = (chain: string, height: number, store: MultiStore): ChainHeadVerified =>
  ({ chain, kind: "cosmos", height, hash: hashOf(chain, height), parentHash: hashOf(chain, height - 1), stateRoot: hex(store.appHash), time: TIME(height) }) as unknown as ChainHeadVerified

/** The evidence of `leg` at state height `height` of `store` (its header: height + 1), proving the value (or absence) at `write.key`. */
const evidence = (leg: IbcLeg, chain: string, height: number, store: MultiStore, write: StoreWrite, extra: Partial<IbcPacketEvidenceV2> = {}): IbcPacketEvidenceV2 => {
  const answer = store.query("ibc", Buffer.from(write.key, "hex"))
  const key = parseStoreKey(`ibc/${write.key}`)
  if (answer === undefined || key === undefined) throw new Error("no ibc store")
  return {
    packet: REF,
    destination: DEST,
    leg,
    chain,
    height,
    headerHash: hashOf(chain, height + 1),
    key: storeKeyHex(key),
    value: answer.value === undefined ? "" : hex(answer.value),
    proof: hex(encodeProofOps(answer.ops)),
    ...extra
  } as unknown as IbcPacketEvidenceV2
}

const sent = sendPacketV2(PACKET)
const aSent = storeWith([sent])
const aDeleted = storeWith([sent, deleteCommitmentV2(PACKET)])
const bReceived = storeWith([receivePacketV2(PACKET)])
const acked = writeAcknowledgementV2(PACKET, [ICS20_SUCCESS_ACK])
const bAcked = storeWith([receivePacketV2(PACKET), acked])
const bEmpty = storeWith([])
const errorAcked = writeAcknowledgementV2(PACKET, [UNIVERSAL_ERROR_ACK])
const bErrorAcked = storeWith([receivePacketV2(PACKET), errorAcked])

const watch = { chain: A, kind: "ibc-packet", filter: { clientId: "07-tendermint-0", destination: DEST } } as unknown as EffectWatchAdded

const fold = (state: EffectsState, ...steps: ReadonlyArray<(s: EffectsState) => EffectsState>) => steps.reduce((s, f) => f(s), state)
const heads = (...hs: ReadonlyArray<ChainHeadVerified>) => (s: EffectsState) => hs.reduce(onIbcHead, s)
let n = 10
const ev = (e: IbcPacketEvidenceV2) => (s: EffectsState) => onIbcEvidenceV2(s, e, meta(n++))

const watched = fold(
  onWatchAdded(initialEffectsState, watch, meta(1)),
  heads(head(A, 11, aSent), head(A, 13, aDeleted), head(B, 21, bReceived), head(B, 23, bAcked), head(B, 31, bEmpty), head(B, 41, bEmpty), head(B, 25, bErrorAcked))
)
const commitment = evidence("commitment", A, 10, aSent, sent, { sent: SENT } as Partial<IbcPacketEvidenceV2>)

describe("IBC v2 packets in the effects fold", () => {
  it("the v2 keys are ibc-go's: clientId || 0x01|0x02|0x03 || be8(sequence), under the ibc store", () => {
    expect(ibcV2LegKey("commitment", REF, DEST)).toBe(hex(Buffer.from("ibc/07-tendermint-0\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0007", "latin1")))
    expect(ibcV2LegKey("receipt-absent", REF, DEST)).toBe(hex(Buffer.concat([Buffer.from("ibc/"), packetReceiptKeyV2("08-wasm-1369", 7n)])))
    expect(commitment.key).toBe(ibcV2LegKey("commitment", REF, DEST))
  })

  it("a v2 transfer moves sent → delivered → executed → settled, leg by proven leg", () => {
    const s = fold(
      watched,
      ev(commitment),
      ev(evidence("receipt", B, 20, bReceived, receivePacketV2(PACKET))),
      ev(evidence("acknowledgement", B, 22, bAcked, acked)),
      ev(evidence("commitment-deleted", A, 12, aDeleted, sent))
    )
    const p = packetOf(s, ID)
    expect(s.ignored).toBe(0)
    expect(p?.history.map((m) => [m.status, m.evidence.kind, m.evidence.header.height])).toEqual([
      ["sent", "ibc-commitment", 11],
      ["delivered", "ibc-receipt", 21],
      ["executed", "ibc-acknowledgement", 23],
      ["settled", "ibc-commitment-deleted", 13]
    ])
    expect(p).toMatchObject({
      source: { chain: A, clientId: "07-tendermint-0" },
      destination: { chain: B, clientId: "08-wasm-1369" },
      commitment: hex(commitmentV2Of(PACKET)),
      acknowledgement: hex(acked.value ?? new Uint8Array()),
      timeout: { revisionNumber: "0", revisionHeight: "0", timestamp: "35000000000000" }
    })
    expect(listPackets(s, { status: "settled", limit: 10 }).map((x) => x.id)).toEqual([ID])
  })

  it("a forged proof, a v1 path, a wrong receipt value, fields that do not hash to the commitment, an unwatched client move nothing", () => {
    const forgedValue = { ...commitment, value: "11".repeat(32) } as IbcPacketEvidenceV2
    const forgedProof = evidence("commitment", A, 10, storeWith([{ ...sent, value: new Uint8Array(32).fill(9) }]), sent, { value: hex(commitmentV2Of(PACKET)) } as Partial<IbcPacketEvidenceV2>)
    const notHeld = { ...commitment, headerHash: hashOf(B, 11) } as IbcPacketEvidenceV2
    const lyingFields = { ...commitment, sent: { ...SENT, timeoutTimestamp: "35001" } } as IbcPacketEvidenceV2
    const otherClient = { ...commitment, destination: { chain: B, clientId: "07-tendermint-9" } } as IbcPacketEvidenceV2
    // A v1 commitment (a UTF-8 ICS-24 path) proven in the same store does not stand for a v2 one.
    const v1: TestPacket = {
      sourcePort: "transfer",
      sourceChannel: "channel-0",
      destinationPort: "transfer",
      destinationChannel: "channel-1",
      sequence: 7n,
      data: transferData("uatom", "700", "cosmos1a", "cosmos1b"),
      timeoutHeight: { revisionNumber: 0n, revisionHeight: 0n },
      timeoutTimestamp: 1n
    }
    const v1Write = { store: "ibc", key: ibcKey("commitments/ports/transfer/channels/channel-0/sequences/7"), value: commitmentV2Of(PACKET) }
    const v1Path = evidence("commitment", A, 10, storeWith([v1Write]), v1Write)
    for (const e of [forgedValue, forgedProof, notHeld, lyingFields, otherClient, v1Path]) {
      const s = onIbcEvidenceV2(watched, e, meta(2))
      expect([packetOf(s, ID), s.ignored]).toEqual([undefined, 1])
    }
    const unwatched = onIbcEvidenceV2(fold(initialEffectsState, heads(head(A, 11, aSent))), commitment, meta(2))
    expect([packetOf(unwatched, ID), unwatched.ignored]).toEqual([undefined, 1])

    const s1 = onIbcEvidenceV2(watched, commitment, meta(2))
    // A v1 receipt (0x01) where v2 writes 0x02: nothing.
    const v1Receipt = { ...receivePacketV2(PACKET), value: Uint8Array.of(1) }
    const wrongReceipt = onIbcEvidenceV2(s1, evidence("receipt", B, 30, storeWith([v1Receipt]), v1Receipt), meta(3))
    expect([packetOf(wrongReceipt, ID)?.status, wrongReceipt.ignored]).toEqual(["sent", 1])
    // The v1 receipt of the same sequence is another key.
    const v1ReceiptWrite = receivePacket(v1)
    const otherKey = onIbcEvidenceV2(s1, evidence("receipt", B, 20, storeWith([v1ReceiptWrite]), v1ReceiptWrite), meta(3))
    expect([packetOf(otherKey, ID)?.status, otherKey.ignored]).toEqual(["sent", 1])
  })

  it("a v2 timeout (seconds) is proven by the receipt's absence at a header past it, then refunded; not before", () => {
    const s1 = fold(watched, ev(commitment))
    // Header 31 (31,000 s) is before the timeout (35,000 s): the absence proves nothing.
    const early = onIbcEvidenceV2(s1, evidence("receipt-absent", B, 30, bEmpty, receivePacketV2(PACKET)), meta(50))
    expect([packetOf(early, ID)?.status, early.ignored]).toEqual(["sent", 1])
    const late = fold(
      s1,
      ev(evidence("receipt-absent", B, 40, bEmpty, receivePacketV2(PACKET))),
      ev(evidence("commitment-deleted", A, 12, aDeleted, sent))
    )
    expect(packetOf(late, ID)?.history.map((m) => [m.status, m.evidence.kind])).toEqual([
      ["sent", "ibc-commitment"],
      ["timed-out", "ibc-receipt-absent"],
      ["refunded", "ibc-commitment-deleted"]
    ])
    // Without the packet's fields the timeout is unknown: an absence counts for nothing.
    const noFields = fold(watched, ev({ ...commitment, sent: undefined } as unknown as IbcPacketEvidenceV2))
    const unknown = onIbcEvidenceV2(noFields, evidence("receipt-absent", B, 40, bEmpty, receivePacketV2(PACKET)), meta(70))
    expect([packetOf(unknown, ID)?.status, unknown.ignored]).toEqual(["sent", 1])
  })
  it("a reorg of the destination rolls a v2 packet's legs above the fork point back", () => {
    const s = fold(
      watched,
      ev(commitment),
      ev(evidence("receipt", B, 20, bReceived, receivePacketV2(PACKET))),
      ev(evidence("acknowledgement", B, 22, bAcked, acked))
    )
    const reorg = { chain: B, forkHeight: 21, forkHash: hashOf(B, 21), oldHead: { height: 50, hash: hashOf(B, 50) }, newHead: { height: 50, hash: "cc".repeat(32) } } as unknown as ChainReorged
    const back = onIbcReorg(s, reorg, meta(90))
    expect([packetOf(back, ID)?.status, packetOf(back, ID)?.acknowledgement, packetOf(back, ID)?.history.at(-1)?.evidence.kind]).toEqual(["delivered", null, "chain-reorged"])
  })
  it("the apps' acks bound to the proven v2 ack commitment say ok or error (the universal error ack, then refunded); unbound acks leave it unknown", () => {
    const upToAck = (height: number, store: MultiStore, write: StoreWrite, acks: ReadonlyArray<string> | undefined) =>
      fold(
        watched,
        ev(commitment),
        ev(evidence("receipt", B, 20, bReceived, receivePacketV2(PACKET))),
        ev(evidence("acknowledgement", B, height, store, write, acks === undefined ? {} : { appAcknowledgements: acks } as Partial<IbcPacketEvidenceV2>))
      )
    const deleted = ev(evidence("commitment-deleted", A, 12, aDeleted, sent))

    const ok = upToAck(22, bAcked, acked, [ICS20_SUCCESS_ACK])
    expect([packetOf(ok, ID)?.execution, ok.ignored]).toEqual([{ result: "ok", appAcknowledgements: [ICS20_SUCCESS_ACK] }, 0])
    expect(packetOf(fold(ok, deleted), ID)?.status).toBe("settled")

    const failed = upToAck(24, bErrorAcked, errorAcked, [UNIVERSAL_ERROR_ACK])
    expect(packetOf(failed, ID)?.execution).toEqual({ result: "error", error: "UNIVERSAL_ERROR_ACKNOWLEDGEMENT", appAcknowledgements: [UNIVERSAL_ERROR_ACK] })
    expect(packetOf(fold(failed, deleted), ID)?.history.map((m) => m.status)).toEqual(["sent", "delivered", "executed", "refunded"])

    // Success acks reported for a proven universal error ack: the leg counts, the result is unknown.
    const lying = upToAck(24, bErrorAcked, errorAcked, [ICS20_SUCCESS_ACK])
    expect([packetOf(lying, ID)?.status, packetOf(lying, ID)?.execution, lying.ignored]).toEqual(["executed", { result: "unknown" }, 0])
    expect(packetOf(upToAck(22, bAcked, acked, undefined), ID)?.execution).toEqual({ result: "unknown" })
  })
})
