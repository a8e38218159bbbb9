/**
 * IBC packets in the effect tracker's pure fold, on SDK-shaped stores (test/cosmos/support):
 * each leg moves the packet only with an ICS23 proof that holds under the app hash of the
 * verified header the fold holds at height + 1; a forged proof, a header not held, a key of
 * another path, a packet no watch names, fields that do not hash to the commitment, an
 * absence before the timeout all count for nothing; a reorg of either chain rolls legs back.
 * The acknowledgement's bytes, when they hash to the proven ack commitment, say whether the
 * execution was ok or an error (an error ack then the deletion: refunded); bytes that do not
 * hash to it leave the result unknown.
 */
import { describe, expect, it } from "@effect/vitest"
import { encodeProofOps, parseStoreKey, storeKeyHex } from "../../src/adapters/cosmos/StoreProof.ts"
import type { ChainHeadVerified, ChainReorged } from "../../src/domain/chain/ChainMessages.ts"
import { type EffectsState, initialEffectsState, MAX_EFFECTS, onWatchAdded } from "../../src/domain/effects/EffectFold.ts"
import type { EffectWatchAdded, IbcLeg, IbcPacketEvidence } from "../../src/domain/effects/EffectMessages.ts"
import { ibcPacketEffectId, listPackets, onIbcEvidence, onIbcHead, onIbcReorg, packetOf, packetView, remember, statusOf } from "../../src/domain/effects/IbcPacketFold.ts"
import { commitmentOf, deleteCommitment, ICS20_ERROR_ACK, ICS20_SUCCESS_ACK, receivePacket, sendPacket, type TestPacket, transferData, writeAcknowledgement } from "../cosmos/support/IbcStore.ts"
import { MultiStore } from "../cosmos/support/IavlStore.ts"
import type { StoreWrite } from "../cosmos/support/TestChain.ts"

const A = "chain-a"
const B = "chain-b"
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex")
const meta = (n: number) => ({ id: n.toString(16).padStart(64, "0"), lamport: n })
const hashOf = (chain: string, height: number) => `${chain === A ? "aa" : "bb"}${height.toString(16).padStart(62, "0")}`

const PACKET: TestPacket = {
  sourcePort: "transfer",
  sourceChannel: "channel-0",
  destinationPort: "transfer",
  destinationChannel: "channel-1",
  sequence: 7n,
  data: transferData("uatom", "700", "cosmos1a", "cosmos1b"),
  timeoutHeight: { revisionNumber: 0n, revisionHeight: 40n },
  timeoutTimestamp: 0n
}
const ID = ibcPacketEffectId(A, "transfer", "channel-0", "7")
const REF = { chain: A, port: "transfer", channel: "channel-0", sequence: "7" }
const DEST = { chain: B, port: "transfer", channel: "channel-1" }
const SENT = { data: PACKET.data, timeoutHeight: { revisionNumber: "0", revisionHeight: "40" }, timeoutTimestamp: "0" }

const storeWith = (writes: ReadonlyArray<StoreWrite>): MultiStore => {
  const ibc = new Map<string, Uint8Array>([["00", Uint8Array.of(1)]])
  for (const w of writes) if (w.value === undefined) ibc.delete(w.key); else ibc.set(w.key, w.value)
  return new MultiStore(new Map([["ibc", ibc]]), 1)
}

const head = (chain: string, height: number, store: MultiStore, time = 1_000 * height): ChainHeadVerified =>
  ({ chain, kind: "cosmos", height, hash: hashOf(chain, height), parentHash: hashOf(chain, height - 1), stateRoot: hex(store.appHash), time }) as unknown as ChainHeadVerified

/** The evidence of `leg` at state height `height` of `store` (its header: height + 1). */
const evidence = (leg: IbcLeg, chain: string, height: number, store: MultiStore, write: StoreWrite, extra: Partial<IbcPacketEvidence> = {}): IbcPacketEvidence => {
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
  } as unknown as IbcPacketEvidence
}

