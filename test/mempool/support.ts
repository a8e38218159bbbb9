/** Helpers for mempool tests: orders, salts, and a hand-built log of signed records. */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import type { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import { generateKey, type ModulusProof, proveModulus, type RandomBytes, type RswKey } from "../../src/domain/timelock/Rsw.ts"

/** An order whose amounts carry a recognizable marker (the leak test greps for it). */
export const order = (n: number, market = "ETH-USDC", chain = "eth"): UserOrder => ({
  chain,
  market,
  side: n % 2 === 0 ? "buy" : "sell",
  amountIn: `${7_700_000_000 + n}`,
  minAmountOut: `${9_900_000_000 + n}`,
  limitPrice: `${3_300_000 + n}`
}) as UserOrder

/** A deterministic 32-byte salt. */
export const salt = (label: string) => bytesToHex(sha256(new TextEncoder().encode(`salt:${label}`)))

export { handLog } from "../support/handLog.ts"

/** A deterministic byte source (SHA-256 in counter mode), so RSW keys and seeds are reproducible. */
export const seededRandom = (label: string): RandomBytes => {
  let counter = 0
  return (n) => {
    const out = new Uint8Array(n)
    for (let o = 0; o < n; o += 32) out.set(sha256(new TextEncoder().encode(`${label}:${counter++}`)).subarray(0, Math.min(32, n - o)), o)
    return out
  }
}

/** RSW limits for tests: 1,024-bit moduli (a fraction of 2,048's cost to prove and check), small squaring counts. */
export const testRswLimits = { modulusBits: 1024, minSquarings: 1024, maxSquarings: 1 << 20, maxPlaintext: 4096 } as const

const rswKeys = new Map<string, { readonly key: RswKey; readonly proof: ModulusProof }>()

/** A 1,024-bit RSW creator key and its modulus proof, made once per label. */
export const rswKey = (label: string) => {
  let made = rswKeys.get(label)
  if (made === undefined) {
    const random = seededRandom(`rsw-key:${label}`)
    const key = generateKey(testRswLimits.modulusBits, random)
    made = { key, proof: proveModulus(key, random) }
    rswKeys.set(label, made)
  }
  return made
}
