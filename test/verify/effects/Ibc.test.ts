/**
 * IBC commitments and ICS-20 denoms against test/vectors/ibc (literals from cosmos/ibc-go v11
 * and cosmos/ibc-rs tests, plus the collector's derived cases), through `causeway/verify`.
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import {
  ibcAcknowledgementCommitment,
  ibcAcknowledgementCommitmentV2,
  ibcDenom,
  ibcPacketCommitment,
  ibcPacketCommitmentV2,
  type PacketV1,
  type PacketV2,
  parseIbcDenomPath
} from "causeway/verify"
import { denomFullPath, isChannelId, isClientId } from "../../../src/domain/ibc/IbcDenom.ts"

const read = (name: string): any => JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../vectors/ibc", name), "utf8"))
const commitments = read("packet-commitments.json")
const denoms = read("denoms.json")

interface Case<P> {
  readonly name: string
  readonly packet: P
  readonly commitment: string | null
  readonly mustNotEqual?: string
}

describe("IBC packet commitments", () => {
  it("has the vector counts the README names", () => {
    expect([commitments.v1.cases.length, commitments.v1.negative.length, commitments.v2.cases.length, commitments.v2.negative.length]).toEqual([2, 6, 3, 7])
  })
  for (const c of commitments.v1.cases as ReadonlyArray<Case<PacketV1>>) {
    it(`v1 ${c.name}`, () => expect(ibcPacketCommitment(c.packet)).toBe(c.commitment))
  }
  for (const c of commitments.v1.negative as ReadonlyArray<Case<PacketV1>>) {
    it(`v1 negative ${c.name}`, () => {
      const got = ibcPacketCommitment(c.packet)
      expect(got).not.toBe(c.mustNotEqual)
      if (c.commitment !== null) expect(got).toBe(c.commitment)
    })
  }
  for (const c of commitments.v2.cases as ReadonlyArray<Case<PacketV2>>) {
    it(`v2 ${c.name}`, () => expect(ibcPacketCommitmentV2(c.packet)).toBe(c.commitment))
  }
  for (const c of commitments.v2.negative as ReadonlyArray<Case<PacketV2>>) {
    it(`v2 negative ${c.name}`, () => {
      const got = ibcPacketCommitmentV2(c.packet)
      expect(typeof got).toBe("string")
      expect(got).not.toBe(c.mustNotEqual)
      if (c.commitment !== null) expect(got).toBe(c.commitment)
    })
  }
  it("malformed packets are typed failures, never throws", () => {
    const tagOf = (r: unknown) => (typeof r === "string" ? r : (r as { failure: { _tag: string } }).failure._tag)
    const good = commitments.v1.cases[0].packet
    expect(tagOf(ibcPacketCommitment({ ...good, data: "0x12" }))).toBe("MalformedIbcInput")
    expect(tagOf(ibcPacketCommitment({ ...good, timeoutTimestamp: "18446744073709551616" }))).toBe("MalformedIbcInput")
    expect(tagOf(ibcPacketCommitment({ ...good, timeoutTimestamp: "-1" }))).toBe("MalformedIbcInput")
    expect(tagOf(ibcPacketCommitment(null as never))).toBe("MalformedIbcInput")
    expect(tagOf(ibcPacketCommitmentV2({ ...commitments.v2.cases[0].packet, payloads: [{ sourcePort: 1 }] }))).toBe("MalformedIbcInput")
    expect(tagOf(ibcAcknowledgementCommitmentV2("ab" as never))).toBe("MalformedIbcInput")
    expect(tagOf(ibcDenom(7 as never))).toBe("MalformedIbcInput")
    // The largest uint64 is accepted.
    expect(typeof ibcPacketCommitment({ ...good, timeoutTimestamp: "18446744073709551615" })).toBe("string")
  })
})

describe("IBC acknowledgement commitments", () => {
  for (const c of commitments.acknowledgements.cases.v1) {
    it(`v1 ${c.name}`, () => expect(ibcAcknowledgementCommitment(c.ack)).toBe(c.commitment))
  }
  for (const c of commitments.acknowledgements.cases.v2) {
    it(`v2 ${c.name}`, () => expect(ibcAcknowledgementCommitmentV2(c.appAcknowledgements)).toBe(c.commitment))
  }
  for (const c of commitments.acknowledgements.negative) {
    it(`negative ${c.name}`, () => {
      const got = ibcAcknowledgementCommitmentV2(c.appAcknowledgements)
      expect(typeof got).toBe("string")
      expect(got).not.toBe(c.mustNotEqual)
    })
  }
})

describe("ICS-20 denoms", () => {
  it("has the vector counts the README names", () => {
    expect([denoms.parse.length, denoms.hashes.length, denoms.native.length, denoms.negative.length]).toEqual([29, 18, 7, 8])
  })
  for (const c of denoms.parse) {
    it(`parse ${c.name}: ${JSON.stringify(c.path)}`, () => {
      const parsed = parseIbcDenomPath(c.path)
      expect(parsed).toEqual({ base: c.base, trace: c.trace })
      expect(denomFullPath(parsed) === c.path).toBe(c.roundTrips)
    })
  }
  for (const c of denoms.hashes) {
    it(`hash ${c.path}`, () => expect(ibcDenom(c.path)).toBe(c.ibcDenom))
  }
  for (const c of denoms.native) {
    it(`native ${c.path}`, () => expect(ibcDenom(c.path)).toBe(c.path))
  }
  for (const c of denoms.negative) {
    it(`negative ${c.name}`, () => {
      expect(ibcDenom(c.path)).not.toBe(c.mustNotEqual)
      expect(ibcDenom(c.path)).toBe(c.ibcDenom)
    })
  }
  it("channel and client ids follow ibc-go's rules, numbers within uint64", () => {
    expect(["channel-0", "channel-18446744073709551615", "07-tendermint-0", "08-wasm-1369", "09-localhost"].map((id) => isChannelId(id) || isClientId(id))).toEqual([true, true, true, true, true])
    expect(["channel-18446744073709551616", "channel-", "channelToA", "07-tendermint-", "-1", "a b-1"].map((id) => isChannelId(id) || isClientId(id))).toEqual([false, false, false, false, false, false])
  })
})
