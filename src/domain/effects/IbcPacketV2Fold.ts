/**
 * IBC v2 (client-based) packets in the effect tracker's fold (docs/effects-ibc.md), the same
 * journey as v1 (src/domain/effects/IbcPacketFold.ts) on ibc-go's v2 keys: each leg is the
 * value of a binary 24-host/v2 key in the `ibc` store, proven with ICS23 against a verified
 * app hash:
 *
 * - `sent`: the commitment at `sourceClient || 0x01 || be8(seq)` on the source (the v2 packet
 *   commitment, 32 bytes; with the packet's fields, when given, hashing to it with the
 *   destination's client: the timeout becomes known);
 * - `delivered`: the receipt at `destinationClient || 0x02 || be8(seq)` on the destination,
 *   `0x02` (ibc-go's channel/v2 keeper SetPacketReceipt);
 * - `executed`: the acknowledgement commitment at `destinationClient || 0x03 || be8(seq)`;
 *   with the apps' acks (the v2 write_acknowledgement event's) hashing to it, `execution`
 *   says ok or error (a single UNIVERSAL_ERROR_ACKNOWLEDGEMENT: error), otherwise unknown;
 * - `settled` / `refunded`: the commitment proven deleted after the ack / the timeout or an
 *   error ack;
 * - `timed-out`: the receipt proven absent at a header whose verified time is past the
 *   packet's timeout (v2 timeouts are a timestamp in seconds; no height), as ibc-go's v2
 *   timeout check compares the proof's consensus time with the timeout in nanoseconds.
 *
 * The status, reorg rollback, queries and stuck flag are v1's: a v2 packet is an
 * IbcPacketEffect whose ends are clients. No forward links (packet-forward is a v1 middleware).
 *
 * Ids: `ibc-packet-v2:{chain}:{clientId}:{sequence}` (the source chain and its client).
 */
