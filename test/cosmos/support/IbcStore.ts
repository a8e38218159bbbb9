/**
 * The `ibc` store of a test chain, written as ibc-go's core keeper writes it (ICS-24 v1 paths
 * as UTF-8 keys): a packet commitment at `commitments/ports/{port}/channels/{channel}/sequences/{seq}`
 * (the v1 commitment, 32 bytes), a receipt at `receipts/...` (0x01), an acknowledgement at
 * `acks/...` (its commitment, sha256 of the ack bytes), and the commitment deleted when the
 * source learns the ack (or the timeout). Sending also gives the `send_packet` event ibc-go
 * emits, which the CometBFT server answers on `tx_search` (how relayers find a packet's data);
 * writing an acknowledgement gives ibc-go's `write_acknowledgement` event likewise.
 *
 * IBC v2 packets (ibc-go v10's channel/v2 keeper) are below, on their binary keys.
 *
 * Commitments are computed with src/domain/ibc/IbcCommitments.ts, pinned on ibc-go's vectors
 * in test/verify/effects/Ibc.test.ts.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { Result } from "effect"
import { encodeAcknowledgementV2, encodePacketV2 } from "../../../src/adapters/cosmos/IbcPacketV2Proto.ts"
import {
  acknowledgementCommitmentV1Bytes,
  acknowledgementCommitmentV2Bytes,
  packetAcknowledgementKeyV2,
  packetAcknowledgementPathV1,
  packetCommitmentKeyV2,
  packetCommitmentPathV1,
  packetCommitmentV1Bytes,
  packetCommitmentV2Bytes,
  packetReceiptKeyV2,
  packetReceiptPathV1,
  type PayloadV2
} from "../../../src/domain/ibc/IbcCommitments.ts"
import type { StoreWrite, TxResult } from "./TestChain.ts"

/** A v1 packet as the test sends it. */
export interface TestPacket {
  readonly sourcePort: string
  readonly sourceChannel: string
  readonly destinationPort: string
  readonly destinationChannel: string
  readonly sequence: bigint
  /** Hex. */
  readonly data: string
  readonly timeoutHeight: { readonly revisionNumber: bigint; readonly revisionHeight: bigint }
  /** Nanoseconds since the epoch; 0 for none. */
  readonly timeoutTimestamp: bigint
}

/** The hex store key of an ICS-24 path. */
export const ibcKey = (path: string): string => Buffer.from(path, "utf8").toString("hex")

const orThrow = <A>(r: Result.Result<A, unknown>): A => {
  if (Result.isFailure(r)) throw new Error(String(r.failure))
  return r.success
}

/** The packet's v1 commitment. */
export const commitmentOf = (p: TestPacket): Uint8Array => orThrow(packetCommitmentV1Bytes(p))

/** The attributes ibc-go v10's v1 packet events share: the packet's data, timeout, sequence and ends. */
const packetV1Attributes = (p: TestPacket): Array<{ readonly key: string; readonly value: string }> => [
  { key: "packet_data_hex", value: p.data },
  { key: "packet_timeout_height", value: `${p.timeoutHeight.revisionNumber}-${p.timeoutHeight.revisionHeight}` },
  { key: "packet_timeout_timestamp", value: String(p.timeoutTimestamp) },
  { key: "packet_sequence", value: String(p.sequence) },
  { key: "packet_src_port", value: p.sourcePort },
  { key: "packet_src_channel", value: p.sourceChannel },
  { key: "packet_dst_port", value: p.destinationPort },
  { key: "packet_dst_channel", value: p.destinationChannel }
]

/** The writes and the `send_packet` event of sending `p` on its source chain. */
export const sendPacket = (p: TestPacket): { readonly writes: ReadonlyArray<StoreWrite>; readonly result: TxResult } => ({
  writes: [{ store: "ibc", key: ibcKey(packetCommitmentPathV1(p.sourcePort, p.sourceChannel, p.sequence)), value: commitmentOf(p) }],
  result: {
    tx: new TextEncoder().encode(`ibc-transfer/${p.sourcePort}/${p.sourceChannel}/${p.sequence}`),
    events: [{
      type: "send_packet",
      attributes: [
        ...packetV1Attributes(p),
        { key: "packet_channel_ordering", value: "ORDER_UNORDERED" },
        { key: "packet_connection", value: "connection-0" }
      ]
    }]
  }
})

