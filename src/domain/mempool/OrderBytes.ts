/**
 * The bytes of an order, as committed to and as time-locked: the RFC 8785 canonical JSON
 * (UTF-8) of its UserOrder payload. A commitment is SHA-256(orderBytes ‖ salt), salt 32 bytes.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, concatBytes, hexToBytes } from "@noble/hashes/utils.js"
import { Result, Schema } from "effect"
import { canonicalBytes } from "../CanonicalJson.ts"
import type { Bytes32, UserOrder as UserOrderType } from "./MempoolMessages.ts"
import { UserOrder } from "./MempoolMessages.ts"

/** The canonical bytes of an order. */
export const orderBytes = (order: UserOrderType): Uint8Array => canonicalBytes(order)

/** The commitment to an order under a salt: SHA-256(orderBytes ‖ salt), lowercase hex. */
export const commitmentOf = (order: UserOrderType, salt: Bytes32 | string): Bytes32 =>
  bytesToHex(sha256(concatBytes(orderBytes(order), hexToBytes(salt)))) as Bytes32

const decodeOrder = Schema.decodeUnknownResult(UserOrder)
const textDecoder = new TextDecoder("utf-8", { fatal: true })

/**
 * The order a plaintext holds, if it is exactly the canonical bytes of a valid order
 * (a decrypted time-lock plaintext must be, or it is refused).
 */
export const orderFromBytes = (bytes: Uint8Array): Result.Result<UserOrderType, string> => {
  let value: unknown
  try {
    value = JSON.parse(textDecoder.decode(bytes))
  } catch {
    return Result.fail("the plaintext is not UTF-8 JSON")
  }
  const order = decodeOrder(value, { onExcessProperty: "error" })
  if (Result.isFailure(order)) return Result.fail("the plaintext is not a UserOrder")
  const again = orderBytes(order.success)
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i])) {
    return Result.fail("the plaintext is not the order's canonical encoding")
  }
  return Result.succeed(order.success)
}
