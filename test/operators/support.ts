/** Helpers for operators tests: salts, commitments, and a hand-built log of signed records. */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import type { MessageId } from "../../src/domain/Primitives.ts"

/** A deterministic 32-byte salt. */
export const salt = (label: string): string => bytesToHex(sha256(new TextEncoder().encode(`operators-salt:${label}`)))

/** A deterministic order id (any 32-byte hex names an order for an intent). */
export const orderId = (n: number): MessageId => bytesToHex(sha256(new TextEncoder().encode(`order:${n}`))) as MessageId

/** An intent body. */
export const intent = (orders: ReadonlyArray<number>, windowStart: number, windowEnd: number) => ({
  orderIds: orders.map(orderId),
  windowStart,
  windowEnd
})

export { handLog } from "../support/handLog.ts"
