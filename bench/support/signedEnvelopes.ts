/**
 * Real, valid ed25519 envelopes for the benchmarks, signed with node:crypto (OpenSSL) because
 * signing tens of thousands with noble would dominate the set-up time. Ed25519 signatures
 * are deterministic, so these are the bytes `signEnvelope` would produce for the same keys.
 */
import { type KeyObject, createPrivateKey, createPublicKey, sign } from "node:crypto"
import type { Envelope, UnsignedEnvelope } from "../../src/domain/Envelope.ts"
import { idBytesOf, signingBytes, toHex } from "../../src/domain/Envelope.ts"
import type { Hex, MessageId } from "../../src/domain/Primitives.ts"

// PKCS#8 prefix of an Ed25519 private key (RFC 8410): followed by the 32-byte seed.
const ED25519_PKCS8 = Buffer.from("302e020100300506032b657004220420", "hex")

/** A bench sender: its keys as node:crypto objects and its public key as hex. */
export interface BenchSender {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly publicHex: Hex
}

/** A deterministic sender from an index (seed = index, big-endian, padded to 32 bytes). */
export const benchSender = (index: number): BenchSender => {
  const seed = Buffer.alloc(32)
  seed.writeUInt32BE(index + 1, 28)
  seed.write("causeway-bench", 0, "latin1")
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, seed]), format: "der", type: "pkcs8" })
  const publicKey = createPublicKey(privateKey)
  const spki = publicKey.export({ format: "der", type: "spki" })
  return { privateKey, publicKey, publicHex: toHex(spki.subarray(spki.length - 32)) as Hex }
}

/** A signed envelope with the bytes that were signed (48 bytes: domain tag and id). */
export interface SignedEnvelope {
  readonly envelope: Envelope
  readonly id: MessageId
  readonly signed: Uint8Array
  readonly sig: Uint8Array
  readonly sender: BenchSender
}

/** Sign an unsigned envelope (scheme and sender filled in from the sender). */
export const signWith = (
  sender: BenchSender,
  unsigned: Omit<UnsignedEnvelope, "scheme" | "sender">
): SignedEnvelope => {
  const body: UnsignedEnvelope = { ...unsigned, scheme: "ed25519", sender: sender.publicHex }
  const idBytes = idBytesOf(body)
  const signed = signingBytes(idBytes)
  const sig = sign(null, signed, sender.privateKey)
  return { envelope: { ...body, sig: toHex(sig) as Hex }, id: toHex(idBytes) as MessageId, signed, sig, sender }
}

/** A realistic order payload (the bulk of expected traffic), varied by a counter. */
export const orderPayload = (n: number) => ({
  chain: "eip155:1",
  market: n % 3 === 0 ? "ETH-USDC" : n % 3 === 1 ? "WBTC-USDC" : "ARB-ETH",
  side: n % 2 === 0 ? "buy" : "sell",
  amountIn: String(1_000_000_000_000_000n + BigInt(n) * 7_919n),
  minAmountOut: String(2_500_000_000n + BigInt(n) * 13n),
  limitPrice: String(3_141_590_000n + BigInt(n % 1000))
})

/**
 * `count` orders from `senders` senders, round-robin; each sender's k-th message has nonce k,
 * Lamport time k, and depends on its own previous message (a causal chain per sender).
 */
export const orderStream = (count: number, senders: ReadonlyArray<BenchSender>): Array<SignedEnvelope> => {
  const last = new Map<BenchSender, SignedEnvelope>()
  const seen = new Map<BenchSender, number>()
  const out: Array<SignedEnvelope> = []
  for (let i = 0; i < count; i++) {
    const sender = senders[i % senders.length] as BenchSender
    const k = (seen.get(sender) ?? 0) + 1
    seen.set(sender, k)
    const prev = last.get(sender)
    const s = signWith(sender, {
      v: 1,
      flags: 0,
      type: "UserOrder",
      nonce: k,
      lamport: k,
      deps: prev === undefined ? [] : [prev.id],
      expiry: null,
      payload: orderPayload(i)
    })
    last.set(sender, s)
    out.push(s)
  }
  return out
}