import { bytesToHex, concatBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { HashMap, Result } from "effect"
import { executionOfV2 } from "../ibc/IbcAcknowledgement.ts"
import { packetAcknowledgementKeyV2, packetCommitmentKeyV2, packetCommitmentV2Bytes, packetReceiptKeyV2, type PayloadV2 } from "../ibc/IbcCommitments.ts"
import type { EffectsState, RecordMeta } from "./EffectFold.ts"
import type { IbcClientDestination, IbcLeg, IbcPacketEvidenceV2, IbcPacketFilter, IbcPacketRefV2 } from "./EffectMessages.ts"
import type { EffectWatch, IbcPacketEffect } from "./EffectShapes.ts"
import { ignore, legValueOk, newPacketEffect, RECEIPT_V2, packetOf, provenLeg, remember, statusOf, withLaterLeg, withLeg } from "./IbcPacketFold.ts"

/** The id of an IBC v2 packet effect. */
export const ibcPacketV2EffectId = (chain: string, clientId: string, sequence: string): string => `ibc-packet-v2:${chain}:${clientId}:${sequence}`

type V2Filter = Extract<IbcPacketFilter, { readonly clientId: string }>
type V2Watch = EffectWatch & { readonly kind: "ibc-packet"; readonly filter: V2Filter }

/** The active IBC v2 packet watches of a source chain. */
export const ibcV2WatchesOf = (state: EffectsState, chain: string): ReadonlyArray<V2Watch> =>
  [...HashMap.values(state.watches)]
    .filter((w): w is V2Watch => w.chain === chain && w.kind === "ibc-packet" && "clientId" in w.filter)
    .sort((a, b) => (a.id < b.id ? -1 : 1))

/** The binary store key (in the `ibc` store) a v2 leg is proven at. */
export const ibcV2StoreKey = (leg: IbcLeg, packet: IbcPacketRefV2, destination: IbcClientDestination | undefined): Uint8Array => {
  const sequence = BigInt(packet.sequence)
  if (leg === "commitment" || leg === "commitment-deleted") return packetCommitmentKeyV2(packet.clientId, sequence)
  const client = destination?.clientId ?? ""
  return leg === "acknowledgement" ? packetAcknowledgementKeyV2(client, sequence) : packetReceiptKeyV2(client, sequence)
}

/** The StateProof key (hex of UTF-8 `ibc/` and the binary v2 key) a v2 leg is proven at. */
export const ibcV2LegKey = (leg: IbcLeg, packet: IbcPacketRefV2, destination: IbcClientDestination | undefined): string =>
  bytesToHex(concatBytes(utf8ToBytes("ibc/"), ibcV2StoreKey(leg, packet, destination)))

/** The chain a v2 leg is proven on. */
export const ibcV2LegChain = (leg: IbcLeg, packet: IbcPacketRefV2, destination: IbcClientDestination): string =>
  leg === "commitment" || leg === "commitment-deleted" ? packet.chain : destination.chain

/** The v2 commitment of a packet's fields sent to `destinationClient` (ibc-go's CommitPacket v2), hex; undefined when malformed. */
export const sentPacketV2Commitment = (sent: { readonly timeoutTimestamp: string; readonly payloads: ReadonlyArray<PayloadV2> }, destinationClient: string): string | undefined => {
  const r = packetCommitmentV2Bytes({ destinationClient, timeoutTimestamp: sent.timeoutTimestamp, payloads: sent.payloads })
  return Result.isSuccess(r) ? bytesToHex(r.success) : undefined
}


const sameDestination = (a: IbcClientDestination, b: { readonly chain: string; readonly clientId: string }): boolean =>
  a.chain === b.chain && a.clientId === b.clientId

/**
 * One proven leg of a v2 packet. Ignored (counted) on the same grounds as a v1 leg: an
 * unverified header, a proof that does not prove the value (or absence) under its app hash,
 * a key or value not the leg's, an untracked packet (no active v2 watch of the source client),
 * a repeat, or a leg that does not follow (a deletion before the presence, an absence where
 * the receipt was proven, an absence not past the timeout or with no timeout known).
 */
export const onIbcEvidenceV2 = (state: EffectsState, p: IbcPacketEvidenceV2, meta: RecordMeta): EffectsState => {
  const id = ibcPacketV2EffectId(p.packet.chain, p.packet.clientId, p.packet.sequence)
  const existing = packetOf(state, id)
  if (p.proof.length === 0 || !legValueOk(p.leg, p.value, RECEIPT_V2)) return ignore(state)
  const proven = provenLeg(state, p, meta)
  if (proven === undefined) return ignore(state)
  const { leg, evidence } = proven

  if (p.leg === "commitment") {
    if (existing !== undefined && statusOf(existing.journey) !== undefined) return ignore(state)
    const watches = ibcV2WatchesOf(state, p.packet.chain).filter((w) => w.filter.clientId === p.packet.clientId)
    if (watches.length === 0 || p.chain !== p.packet.chain) return ignore(state)
    const destination = p.destination ?? watches.find((w) => w.filter.destination !== undefined)?.filter.destination
    if (p.key !== ibcV2LegKey("commitment", p.packet, destination)) return ignore(state)
    // The destination's client is committed to: fields without a destination cannot be checked.
    if (p.sent !== undefined && (destination === undefined || sentPacketV2Commitment(p.sent, destination.clientId) !== p.value)) return ignore(state)
    // v2 timeouts are seconds; ibc-go compares them in nanoseconds with the proof's consensus time.
    const timeout = p.sent === undefined
      ? existing?.timeout ?? null
      : { revisionNumber: "0", revisionHeight: "0", timestamp: String(BigInt(p.sent.timeoutTimestamp) * 1_000_000_000n) }
    const base: IbcPacketEffect = existing ?? newPacketEffect({
      id,
      source: { chain: p.packet.chain, clientId: p.packet.clientId },
      sequence: p.packet.sequence,
      destination: destination === undefined ? null : { chain: destination.chain, clientId: destination.clientId },
      evidence,
      commitment: p.value,
      timeout,
      watches: watches.map((w) => w.id)
    })
    const effect = withLeg({ ...base, commitment: p.value, timeout, watches: watches.map((w) => w.id) }, leg, evidence, state.packets)
    return remember(state, effect, existing === undefined)
  }

  if (existing === undefined || existing.destination === null || !("clientId" in existing.destination)) return ignore(state)
  const destination: IbcClientDestination = { chain: existing.destination.chain, clientId: existing.destination.clientId }
  if (p.destination !== undefined && !sameDestination(p.destination, destination)) return ignore(state)
  if (p.chain !== ibcV2LegChain(p.leg, p.packet, destination) || p.key !== ibcV2LegKey(p.leg, p.packet, destination)) return ignore(state)
  return withLaterLeg(state, existing, p, leg, evidence, p.leg === "acknowledgement" ? executionOfV2(p.appAcknowledgements, p.value) : null)
}
