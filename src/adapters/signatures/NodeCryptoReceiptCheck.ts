/**
 * A signed receipt's signature checked by node:crypto (OpenSSL) rather than the domain's noble
 * default: the same verdicts (test/mempool/OrderingFairness.test.ts runs every case both ways),
 * many times faster. The ordering check's worker uses it.
 */
import { receiptSigningBytes, type SignedReceipt } from "../../domain/mempool/Receipt.ts"
import * as NodeCryptoSignatureVerifier from "./NodeCryptoSignatureVerifier.ts"

const verifier = NodeCryptoSignatureVerifier.make(10_000)

/** Does the receipt's signature verify under its `instance` key? */
export const nodeCryptoReceiptCheck = (r: SignedReceipt): boolean => {
  try {
    return verifier.verify(r.scheme, r.instance, receiptSigningBytes(r), Buffer.from(r.signature, "hex"))
  } catch {
    return false // malformed key or signature bytes
  }
}