/** The receipt the destination writes on RecvPacket (unordered channels: 0x01). */
export const receivePacket = (p: TestPacket): StoreWrite => ({
  store: "ibc",
  key: ibcKey(packetReceiptPathV1(p.destinationPort, p.destinationChannel, p.sequence)),
  value: Uint8Array.of(1)
})

/** The acknowledgement commitment the destination writes (`ack`: the ack bytes, hex). */
export const writeAcknowledgement = (p: TestPacket, ack: string): StoreWrite => ({
  store: "ibc",
  key: ibcKey(packetAcknowledgementPathV1(p.destinationPort, p.destinationChannel, p.sequence)),
  value: orThrow(acknowledgementCommitmentV1Bytes(ack))
})

/** The source deletes the commitment on AcknowledgePacket or TimeoutPacket. */
export const deleteCommitment = (p: TestPacket): StoreWrite => ({
  store: "ibc",
  key: ibcKey(packetCommitmentPathV1(p.sourcePort, p.sourceChannel, p.sequence)),
  value: undefined
})

/** ICS-20's success acknowledgement `{"result":"AQ=="}`, hex. */
export const ICS20_SUCCESS_ACK = Buffer.from(`{"result":"AQ=="}`, "utf8").toString("hex")

/**
 * An ibc-go error acknowledgement (NewErrorAcknowledgement of an error with ABCI code 1), hex:
 * the bytes ibc-go v10's modules/core/04-channel/types/acknowledgement_test.go expects.
 */
export const ICS20_ERROR_ACK = Buffer.from(`{"error":"ABCI code: 1: error handling packet: see events for details"}`, "utf8").toString("hex")

/**
 * The acknowledgement commitment the destination writes and the `write_acknowledgement` event
 * ibc-go v10's emitWriteAcknowledgementEvent gives with it (04-channel/keeper/events.go).
 */
export const writeAcknowledgementTx = (p: TestPacket, ack: string): { readonly writes: ReadonlyArray<StoreWrite>; readonly result: TxResult } => ({
  writes: [writeAcknowledgement(p, ack)],
  result: {
    tx: new TextEncoder().encode(`ibc-recv/${p.destinationPort}/${p.destinationChannel}/${p.sequence}`),
    events: [{
      type: "write_acknowledgement",
      attributes: [
        ...packetV1Attributes(p),
        { key: "packet_ack_hex", value: ack },
        { key: "packet_channel_ordering", value: "ORDER_UNORDERED" },
        { key: "packet_connection", value: "connection-0" },
        { key: "connection_id", value: "connection-0" }
      ]
    }]
  }
})

/** An ICS-20 FungibleTokenPacketData as JSON bytes, hex. */
export const transferData = (denom: string, amount: string, sender: string, receiver: string): string =>
  Buffer.from(JSON.stringify({ amount, denom, receiver, sender }), "utf8").toString("hex")

/** sha256, for tests comparing hashes. */
export const sha256Hex = (hex: string): string => Buffer.from(sha256(Buffer.from(hex, "hex"))).toString("hex")

// ---------------------------------------------------------------------------------------------
// IBC v2 (ibc-go v10 channel/v2 keeper): binary keys `clientId || 0x01|0x02|0x03 || be8(seq)`
// in the same `ibc` store; the receipt is `[]byte{byte(2)}`; the ack is the v2 ack commitment.

/** A v2 packet as the test sends it (`timeoutTimestamp` in seconds). */
export interface TestPacketV2 {
  readonly sourceClient: string
  readonly destinationClient: string
  readonly sequence: bigint
  readonly timeoutTimestamp: bigint
  readonly payloads: ReadonlyArray<PayloadV2>
}

/** The packet's v2 commitment. */
export const commitmentV2Of = (p: TestPacketV2): Uint8Array => orThrow(packetCommitmentV2Bytes(p))

/** The commitment the source writes on SendPacket (v2). */
export const sendPacketV2 = (p: TestPacketV2): StoreWrite => ({
  store: "ibc",
  key: Buffer.from(packetCommitmentKeyV2(p.sourceClient, p.sequence)).toString("hex"),
  value: commitmentV2Of(p)
})

