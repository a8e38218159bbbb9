/**
 * One decode per record (src/projections/RecordEvents.ts): a record's envelope is parsed and
 * its payload decoded by its type's schema once, and every fold that reads it gets that same
 * decoded value; a body that does not decode strictly is a corrupt record for all of them.
 */
import { describe, expect, it } from "vitest"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { mempoolEventOf } from "../../src/projections/Mempool/Mempool.ts"
import { eventOf, payloadOf } from "../../src/projections/RecordEvents.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { order } from "../mempool/support.ts"

const alice = testKey("record-events")
const recordOf = (body: string, type = "UserOrder"): LogRecord => ({ offset: 0, id: "ab".repeat(32), lamport: 1, type, sender: alice.publicKey, nonce: 1, deps: [], body } as unknown as LogRecord)
const signed = envelope(alice, { type: "UserOrder", payload: order(1), expiry: 1_900_000_000_000 })

describe("RecordEvents", () => {
  it("decodes a record once: every reader gets the same decoded value", () => {
    const r = recordOf(canonicalize(signed as never))
    const first = eventOf(r)
    expect(first).toEqual({ type: "UserOrder", payload: order(1), expiry: 1_900_000_000_000 })
    expect(eventOf(r)).toBe(first)
    expect(payloadOf(r, "UserOrder")).toBe(first?.payload)
    // The mempool's event is built from the same decoded payload, not a second decode.
    expect(mempoolEventOf(r)?.payload).toBe(first?.payload)
  })

  it("reads a record only as its own type", () => {
    const r = recordOf(canonicalize(signed as never))
    expect(payloadOf(r, "UserOrderCancellation")).toBeUndefined()
  })

  it.each([
    ["not JSON", "{", "UserOrder"],
    ["not an object", "42", "UserOrder"],
    ["an excess payload property", JSON.stringify({ payload: { ...order(1), extra: 1 }, expiry: null }), "UserOrder"],
    ["a payload of another type", JSON.stringify({ payload: { orderId: "ab".repeat(32) }, expiry: null }), "UserOrder"],
    ["a bad expiry", JSON.stringify({ payload: order(1), expiry: "soon" }), "UserOrder"],
    ["an unknown type", JSON.stringify({ payload: {}, expiry: null }), "NoSuchType"]
  ])("a body with %s is a corrupt record: undefined for every fold", (_, body, type) => {
    const r = recordOf(body, type)
    expect(eventOf(r)).toBeUndefined()
    expect(eventOf(r)).toBeUndefined()
    expect(mempoolEventOf(r)).toBeUndefined()
  })
})