const sent = sendPacket(PACKET).writes
const aSent = storeWith(sent)
const aDeleted = storeWith([...sent, deleteCommitment(PACKET)])
const bReceived = storeWith([receivePacket(PACKET)])
const bAcked = storeWith([receivePacket(PACKET), writeAcknowledgement(PACKET, ICS20_SUCCESS_ACK)])
const bEmpty = storeWith([])
const bErrorAcked = storeWith([receivePacket(PACKET), writeAcknowledgement(PACKET, ICS20_ERROR_ACK)])
const APP_ACK = Buffer.from("custom app ack", "utf8").toString("hex")
const bAppAcked = storeWith([receivePacket(PACKET), writeAcknowledgement(PACKET, APP_ACK)])

const watch: EffectWatchAdded = { chain: A, kind: "ibc-packet", filter: { port: "transfer", channel: "channel-0", destination: DEST } } as unknown as EffectWatchAdded

const fold = (state: EffectsState, ...steps: ReadonlyArray<(s: EffectsState) => EffectsState>) => steps.reduce((s, f) => f(s), state)
const heads = (...hs: ReadonlyArray<ChainHeadVerified>) => (s: EffectsState) => hs.reduce(onIbcHead, s)
let n = 10
const ev = (e: IbcPacketEvidence) => (s: EffectsState) => onIbcEvidence(s, e, meta(n++))

const watched = fold(
  onWatchAdded(initialEffectsState, watch, meta(1)),
  heads(head(A, 11, aSent), head(A, 13, aDeleted), head(B, 21, bReceived), head(B, 23, bAcked), head(B, 31, bEmpty), head(B, 41, bEmpty), head(B, 25, bErrorAcked), head(B, 27, bAppAcked))
)
const commitment = evidence("commitment", A, 10, aSent, sent[0] as StoreWrite, { sent: SENT } as Partial<IbcPacketEvidence>)

