import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Result } from "effect"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { verifyOrderingFairness } from "../../src/domain/mempool/OrderingFairness.ts"
import { type SignedReceipt, signReceipt, verifyReceiptSignature } from "../../src/domain/mempool/Receipt.ts"
import { nodeCryptoReceiptCheck } from "../../src/adapters/signatures/NodeCryptoReceiptCheck.ts"
import { testKey } from "../support/fixtures.ts"

const instance = testKey("instance")
const other = testKey("other-instance")
const id = (n: number) => n.toString(16).padStart(64, "0") as MessageId

/** Receipts of `n` orders in two batches, positions in offset order (what the mempool signs). */
const receipts = (n: number, key = instance): Array<SignedReceipt> =>
  Array.from({ length: n }, (_, i) =>
    signReceipt(key, { orderId: id(i + 1), batch: i < n / 2 ? 0 : 1, position: i < n / 2 ? i : i - Math.ceil(n / 2), lamport: 10 + i, offset: 3 * i }))

const violations = (r: ReturnType<typeof verifyOrderingFairness>) => (Result.isFailure(r) ? r.failure.violations.map((v) => v.kind) : [])

describe("receipts", () => {
  it("are deterministic and verify; any changed field breaks the signature", () => {
    const [r] = receipts(1)
    expect(signReceipt(instance, { orderId: r!.orderId, batch: r!.batch, position: r!.position, lamport: r!.lamport, offset: r!.offset })).toEqual(r)
    expect(verifyReceiptSignature(r!)).toBe(true)
    for (const change of [{ batch: 1 }, { position: 1 }, { lamport: 99 }, { offset: 7 }, { orderId: id(9) }, { instance: other.publicKey }]) {
      expect(verifyReceiptSignature({ ...r!, ...change } as SignedReceipt)).toBe(false)
    }
  })
})

describe("the server's OpenSSL receipt check", () => {
  it("gives noble's verdict on valid, changed, forged and malformed receipts, Ed25519 and secp256k1", () => {
    const k1 = testKey("instance-k1", "secp256k1")
    const valid = [...receipts(2), ...receipts(2, k1)]
    const cases: Array<SignedReceipt> = [...valid]
    for (const r of valid) {
      for (const change of [{ batch: 9 }, { lamport: 99 }, { orderId: id(9) }, { instance: other.publicKey }]) cases.push({ ...r, ...change } as SignedReceipt)
      for (const signature of ["00".repeat(64), r.signature.slice(0, 126), `${r.signature.slice(0, 126)}zz`]) cases.push({ ...r, signature } as SignedReceipt)
      for (const key of [`${r.instance.slice(0, -2)}zz`, "00".repeat(32)]) cases.push({ ...r, instance: key } as SignedReceipt)
    }
    const verdicts = cases.map((r) => [verifyReceiptSignature(r), nodeCryptoReceiptCheck(r)])
    for (const [noble, openssl] of verdicts) expect(openssl).toBe(noble)
    expect(verdicts.filter(([v]) => v).length).toBe(valid.length)
    // The whole check gives the same verdict with either.
    const mixed = [...receipts(4), { ...receipts(4)[2]!, position: 0 }]
    expect(verifyOrderingFairness([id(1), id(3)], mixed, {}, nodeCryptoReceiptCheck)).toEqual(verifyOrderingFairness([id(1), id(3)], mixed))
  })
})

