/**
 * The mempool projection: folds orders, commitments, reveals, time-locked orders, RSW modulus
 * registrations, cancellations and the instance's decisions (seals, expiries, decryptions,
 * modulus checks, matches, fills, settlement's refusals of match proposals)
 * into the mempool state: each event is decided (src/domain/mempool/MempoolDecide.ts) and the
 * decision applied (MempoolEvolve.ts). Other records are skipped without reading their
 * bodies' payloads.
 */
import { HashMap, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import {
  type Debt,
  type MempoolEvent,
  type MempoolRules,
  type MempoolState,
  type Modulus,
  type Puzzle,
  defaultRules,
  initialMempool,
  mempoolTypes
} from "../../domain/mempool/MempoolFold.ts"
import { decide } from "../../domain/mempool/MempoolDecide.ts"
import { evolve } from "../../domain/mempool/MempoolEvolve.ts"
import type { AuthorityConfig } from "../../domain/cluster/Authority.ts"
import { authorized, type WithAuthority } from "../Authorized.ts"
import { Batch, Entry, MessageOutcome } from "../../domain/mempool/MempoolShapes.ts"
import type { LogRecord } from "../../ports/CausalLog.ts"
import { requireRetention } from "../../domain/Retention.ts"
import { type Archived, drainEvicted, type Projection } from "../Projection.ts"
import { orderView, seatKey } from "../../domain/mempool/MempoolViews.ts"
import { eventOf } from "../RecordEvents.ts"
import { encodeTally, TallyJson, tallyOf } from "../../domain/senders/SenderScore.ts"

/**
 * The mempool event a record carries, or undefined for other types. The log holds only
 * admitted envelopes (payload decoded at ingest), so a failure here is a corrupt record:
 * it is skipped, like any record the mempool does not read.
 */
export const mempoolEventOf = (record: LogRecord): MempoolEvent | undefined => {
  if (!mempoolTypes.has(record.type)) return undefined
  const event = eventOf(record)
  if (event === undefined) return undefined
  return {
    type: record.type,
    payload: event.payload,
    id: record.id,
    offset: record.offset,
    lamport: record.lamport,
    sender: record.sender,
    deps: record.deps,
    expiry: event.expiry
  } as MempoolEvent
}

// ---------------------------------------------------------------------------------------
// Snapshot encoding: the digest covers exactly this JSON.
// ---------------------------------------------------------------------------------------

const ModulusJson = Schema.Struct({ sender: Schema.String, n: Schema.String, offset: Schema.Number })

const Encoded = Schema.Struct({
  entries: Schema.Record(Schema.String, Entry),
  batch: Schema.Number,
  open: Schema.Array(Schema.String),
  openDigest: Schema.String,
  batches: Schema.Array(Batch),
  outcomes: Schema.Record(Schema.String, MessageOutcome),
  debts: Schema.Record(Schema.String, Schema.Struct({ debt: Schema.Number, since: Schema.Number })),
  scores: TallyJson,
  moduli: Schema.Record(Schema.String, ModulusJson),
  pendingModuli: Schema.Record(Schema.String, ModulusJson),
  puzzles: Schema.Record(Schema.String, Schema.Struct({ modulusId: Schema.String, t: Schema.Number, seed: Schema.String, ciphertext: Schema.String })),
  processing: Schema.Array(Schema.String),
  retention: Schema.Number,
  retiring: Schema.Record(Schema.String, Schema.Array(Schema.String))
})
const decodeEncoded = Schema.decodeUnknownSync(Encoded)

const byIndex = (m: HashMap.HashMap<number, string>): Array<string> => {
  const out: Array<string> = new Array(HashMap.size(m))
  for (const [i, id] of m) out[i] = id
  return out
}

const encodeWith = (retentionMs: number) => (s: MempoolState): Json => {
  const entries: Record<string, Json> = {}
  for (const [id, e] of s.entries) entries[id] = e
  const outcomes: Record<string, Json> = {}
  for (const [id, o] of s.outcomes) outcomes[id] = o
  const debts: Record<string, Json> = {}
  for (const [k, d] of s.debts) debts[k] = { debt: d.debt, since: d.since }
  const moduli: Record<string, Json> = {}
  for (const [k, m] of s.moduli) moduli[k] = { sender: m.sender, n: m.n, offset: m.offset }
  const pendingModuli: Record<string, Json> = {}
  for (const [k, m] of s.pendingModuli) pendingModuli[k] = { sender: m.sender, n: m.n, offset: m.offset }
  const puzzles: Record<string, Json> = {}
  for (const [k, p] of s.puzzles) puzzles[k] = { modulusId: p.modulusId, t: p.t, seed: p.seed, ciphertext: p.ciphertext }
  const batches = [...HashMap.values(s.batches)].sort((a, b) => a.batch - b.batch)
  const retiring: Record<string, Json> = {}
  for (const [b, keys] of s.retiring) retiring[String(b)] = [...HashMap.keys(keys)].sort()
  return {
    entries,
    batch: s.batch,
    open: byIndex(s.open),
    openDigest: s.openDigest,
    batches,
    outcomes,
    debts,
    scores: encodeTally(s.scores),
    moduli,
    pendingModuli,
    puzzles,
    processing: byIndex(s.processing),
    retention: retentionMs,
    retiring
  }
}

const decodeWith = (retentionMs: number) => (json: Json): MempoolState => {
  const o = decodeEncoded(json, { onExcessProperty: "error" })
  // A snapshot folded under another retention dropped other entries: it is rebuilt from the log.
  requireRetention(o.retention, retentionMs)
  const entries = HashMap.fromIterable(Object.entries(o.entries))
  const live = HashMap.fromIterable(
    Object.values(o.entries).filter((e) => e.status === "committed" || e.status === "revealed" || e.status === "matched").map((e) => [e.id, true as const] as const)
  )
  const seats = new Map<number, Array<readonly [number, string]>>()
  for (const e of Object.values(o.entries)) {
    if (e.batch >= o.batch) continue
    const list = seats.get(e.batch)
    if (list === undefined) seats.set(e.batch, [[e.position, e.id]])
    else list.push([e.position, e.id])
  }
  return {
    entries,
    batch: o.batch,
    open: HashMap.fromIterable(o.open.map((id, i) => [i, id] as const)),
    openDigest: o.openDigest,
    batches: HashMap.fromIterable(o.batches.map((b) => [b.batch, b] as const)),
    seats: HashMap.fromIterable([...seats].map(([b, list]) => [b, HashMap.fromIterable(list)] as const)),
    live,
    outcomes: HashMap.fromIterable(Object.entries(o.outcomes)),
    debts: HashMap.fromIterable(Object.entries(o.debts).map(([k, v]) => [k, v as Debt] as const)),
    scores: tallyOf(o.scores),
    moduli: HashMap.fromIterable(Object.entries(o.moduli).map(([k, v]) => [k, v as Modulus] as const)),
    pendingModuli: HashMap.fromIterable(Object.entries(o.pendingModuli).map(([k, v]) => [k, v as Modulus] as const)),
    puzzles: HashMap.fromIterable(Object.entries(o.puzzles).map(([k, v]) => [k, v as Puzzle] as const)),
    processing: HashMap.fromIterable(o.processing.map((id, i) => [i, id] as const)),
    processedCount: o.processing.length,
    retiring: HashMap.fromIterable(
      Object.entries(o.retiring).map(([b, keys]) => [Number(b), HashMap.fromIterable(keys.map((k) => [k, true] as const))] as const)
    ),
    evicted: []
  }
}

/**
 * What retention dropped, as it is kept on disk: each entry's view under its id, and its id
 * under `seat:<batch>:<position>` (batch receipts); each outcome's view under its id.
 */
const drain = <S extends MempoolState>(state: S): { readonly state: S; readonly archived: ReadonlyArray<Archived> } =>
  drainEvicted(state, (x): ReadonlyArray<Archived> =>
    x.kind === "entry"
      ? [
        { key: x.entry.id, value: orderView(state, x.entry) as unknown as Json },
        { key: seatKey(x.entry.batch, x.entry.position), value: x.entry.id }
      ]
      : [{ key: x.id, value: { kind: "message", id: x.id, ...x.outcome } }])

/** The projection's name: handlers and services look its state up by it. */
export const MEMPOOL = "mempool"

/** The mempool projection for a deployment: decisions count from its authority (the instance, or the cluster's leader). */
export const makeMempool = (
  context: AuthorityConfig,
  rules: Partial<MempoolRules> = {}
): Projection<WithAuthority<MempoolState>> => {
  const r: MempoolRules = { ...defaultRules, ...rules }
  return authorized(context, {
    name: MEMPOOL,
    // 3: modulus proofs are no longer checked in the fold; RswModulusVerified decides.
    // 4: an OrdersMatched is folded all or nothing; a refused one records its proposal's refusal.
    // 5: the instance's MatchRefused records its proposal's refusal (served by the status view).
    // 6: decisions count from the authority at their place in the log (cluster leader terms).
    // 7: an order spending zero (amountIn "0") or with limitPrice "0" does not decode (ingest refuses it).
    // 8: retention: terminal entries and outcomes leave memory (and the snapshot) a retention window after their batch's seal; fully forgiven debts are dropped.
    // 9: senders' score marks (refused reveals, commitments left unrevealed, failed modulus proofs).
    version: 9,
    handles: mempoolTypes,
    initialState: initialMempool,
    evolve: (state, record, authority) => {
      const event = mempoolEventOf(record)
      return event === undefined ? state : evolve(state, event, decide(state, r, event, authority))
    },
    encode: encodeWith(r.retentionMs),
    decode: decodeWith(r.retentionMs),
    drain
  })
}
