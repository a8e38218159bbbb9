/**
 * A hand-built log for cluster tests: like test/support/handLog.ts (every envelope signed with
 * the sender's real ed25519 key), but it takes any type and payload, appends records with a
 * body of one's choosing, and has shorthands for the cluster's sets and claims.
 */
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { envelope, testKey } from "../support/fixtures.ts"

/** The cluster's keys: its admin, three members and two users who are none of them. */
export const keys = {
  admin: testKey("cluster-admin"),
  a: testKey("member-a"),
  b: testKey("member-b"),
  c: testKey("member-c"),
  alice: testKey("user-alice"),
  bob: testKey("user-bob")
} as const

/** The configuration of the cluster's instance `key` (every member runs one). */
export const clusterConfig = (key: KeyFile = keys.a) => ({ instanceKey: key.publicKey, clusterAdmin: keys.admin.publicKey })

/** The configuration of a deployment of one instance. */
export const soloConfig = (key: KeyFile = keys.a) => ({ instanceKey: key.publicKey })

/** A seal's payload, as the sealer writes it. */
export const sealPayload = (batch: number) => ({ batch, sealedAt: 1_000_000 + 1_000 * batch, beaconRound: null })

/**
 * A log whose appends sign an envelope (per-sender nonces 1, 2, …; Lamport times 1, 2, …) and
 * give it the next offset. `raw` appends a record with a body of your choosing (a corrupt one).
 */
export const clusterLog = () => {
  const records: Array<LogRecord> = []
  const nonces = new Map<string, number>()
  const next = (key: KeyFile) => {
    const nonce = (nonces.get(key.publicKey) ?? 0) + 1
    nonces.set(key.publicKey, nonce)
    return nonce
  }
  const append = (key: KeyFile, type: string, payload: unknown): LogRecord => {
    const lamport = records.length + 1
    const env = envelope(key, { type, payload, nonce: next(key), lamport, deps: [] as ReadonlyArray<MessageId> })
    const record: LogRecord = { offset: records.length, id: idOf(env), lamport, type, sender: key.publicKey, nonce: env.nonce, deps: [], body: canonicalize(env) }
    records.push(record)
    return record
  }
  const raw = (key: KeyFile, type: string, body: string): LogRecord => {
    const record: LogRecord = {
      offset: records.length,
      id: `${records.length.toString(16).padStart(64, "0")}` as MessageId,
      lamport: records.length + 1,
      type,
      sender: key.publicKey,
      nonce: next(key),
      deps: [],
      body
    }
    records.push(record)
    return record
  }
  return {
    records,
    append,
    raw,
    /** The admin (or whoever signs it) names the members. */
    set: (members: ReadonlyArray<KeyFile | string>, by: KeyFile = keys.admin) =>
      append(by, "ClusterMembersSet", { members: members.map((m) => (typeof m === "string" ? m : m.publicKey)) }),
    /** A member claims a term. */
    claim: (by: KeyFile, term: number) => append(by, "LeaderTermClaimed", { term })
  }
}
