/** Helpers for operators tests: salts, commitments, and a hand-built log of signed records. */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { Hex, MessageId } from "../../src/domain/Primitives.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { envelope } from "../support/fixtures.ts"

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

/**
 * A log built by hand: each append signs an envelope and gives it the next offset. With
 * `signed: false` the signature is left zero (the projection never reads it; ingest checks
 * it), which keeps property tests over thousands of records fast.
 */
export const handLog = (config: { readonly signed?: boolean } = {}) => {
  const records: Array<LogRecord> = []
  const nonces = new Map<string, number>()
  let clock = 0
  const append = (
    key: KeyFile,
    type: MessageType,
    payload: unknown,
    options: { readonly lamport?: number } = {}
  ): LogRecord => {
    const nonce = (nonces.get(key.publicKey) ?? 0) + 1
    nonces.set(key.publicKey, nonce)
    clock += 1
    const lamport = options.lamport ?? clock
    const fields = { type, payload, nonce, lamport, deps: [] as Array<MessageId>, expiry: null }
    const env: Envelope = config.signed === false
      ? { v: 1, flags: 0, scheme: key.scheme, sender: key.publicKey as Hex, ...fields, sig: "00".repeat(64) as Hex }
      : envelope(key, fields)
    const record: LogRecord = {
      offset: records.length,
      id: idOf(env),
      lamport,
      type,
      sender: key.publicKey,
      nonce,
      deps: [],
      body: canonicalize(env)
    }
    records.push(record)
    return record
  }
  return { records, append }
}