describe("IBC packets in the effects fold", () => {
  it("a transfer moves sent → delivered → executed → settled, leg by proven leg", () => {
    const s = fold(
      watched,
      ev(commitment),
      ev(evidence("receipt", B, 20, bReceived, receivePacket(PACKET))),
      ev(evidence("acknowledgement", B, 22, bAcked, writeAcknowledgement(PACKET, ICS20_SUCCESS_ACK))),
      ev(evidence("commitment-deleted", A, 12, aDeleted, deleteCommitment(PACKET)))
    )
    const p = packetOf(s, ID)
    expect(s.ignored).toBe(0)
    expect(p?.history.map((m) => [m.status, m.evidence.kind, m.evidence.header.height])).toEqual([
      ["sent", "ibc-commitment", 11],
      ["delivered", "ibc-receipt", 21],
      ["executed", "ibc-acknowledgement", 23],
      ["settled", "ibc-commitment-deleted", 13]
    ])
    expect(p?.commitment).toBe(hex(commitmentOf(PACKET)))
    expect(p?.timeout).toEqual({ revisionNumber: "0", revisionHeight: "40", timestamp: "0" })
    expect(listPackets(s, { status: "settled", limit: 10 }).map((x) => x.id)).toEqual([ID])
    expect(p === undefined ? undefined : packetView(p, 1e12, 0).stuck).toBeNull()
  })

  it("a forged proof, a header not held, another path, an unwatched channel, fields that do not hash to the commitment move nothing", () => {
    const forgedValue = { ...commitment, value: "11".repeat(32) } as IbcPacketEvidence
    const otherRoot = evidence("commitment", A, 10, storeWith([{ ...(sent[0] as StoreWrite), value: new Uint8Array(32).fill(9) }]), sent[0] as StoreWrite)
    const notHeld = { ...commitment, headerHash: hashOf(B, 11) } as IbcPacketEvidence
    const unheldHeight = { ...commitment, height: 11, headerHash: hashOf(A, 12) } as IbcPacketEvidence
    const lyingFields = { ...commitment, sent: { ...SENT, timeoutHeight: { revisionNumber: "0", revisionHeight: "41" } } } as IbcPacketEvidence
    const receiptAsCommitment = evidence("commitment", B, 20, bReceived, receivePacket(PACKET))
    const unwatched = onIbcEvidence(initialEffectsState, commitment, meta(2))
    for (const e of [forgedValue, otherRoot, notHeld, unheldHeight, lyingFields, receiptAsCommitment]) {
      const s = onIbcEvidence(watched, e, meta(2))
      expect([packetOf(s, ID), s.ignored]).toEqual([undefined, 1])
    }
    expect([packetOf(unwatched, ID), unwatched.ignored]).toEqual([undefined, 1])
    // A later leg before the packet is known, or a receipt proven on the source: nothing.
    const early = onIbcEvidence(watched, evidence("receipt", B, 20, bReceived, receivePacket(PACKET)), meta(2))
    expect(packetOf(early, ID)).toBeUndefined()
    const s1 = onIbcEvidence(watched, commitment, meta(2))
    const wrongChain = onIbcEvidence(s1, { ...evidence("receipt", B, 20, bReceived, receivePacket(PACKET)), chain: A, headerHash: hashOf(A, 11) } as IbcPacketEvidence, meta(3))
    expect([packetOf(wrongChain, ID)?.status, wrongChain.ignored]).toEqual(["sent", 1])
    // A repeat counts once.
    const again = onIbcEvidence(s1, commitment, meta(3))
    expect([packetOf(again, ID)?.history.length, again.ignored]).toEqual([1, 1])
  })

  it("the receipt's absence times a packet out only past its timeout height; then a deletion refunds it", () => {
    const s1 = fold(watched, ev(commitment))
    const early = onIbcEvidence(s1, evidence("receipt-absent", B, 30, bEmpty, receivePacket(PACKET)), meta(50))
    expect([packetOf(early, ID)?.status, early.ignored]).toEqual(["sent", 1])
    // In flight: stuck once the threshold passed since its last leg's header time.
    const inFlight = packetOf(s1, ID)
    if (inFlight === undefined) throw new Error("not tracked")
    expect(packetView(inFlight, 11_005, 10).stuck).toBeNull()
    expect(packetView(inFlight, 11_015, 10).stuck).toEqual({ sinceMs: 11_000, forMs: 15 })
    const late = fold(
      s1,
      ev(evidence("receipt-absent", B, 40, bEmpty, receivePacket(PACKET))),
      ev(evidence("commitment-deleted", A, 12, aDeleted, deleteCommitment(PACKET)))
    )
    expect(packetOf(late, ID)?.history.map((m) => m.status)).toEqual(["sent", "timed-out", "refunded"])
    // A receipt proven present is never taken back by an absence.
    const delivered = fold(s1, ev(evidence("receipt", B, 20, bReceived, receivePacket(PACKET))))
    const contradicted = onIbcEvidence(delivered, evidence("receipt-absent", B, 40, bEmpty, receivePacket(PACKET)), meta(60))
    expect([packetOf(contradicted, ID)?.status, contradicted.ignored]).toEqual(["delivered", delivered.ignored + 1])
  })

  it("a reorg of either chain rolls back the legs proven above its fork point", () => {
    const s = fold(
      watched,
      ev(commitment),
      ev(evidence("receipt", B, 20, bReceived, receivePacket(PACKET))),
      ev(evidence("acknowledgement", B, 22, bAcked, writeAcknowledgement(PACKET, ICS20_SUCCESS_ACK)))
    )
    const reorg = (chain: string, forkHeight: number) =>
      ({ chain, forkHeight, forkHash: hashOf(chain, forkHeight), oldHead: { height: 50, hash: hashOf(chain, 50) }, newHead: { height: 50, hash: "cc".repeat(32) } }) as unknown as ChainReorged
    // B forks at 21: the ack (header 23) goes, the receipt (header 21) stays.
    const backB = onIbcReorg(s, reorg(B, 21), meta(90))
    expect(packetOf(backB, ID)?.status).toBe("delivered")
    expect(packetOf(backB, ID)?.acknowledgement).toBeNull()
    expect(packetOf(backB, ID)?.history.at(-1)?.evidence.kind).toBe("chain-reorged")
    // A forks at 10: the commitment (header 11) goes, the packet is retracted.
    const backA = onIbcReorg(s, reorg(A, 10), meta(91))
    expect(packetOf(backA, ID)?.status).toBe("retracted")
    expect(statusOf(packetOf(backA, ID)?.journey ?? [])).toBeUndefined()
    // The fork's headers are gone: a proof against them no longer counts.
    const replayed = onIbcEvidence(backB, evidence("acknowledgement", B, 22, bAcked, writeAcknowledgement(PACKET, ICS20_SUCCESS_ACK)), meta(92))
    expect(packetOf(replayed, ID)?.status).toBe("delivered")
  })

  it("the ack's bytes bound to the proven ack commitment say ok or error; an error ack then the deletion is refunded; unbound bytes leave it unknown", () => {
    // Up to the ack leg proven at B's state `height` of `store`, carrying `bytes` (if any).
    const acked = (height: number, store: MultiStore, ack: string, bytes: string | undefined) =>
      fold(
        watched,
        ev(commitment),
        ev(evidence("receipt", B, 20, bReceived, receivePacket(PACKET))),
        ev(evidence("acknowledgement", B, height, store, writeAcknowledgement(PACKET, ack), bytes === undefined ? {} : { acknowledgement: bytes } as Partial<IbcPacketEvidence>))
      )
    const deleted = ev(evidence("commitment-deleted", A, 12, aDeleted, deleteCommitment(PACKET)))

    const ok = acked(22, bAcked, ICS20_SUCCESS_ACK, ICS20_SUCCESS_ACK)
    expect([packetOf(ok, ID)?.status, packetOf(ok, ID)?.execution, ok.ignored]).toEqual(["executed", { result: "ok", acknowledgement: ICS20_SUCCESS_ACK }, 0])
    expect(packetOf(fold(ok, deleted), ID)?.history.map((m) => m.status)).toEqual(["sent", "delivered", "executed", "settled"])

    const failed = acked(24, bErrorAcked, ICS20_ERROR_ACK, ICS20_ERROR_ACK)
    expect(packetOf(failed, ID)?.execution).toEqual({
      result: "error",
      error: "ABCI code: 1: error handling packet: see events for details",
      acknowledgement: ICS20_ERROR_ACK
    })
    expect(packetOf(failed, ID)?.status).toBe("executed")
    // ICS-20 refunds the sender on an error ack: the deletion that follows it is a refund.
    const refunded = packetOf(fold(failed, deleted), ID)
    expect(refunded?.history.map((m) => [m.status, m.evidence.kind])).toEqual([
      ["sent", "ibc-commitment"],
      ["delivered", "ibc-receipt"],
      ["executed", "ibc-acknowledgement"],
      ["refunded", "ibc-commitment-deleted"]
    ])

    // An RPC's bytes that do not hash to the proven (error) ack commitment: the leg counts, the result is unknown.
    const lying = acked(24, bErrorAcked, ICS20_ERROR_ACK, ICS20_SUCCESS_ACK)
    expect([packetOf(lying, ID)?.status, packetOf(lying, ID)?.execution, lying.ignored]).toEqual(["executed", { result: "unknown" }, 0])
    expect(packetOf(fold(lying, deleted), ID)?.status).toBe("settled")
    // No bytes: unknown. An app's own ack format, bound: unknown, its bytes kept.
    expect(packetOf(acked(22, bAcked, ICS20_SUCCESS_ACK, undefined), ID)?.execution).toEqual({ result: "unknown" })
    expect(packetOf(acked(26, bAppAcked, APP_ACK, APP_ACK), ID)?.execution).toEqual({ result: "unknown", acknowledgement: APP_ACK })

    // A reorg that drops the ack leg drops its result; the deletion alone is not a refund.
    const reorged = onIbcReorg(fold(failed, deleted), { chain: B, forkHeight: 21, forkHash: hashOf(B, 21), oldHead: { height: 50, hash: hashOf(B, 50) }, newHead: { height: 50, hash: "cc".repeat(32) } } as unknown as ChainReorged, meta(95))
    expect([packetOf(reorged, ID)?.status, packetOf(reorged, ID)?.execution]).toEqual(["delivered", null])
  })
})

describe("IBC packets retention by count", () => {
  it("past MAX_EFFECTS packets the oldest leaves memory into the outbox, as it was last", () => {
    const s = fold(watched, ev(commitment))
    const tracked = packetOf(s, ID)!
    const full: EffectsState = { ...s, packetOrder: [...s.packetOrder, ...Array.from({ length: MAX_EFFECTS - 1 }, (_, i) => `filler-${i}`)] }
    const next = remember(full, { ...tracked, id: "another-packet" }, true)
    expect(packetOf(next, ID)).toBeUndefined()
    expect(packetOf(next, "another-packet")?.status).toBe("sent")
    expect([next.packetOrder.length, next.evicted]).toEqual([MAX_EFFECTS, [tracked]])
    // Not new: nothing leaves.
    expect(remember(s, tracked, false).evicted).toEqual([])
  })
})
