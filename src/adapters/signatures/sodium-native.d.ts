// The part of sodium-native (libsodium bindings, no bundled types) that causeway calls.
declare module "sodium-native" {
  /** crypto_sign_verify_detached(sig 64 bytes, message, publicKey 32 bytes): does it verify? */
  export function crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean
  const sodium: { crypto_sign_verify_detached: typeof crypto_sign_verify_detached }
  export default sodium
}