/** The receipt the destination writes on RecvPacket (v2: 0x02). */
export const receivePacketV2 = (p: TestPacketV2): StoreWrite => ({
  store: "ibc",
  key: Buffer.from(packetReceiptKeyV2(p.destinationClient, p.sequence)).toString("hex"),
  value: Uint8Array.of(2)
})

/** The v2 acknowledgement commitment the destination writes (`acks`: the apps' acknowledgements, hex). */
export const writeAcknowledgementV2 = (p: TestPacketV2, acks: ReadonlyArray<string>): StoreWrite => ({
  store: "ibc",
  key: Buffer.from(packetAcknowledgementKeyV2(p.destinationClient, p.sequence)).toString("hex"),
  value: orThrow(acknowledgementCommitmentV2Bytes(acks))
})

/** The source deletes the v2 commitment on Acknowledgement or Timeout. */
export const deleteCommitmentV2 = (p: TestPacketV2): StoreWrite => ({
  store: "ibc",
  key: Buffer.from(packetCommitmentKeyV2(p.sourceClient, p.sequence)).toString("hex"),
  value: undefined
})

/** An ICS-20 v2 transfer payload (JSON encoding). */
export const transferPayloadV2 = (denom: string, amount: string, sender: string, receiver: string): PayloadV2 => ({
  sourcePort: "transfer",
  destinationPort: "transfer",
  version: "ics20-1",
  encoding: "application/json",
  value: transferData(denom, amount, sender, receiver)
})

/** The attributes ibc-go v10's v2 packet events share: the packet's ends, sequence, timeout and its protobuf encoding. */
const packetV2Attributes = (p: TestPacketV2): Array<{ readonly key: string; readonly value: string }> => [
  { key: "packet_source_client", value: p.sourceClient },
  { key: "packet_dest_client", value: p.destinationClient },
  { key: "packet_sequence", value: String(p.sequence) },
  { key: "packet_timeout_timestamp", value: String(p.timeoutTimestamp) },
  {
    key: "encoded_packet_hex",
    value: Buffer.from(encodePacketV2({
      sequence: String(p.sequence),
      sourceClient: p.sourceClient,
      destinationClient: p.destinationClient,
      timeoutTimestamp: String(p.timeoutTimestamp),
      payloads: p.payloads
    })).toString("hex")
  }
]

/** The commitment and the v2 `send_packet` event (ibc-go v10's emitSendPacketEvents: the packet protobuf-encoded) of sending `p`. */
export const sendPacketV2Tx = (p: TestPacketV2): { readonly writes: ReadonlyArray<StoreWrite>; readonly result: TxResult } => ({
  writes: [sendPacketV2(p)],
  result: {
    tx: new TextEncoder().encode(`ibc-v2-send/${p.sourceClient}/${p.sequence}`),
    events: [{
      type: "send_packet",
      attributes: [
        ...packetV2Attributes(p)
      ]
    }]
  }
})

/** ibc-go v2's ErrorAcknowledgement, sha256("UNIVERSAL_ERROR_ACKNOWLEDGEMENT"), hex (04-channel/v2/types/acknowledgement.go). */
export const UNIVERSAL_ERROR_ACK = Buffer.from(sha256(new TextEncoder().encode("UNIVERSAL_ERROR_ACKNOWLEDGEMENT"))).toString("hex")

/**
 * The v2 acknowledgement commitment the destination writes and the v2 `write_acknowledgement`
 * event ibc-go v10's emitWriteAcknowledgementEvents gives with it (04-channel/v2/keeper/events.go:
 * the packet and the Acknowledgement protobuf-encoded).
 */
export const writeAcknowledgementV2Tx = (p: TestPacketV2, acks: ReadonlyArray<string>): { readonly writes: ReadonlyArray<StoreWrite>; readonly result: TxResult } => ({
  writes: [writeAcknowledgementV2(p, acks)],
  result: {
    tx: new TextEncoder().encode(`ibc-v2-recv/${p.destinationClient}/${p.sequence}`),
    events: [{
      type: "write_acknowledgement",
      attributes: [
        ...packetV2Attributes(p),
        { key: "encoded_acknowledgement_hex", value: Buffer.from(encodeAcknowledgementV2(acks)).toString("hex") }
      ]
    }]
  }
})