describe("verifyOrderingFairness", () => {
  it("accepts processing in sequence order, with some orders skipped", () => {
    const rs = receipts(6)
    const r = verifyOrderingFairness([id(1), id(2), id(4), id(6)], rs, { instanceKey: instance.publicKey })
    expect(r).toEqual(Result.succeed({ signer: instance.publicKey, processed: 4, receipts: 6 }))
  })

  it("given a cluster's members, takes receipts signed by any of them for the same positions, and nothing else", () => {
    const third = testKey("third-member")
    const members = [instance.publicKey, other.publicKey]
    // Each order's receipt from another member: same facts, another key.
    const mixed = receipts(6).map((r, i) => (i % 2 === 0 ? r : receipts(6, other)[i]!))
    expect(verifyOrderingFairness([id(1), id(2), id(5)], mixed, { members })).toEqual(Result.succeed({ signer: null, processed: 3, receipts: 6 }))
    // Both members' receipts for one order agree: not a conflict.
    expect(Result.isSuccess(verifyOrderingFairness([id(1)], [...receipts(2), ...receipts(2, other)], { members }))).toBe(true)
    // Without the membership, two signers are one too many.
    expect(violations(verifyOrderingFairness([id(1), id(2)], mixed))).toContain("ForeignSigner")
    // A key outside the membership, and two members disagreeing on a position, are caught.
    expect(violations(verifyOrderingFairness([id(1)], [receipts(1, third)[0]], { members }))).toEqual(["ForeignSigner", "MissingReceipt"])
    const otherPosition = signReceipt(other, { orderId: id(1), batch: 0, position: 1, lamport: 10, offset: 0 })
    expect(violations(verifyOrderingFairness([id(1)], [receipts(1)[0], otherPosition], { members }))).toContain("ConflictingReceipts")
  })

  it("finds a frontrun: an order processed before one sequenced earlier", () => {
    const r = verifyOrderingFairness([id(1), id(3), id(2)], receipts(4))
    expect(violations(r)).toEqual(["OutOfOrder"])
    expect(Result.isFailure(r) && r.failure.violations[0]).toMatchObject({ index: 2, processed: id(2), after: id(3) })
  })

  it("finds orders across batches out of order", () => {
    expect(violations(verifyOrderingFairness([id(4), id(1)], receipts(4)))).toEqual(["OutOfOrder"])
  })

  it("refuses forged, foreign, conflicting, malformed and missing receipts", () => {
    const rs = receipts(4)
    const forged = { ...rs[1]!, position: 0, batch: 0, signature: rs[1]!.signature }
    expect(violations(verifyOrderingFairness([id(1)], [rs[0], forged]))).toEqual(["InvalidSignature"])
    const foreign = receipts(4, other)
    expect(violations(verifyOrderingFairness([id(1), id(2)], [rs[0], foreign[1]]))).toEqual(["ForeignSigner", "MissingReceipt"])
    expect(violations(verifyOrderingFairness([id(1)], rs, { instanceKey: other.publicKey }))).toContain("ForeignSigner")
    const conflicting = signReceipt(instance, { orderId: id(1), batch: 0, position: 1, lamport: 10, offset: 1 })
    expect(violations(verifyOrderingFairness([id(1)], [rs[0], conflicting]))).toContain("ConflictingReceipts")
    expect(violations(verifyOrderingFairness([id(1)], [rs[0], { nope: 1 }]))).toEqual(["MalformedReceipt"])
    expect(violations(verifyOrderingFairness([id(1), id(7)], rs))).toEqual(["MissingReceipt"])
    expect(violations(verifyOrderingFairness([id(1), id(1)], rs))).toEqual(["DuplicateInProcessing"])
    expect(violations(verifyOrderingFairness(["xyz", 5], rs))).toEqual(["MalformedProcessingOrder", "MalformedProcessingOrder"])
  })

  it("catches an instance whose positions contradict arrival order, or that gives one position twice", () => {
    const a = signReceipt(instance, { orderId: id(1), batch: 0, position: 0, lamport: 5, offset: 9 })
    const b = signReceipt(instance, { orderId: id(2), batch: 0, position: 1, lamport: 6, offset: 4 })
    expect(violations(verifyOrderingFairness([id(1), id(2)], [a, b]))).toEqual(["PositionContradictsArrival"])
    const c = signReceipt(instance, { orderId: id(3), batch: 0, position: 0, lamport: 6, offset: 12 })
    expect(violations(verifyOrderingFairness([id(1)], [a, c]))).toEqual(["DuplicatePosition"])
  })

  it("property: a processing order passes exactly when it is increasing in (batch, position)", () => {
    const rs = receipts(8)
    fc.assert(fc.property(fc.subarray(rs.map((r) => r.orderId)).chain((ids) => fc.shuffledSubarray(ids, { minLength: ids.length, maxLength: ids.length })), (order) => {
      const rank = (x: string) => rs.findIndex((r) => r.orderId === x)
      const increasing = order.every((x, i) => i === 0 || rank(order[i - 1]!) < rank(x))
      expect(Result.isSuccess(verifyOrderingFairness(order, rs))).toBe(increasing)
    }), { numRuns: 60 })
  })
})
