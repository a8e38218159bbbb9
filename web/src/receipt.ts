/**
 * The receipt check in the browser: the domain's own `checkReceipt` (the one causeway/verify
 * exports), bundled as it is: its shape, that it names one of the trusted keys (the instance's
 * and the cluster's members, from the API), and its Ed25519 signature by @noble/curves.
 */
import { Result } from "effect"
import { checkReceipt } from "../../src/domain/mempool/Receipt.ts"

/** The verdict on a receipt, as text for people. */
export type Verdict =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly text: string }

/** Check a receipt given as JSON text against the trusted keys. */
export const checkReceiptText = (text: string, trusted: ReadonlyArray<string>): Verdict => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (e) {
    return { ok: false, text: `not JSON: ${e instanceof Error ? e.message : String(e)}` }
  }
  if (trusted.length === 0) return { ok: false, text: "no trusted key: the instance's key could not be read" }
  const verdict = checkReceipt(value, trusted)
  return Result.isSuccess(verdict)
    ? { ok: true, text: `valid: signed by ${verdict.success.instance.slice(0, 16)}…, batch ${verdict.success.batch}, position ${verdict.success.position}` }
    : { ok: false, text: `invalid: ${verdict.failure.reason}` }
}
