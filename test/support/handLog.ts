/** A log built by hand, for projection tests that fold records without a store or ingest. */
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { type Envelope, idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { Hex, MessageId } from "../../src/domain/Primitives.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { envelope } from "./fixtures.ts"

/** What one append may set; by default no deps, no expiry, and the next Lamport time. */
export interface HandLogAppendOptions {
  readonly deps?: ReadonlyArray<string>
  readonly expiry?: number | null
  readonly lamport?: number
}

/**
 * Each append signs an envelope (per-sender nonces 1, 2, …) and gives it the next offset.
 * With `signed: false` the signature is left zero (projections never read it; ingest checks
 * it), which keeps property tests over thousands of records fast.
 */
export const handLog = (config: { readonly signed?: boolean } = {}) => {
  const records: Array<LogRecord> = []
  const nonces = new Map<string, number>()
  let clock = 0
  const append = (key: KeyFile, type: MessageType, payload: unknown, options: HandLogAppendOptions = {}): LogRecord => {
    const nonce = (nonces.get(key.publicKey) ?? 0) + 1
    nonces.set(key.publicKey, nonce)
    clock += 1
    const lamport = options.lamport ?? clock
    const deps = [...(options.deps ?? [])].sort() as Array<MessageId>
    const fields = { type, payload, nonce, lamport, deps, expiry: options.expiry ?? null }
    const env: Envelope = config.signed === false
      ? { v: 1, flags: 0, scheme: key.scheme, sender: key.publicKey as Hex, ...fields, sig: "00".repeat(64) as Hex }
      : envelope(key, fields)
    const record: LogRecord = { offset: records.length, id: idOf(env), lamport, type, sender: key.publicKey, nonce, deps, body: canonicalize(env) }
    records.push(record)
    return record
  }
  return { records, append }
}
