/**
 * Reading an IBC acknowledgement's result, on ibc-go's own bytes: v1 `channeltypes.Acknowledgement`
 * JSON as ibc-go v10's modules/core/04-channel/types/acknowledgement_test.go expects it
 * (TestAcknowledgement, TestAcknowledgementWithCodespace), ICS-20's success ack, and v2's
 * ErrorAcknowledgement (04-channel/v2/types/acknowledgement.go: sha256 of
 * "UNIVERSAL_ERROR_ACKNOWLEDGEMENT", whose bytes cosmos/solidity-ibc-eureka's
 * contracts/utils/ICS24Host.sol spells out as UNIVERSAL_ERROR_ACK). Anything ibc-go does not
 * write is unknown; bytes not bound to the proven commitment are unknown.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import fc from "fast-check"
import { decodeAcknowledgementV2, encodeAcknowledgementV2 } from "../../src/adapters/cosmos/IbcPacketV2Proto.ts"
import {
  executionOfV1,
  executionOfV2,
  MAX_ERROR_CHARS,
  MAX_KEPT_ACK_HEX,
  readAcknowledgementV1,
  readAcknowledgementV2,
  UNIVERSAL_ERROR_ACKNOWLEDGEMENT
} from "../../src/domain/ibc/IbcAcknowledgement.ts"
import { IbcPacketEvidence, IbcPacketEvidenceV2, MAX_ACK_HEX } from "../../src/domain/effects/EffectMessages.ts"
import { sha256Hex } from "../cosmos/support/IbcStore.ts"

const hexOf = (text: string) => Buffer.from(text, "utf8").toString("hex")
const v2Commitment = (acks: ReadonlyArray<string>) => sha256Hex(`02${acks.map(sha256Hex).join("")}`)

describe("IBC acknowledgements: ok, error or unknown", () => {
  it("v1: ibc-go's result and error acks (acknowledgement_test.go) and ICS-20's success ack", () => {
    expect(readAcknowledgementV1(hexOf(`{"result":"c3VjY2Vzcw=="}`))).toEqual({ result: "ok" })
    expect(readAcknowledgementV1(hexOf(`{"result":"AQ=="}`))).toEqual({ result: "ok" })
    expect(readAcknowledgementV1(hexOf(`{"error":"ABCI code: 1: error handling packet: see events for details"}`))).toEqual({
      result: "error",
      error: "ABCI code: 1: error handling packet: see events for details"
    })
    expect(readAcknowledgementV1(hexOf(`{"error":"ABCI error: ibc/3: error handling packet: see events for details"}`))).toEqual({
      result: "error",
      error: "ABCI error: ibc/3: error handling packet: see events for details"
    })
    // Go's encoder escapes <, > and &: the string is read unescaped.
    expect(readAcknowledgementV1(hexOf(`{"error":"a \\u003c b \\"quoted\\""}`))).toEqual({ result: "error", error: `a < b "quoted"` })
  })

  it("v1: what ibc-go never writes is unknown (an app's own ack format)", () => {
    for (const text of [
      `{"result":""}`, // ValidateBasic refuses an empty result
      `{"result":"AQ="}`, // not padded base64
      `{"result":"AQ==","error":"x"}`,
      `{"error":"x","result":"AQ=="}`,
      `{ "result": "AQ==" }`, // not compact
      `{"error":"   "}`, // ValidateBasic: blank
      `{"error":"bad \\x escape"}`,
      `{"Result":"AQ=="}`,
      `"AQ=="`,
      `1`
    ]) {
      expect([text, readAcknowledgementV1(hexOf(text))]).toEqual([text, { result: "unknown" }])
    }
    expect(readAcknowledgementV1("01")).toEqual({ result: "unknown" })
    expect(readAcknowledgementV1("ff7b7d")).toEqual({ result: "unknown" }) // not UTF-8
    expect(readAcknowledgementV1("")).toEqual({ result: "unknown" })
  })

  it("v1: any non-empty result is ok and any non-blank error string reads back (bounded), as ibc-go's JSON gives them", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
      expect(readAcknowledgementV1(hexOf(JSON.stringify({ result: Buffer.from(bytes).toString("base64") })))).toEqual({ result: "ok" })
    }))
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 400 }).filter((s) => s.trim() !== ""), (message) => {
      expect(readAcknowledgementV1(hexOf(JSON.stringify({ error: message })))).toEqual({ result: "error", error: message.slice(0, MAX_ERROR_CHARS) })
    }))
  })

  it("v2: the universal error ack is sha256(\"UNIVERSAL_ERROR_ACKNOWLEDGEMENT\"); each app ack is read as v1's", () => {
    expect(UNIVERSAL_ERROR_ACKNOWLEDGEMENT).toBe("4774d4a575993f963b1c06573736617a457abef8589178db8d10c94b4ab511ab")
    expect(readAcknowledgementV2([UNIVERSAL_ERROR_ACKNOWLEDGEMENT])).toEqual({ result: "error", error: "UNIVERSAL_ERROR_ACKNOWLEDGEMENT" })
    const ok = hexOf(`{"result":"AQ=="}`)
    const error = hexOf(`{"error":"ABCI code: 1: error handling packet: see events for details"}`)
    expect(readAcknowledgementV2([ok])).toEqual({ result: "ok" })
    expect(readAcknowledgementV2([ok, ok])).toEqual({ result: "ok" })
    expect(readAcknowledgementV2([ok, error])).toMatchObject({ result: "error" })
    expect(readAcknowledgementV2([ok, "01"])).toEqual({ result: "unknown" })
    expect(readAcknowledgementV2([])).toEqual({ result: "unknown" })
  })

  it("the bytes count only when they hash to the proven commitment; bytes past the bound are read but not kept", () => {
    const ok = hexOf(`{"result":"AQ=="}`)
    const error = hexOf(`{"error":"ABCI code: 1: error handling packet: see events for details"}`)
    expect(executionOfV1(ok, sha256Hex(ok))).toEqual({ result: "ok", acknowledgement: ok })
    expect(executionOfV1(ok, sha256Hex(error))).toEqual({ result: "unknown" })
    expect(executionOfV1(undefined, sha256Hex(ok))).toEqual({ result: "unknown" })
    const long = hexOf(JSON.stringify({ error: "x".repeat(MAX_KEPT_ACK_HEX) }))
    expect(executionOfV1(long, sha256Hex(long))).toEqual({ result: "error", error: "x".repeat(MAX_ERROR_CHARS) })

    expect(executionOfV2([UNIVERSAL_ERROR_ACKNOWLEDGEMENT], v2Commitment([UNIVERSAL_ERROR_ACKNOWLEDGEMENT]))).toEqual({
      result: "error",
      error: "UNIVERSAL_ERROR_ACKNOWLEDGEMENT",
      appAcknowledgements: [UNIVERSAL_ERROR_ACKNOWLEDGEMENT]
    })
    expect(executionOfV2([ok], v2Commitment([ok]))).toEqual({ result: "ok", appAcknowledgements: [ok] })
    // A v1 commitment (sha256 of the ack alone) is not the v2 one.
    expect(executionOfV2([ok], sha256Hex(ok))).toEqual({ result: "unknown" })
    expect(executionOfV2([ok], v2Commitment([UNIVERSAL_ERROR_ACKNOWLEDGEMENT]))).toEqual({ result: "unknown" })
  })

  it("v2: the event's encoded Acknowledgement (app_acknowledgements = 1, repeated bytes) decodes to the apps' acks", () => {
    const ok = hexOf(`{"result":"AQ=="}`)
    // gogoproto: tag 0x0a, length, bytes, per element.
    expect(Buffer.from(encodeAcknowledgementV2([ok])).toString("hex")).toBe(`0a11${ok}`)
    expect(decodeAcknowledgementV2(Buffer.from(`0a11${ok}0a20${UNIVERSAL_ERROR_ACKNOWLEDGEMENT}`, "hex"))).toEqual([ok, UNIVERSAL_ERROR_ACKNOWLEDGEMENT])
    expect(decodeAcknowledgementV2(Buffer.from("0a05aa", "hex"))).toBeUndefined() // length past the end
    expect(decodeAcknowledgementV2(Buffer.from("0801", "hex"))).toBeUndefined() // field 1 as a varint
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }), (acks) => {
      const hex = acks.map((a) => Buffer.from(a).toString("hex"))
      expect(decodeAcknowledgementV2(encodeAcknowledgementV2(hex))).toEqual(hex)
    }))
  })

  it("an evidence message carries at most 64 KiB of ack hex (v2: 1 to 16 acks, 64 KiB in all)", () => {
    const leg = { leg: "acknowledgement", chain: "b", height: 1, headerHash: "aa".repeat(32), key: "00", value: "11".repeat(32), proof: "00" }
    const v1 = (acknowledgement: string) => Schema.decodeUnknownExit(IbcPacketEvidence)({ ...leg, packet: { chain: "a", port: "transfer", channel: "channel-0", sequence: "1" }, acknowledgement })
    const v2 = (appAcknowledgements: ReadonlyArray<string>) =>
      Schema.decodeUnknownExit(IbcPacketEvidenceV2)({ ...leg, packet: { chain: "a", clientId: "07-tendermint-0", sequence: "1" }, appAcknowledgements })
    expect(v1("ab".repeat(MAX_ACK_HEX / 2))._tag).toBe("Success")
    expect(v1("ab".repeat(MAX_ACK_HEX / 2 + 1))._tag).toBe("Failure")
    expect(v1("AB")._tag).toBe("Failure") // lowercase hex only
    expect(v2(["ab".repeat(MAX_ACK_HEX / 4), "ab".repeat(MAX_ACK_HEX / 4)])._tag).toBe("Success")
    expect(v2(["ab".repeat(MAX_ACK_HEX / 4), "ab".repeat(MAX_ACK_HEX / 4 + 1)])._tag).toBe("Failure")
    expect(v2(Array.from({ length: 17 }, () => "01"))._tag).toBe("Failure")
    expect(v2([])._tag).toBe("Failure")
  })
})
