/**
 * The v2 packet of a `send_packet` event (`encoded_packet_hex`) decodes as ibc-go marshals it,
 * on a third-party vector (cosmos/relayer's v2 lifecycle test packet, ibc-go v11), and
 * encodes back to the same bytes; truncated or mistyped bytes decode to nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { decodePacketV2, encodePacketV2 } from "../../src/adapters/cosmos/IbcPacketV2Proto.ts"

// cosmos/relayer relayer/chains (v11PacketHex): sequence 7, 07-tendermint-0 → 07-tendermint-1, timeout 123, one transfer payload.
const RELAYER_V11_PACKET =
  "0807120f30372d74656e6465726d696e742d301a0f30372d74656e6465726d696e742d31207b2a340a087472616e7366657212087472616e736665721a0769637332302d3122106170706c69636174696f6e2f6a736f6e2a03010203"

describe("IBC v2 packet protobuf", () => {
  it("decodes cosmos/relayer's v2 packet vector and encodes it back byte for byte", () => {
    const packet = decodePacketV2(Buffer.from(RELAYER_V11_PACKET, "hex"))
    expect(packet).toEqual({
      sequence: "7",
      sourceClient: "07-tendermint-0",
      destinationClient: "07-tendermint-1",
      timeoutTimestamp: "123",
      payloads: [{ sourcePort: "transfer", destinationPort: "transfer", version: "ics20-1", encoding: "application/json", value: "010203" }]
    })
    if (packet === undefined) throw new Error("not decoded")
    expect(Buffer.from(encodePacketV2(packet)).toString("hex")).toBe(RELAYER_V11_PACKET)
  })

  it("refuses truncated bytes and a field of the wrong wire type", () => {
    const bytes = Buffer.from(RELAYER_V11_PACKET, "hex")
    expect(decodePacketV2(bytes.subarray(0, bytes.length - 1))).toBeUndefined()
    // Field 2 (source_client) sent as a varint.
    expect(decodePacketV2(Uint8Array.of(0x08, 0x07, 0x10, 0x01))).toBeUndefined()
  })
})
