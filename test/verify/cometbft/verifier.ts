/** The signature verifiers the CometBFT tests run with. */
import * as NodeCryptoSignatureVerifier from "../../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import type { VerifySignature } from "../../../src/domain/verify/cometbft/CometBftLightClient.ts"
import { bytesToUpperHex } from "../../../src/domain/verify/cometbft/JsonBytes.ts"

const adapter = NodeCryptoSignatureVerifier.make()

/** node:crypto Ed25519 through the production adapter (cached KeyObjects), counting its calls. */
export const nodeCryptoVerify: VerifySignature & { calls: number } = Object.assign(
  (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean => {
    nodeCryptoVerify.calls++
    return adapter.verify("ed25519", bytesToUpperHex(publicKey).toLowerCase(), message, signature)
  },
  { calls: 0 }
)
