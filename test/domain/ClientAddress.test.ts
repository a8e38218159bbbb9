import { describe, expect, it } from "vitest"
import { clientAddressKey } from "../../src/domain/ClientAddress.ts"
import { take, takeUpTo } from "../../src/domain/TokenBucket.ts"

describe("clientAddressKey", () => {
  it("an IPv4 address stands for itself (leading zeros dropped)", () => {
    expect(clientAddressKey("192.0.2.1")).toBe("192.0.2.1")
    expect(clientAddressKey("010.000.000.001")).toBe("10.0.0.1")
    expect(clientAddressKey("127.0.0.1")).toBe("127.0.0.1")
  })

  it("an IPv6 address stands for its /64, however it is written", () => {
    const key = "2001:db8:0:1::/64"
    expect(clientAddressKey("2001:db8:0:1::1")).toBe(key)
    expect(clientAddressKey("2001:0DB8:0000:0001:ffff:ffff:ffff:ffff")).toBe(key)
    expect(clientAddressKey("2001:db8:0:1:a:b:c:d%eth0")).toBe(key)
    expect(clientAddressKey("2001:db8:0:2::1")).toBe("2001:db8:0:2::/64")
    expect(clientAddressKey("::1")).toBe("0:0:0:0::/64")
    expect(clientAddressKey("fe80::")).toBe("fe80:0:0:0::/64")
    expect(clientAddressKey("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64")
  })

  it("an IPv4-mapped IPv6 address stands for its IPv4 address, dotted or in hex", () => {
    expect(clientAddressKey("::ffff:192.0.2.1")).toBe("192.0.2.1")
    expect(clientAddressKey("::FFFF:127.0.0.1")).toBe("127.0.0.1")
    expect(clientAddressKey("::ffff:c000:201")).toBe("192.0.2.1")
    expect(clientAddressKey("0:0:0:0:0:ffff:c000:0201")).toBe("192.0.2.1")
  })

  it("text that is no IP address is kept as it is (lowercased)", () => {
    for (const text of ["unknown", "1.2.3", "256.1.1.1", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::ffff:300.0.0.1"]) {
      expect(clientAddressKey(text)).toBe(text)
    }
  })
})

describe("takeUpTo", () => {
  const policy = { ratePerSec: 10, burst: 5 }

  it("grants the first tokens asked for, up to what the bucket holds, and says when the next is due", () => {
    const full = takeUpTo(undefined, 3, 0, policy)
    expect(full).toMatchObject({ granted: 3, retryAfterMs: 0, bucket: { tokens: 2 } })
    const over = takeUpTo(full.bucket, 4, 0, policy)
    expect(over).toMatchObject({ granted: 2, retryAfterMs: 100, bucket: { tokens: 0 } })
    expect(takeUpTo(over.bucket, 1, 50, policy)).toMatchObject({ granted: 0, retryAfterMs: 50 })
    expect(takeUpTo(over.bucket, 10, 1000, policy)).toMatchObject({ granted: 5 })
  })

  it("agrees with take one token at a time", () => {
    let one = take(undefined, 0, policy)
    let many = takeUpTo(undefined, 1, 0, policy)
    for (let t = 0; t < 2000; t += 37) {
      one = take(one.bucket, t, policy)
      many = takeUpTo(many.bucket, 1, t, policy)
      expect(many.granted === 1).toBe(one.ok)
      expect(many.bucket.tokens).toBeCloseTo(one.bucket.tokens, 9)
    }
  })
})
