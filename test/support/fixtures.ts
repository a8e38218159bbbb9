/** Deterministic keys and envelopes for tests. */
import { sha256 } from "@noble/hashes/sha2.js"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { type Envelope, idOf, type Scheme, type UnsignedEnvelope } from "../../src/domain/Envelope.ts"
import { type KeyFile, keyFromSecret, signEnvelope } from "../../src/domain/Keys.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import type { NewRecord } from "../../src/ports/CausalLog.ts"

/** A key derived from a label, so tests are reproducible. */
export const testKey = (label: string, scheme: Scheme = "ed25519"): KeyFile =>
  keyFromSecret(scheme, sha256(new TextEncoder().encode(`causeway-test-key:${label}`)))

/** A NetworkHealth payload: the smallest valid message. */
export const healthPayload = (latencyMs = 1) => ({ component: "test", status: "ok" as const, latencyMs })

/** A signed envelope with sensible defaults. */
export const envelope = (
  key: KeyFile,
  fields: Partial<Omit<UnsignedEnvelope, "scheme" | "sender">> = {}
): Envelope =>
  signEnvelope(key, {
    v: 1,
    flags: 0,
    type: "NetworkHealth",
    nonce: 1,
    lamport: 1,
    deps: [] as ReadonlyArray<MessageId>,
    expiry: null,
    payload: healthPayload(),
    ...fields
  })

/** The log record of a signed envelope, as the ingest path builds it. */
export const recordOf = (e: Envelope): NewRecord => ({
  id: idOf(e),
  lamport: e.lamport,
  type: e.type,
  sender: e.sender,
  nonce: e.nonce,
  deps: e.deps,
  body: canonicalize(e)
})
