/**
 * The log index: counts by type and by sender, and each sender's latest Lamport time. It
 * reads only record headers, so replaying it never touches an envelope.
 */
import { HashMap, Option, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import type { LogRecord } from "../../ports/CausalLog.ts"
import type { Projection } from "../Projection.ts"

/** What the index knows of one sender. */
export interface SenderEntry {
  readonly count: number
  readonly latestLamport: number
}

/** The log index state. */
export interface LogIndexState {
  readonly total: number
  readonly byType: HashMap.HashMap<string, number>
  readonly bySender: HashMap.HashMap<string, SenderEntry>
}

const initialState: LogIndexState = { total: 0, byType: HashMap.empty(), bySender: HashMap.empty() }

const evolve = (state: LogIndexState, record: LogRecord): LogIndexState => {
  const typeCount = HashMap.get(state.byType, record.type)
  const sender = HashMap.get(state.bySender, record.sender)
  return {
    total: state.total + 1,
    byType: HashMap.set(state.byType, record.type, Option.isSome(typeCount) ? typeCount.value + 1 : 1),
    bySender: HashMap.set(state.bySender, record.sender, {
      count: Option.isSome(sender) ? sender.value.count + 1 : 1,
      latestLamport: Option.isSome(sender) ? Math.max(sender.value.latestLamport, record.lamport) : record.lamport
    })
  }
}

// A page is first tallied in local Maps, then merged into copies of the persistent maps:
// one HashMap write per distinct key per page instead of one per record. Equal to folding
// `evolve` over the page (test/projections/LogIndex.test.ts holds it to that).
const evolvePage = (state: LogIndexState, records: ReadonlyArray<LogRecord>): LogIndexState => {
  if (records.length === 0) return state
  const types = new Map<string, number>()
  const senders = new Map<string, { count: number; latestLamport: number }>()
  for (const r of records) {
    types.set(r.type, (types.get(r.type) ?? 0) + 1)
    const e = senders.get(r.sender)
    if (e === undefined) senders.set(r.sender, { count: 1, latestLamport: r.lamport })
    else {
      e.count++
      if (r.lamport > e.latestLamport) e.latestLamport = r.lamport
    }
  }
  return {
    total: state.total + records.length,
    byType: HashMap.mutate(state.byType, (m) => {
      for (const [k, n] of types) {
        const o = HashMap.get(m, k)
        HashMap.set(m, k, (Option.isSome(o) ? o.value : 0) + n)
      }
    }),
    bySender: HashMap.mutate(state.bySender, (m) => {
      for (const [k, e] of senders) {
        const o = HashMap.get(m, k)
        HashMap.set(
          m,
          k,
          Option.isSome(o)
            ? { count: o.value.count + e.count, latestLamport: Math.max(o.value.latestLamport, e.latestLamport) }
            : { count: e.count, latestLamport: e.latestLamport }
        )
      }
    })
  }
}

const encode = (state: LogIndexState): Json => {
  const byType: Record<string, number> = {}
  for (const [k, v] of state.byType) byType[k] = v
  const bySender: Record<string, Json> = {}
  for (const [k, v] of state.bySender) bySender[k] = { count: v.count, latestLamport: v.latestLamport }
  return { total: state.total, byType, bySender }
}

const Encoded = Schema.Struct({
  total: Schema.Number,
  byType: Schema.Record(Schema.String, Schema.Number),
  bySender: Schema.Record(Schema.String, Schema.Struct({ count: Schema.Number, latestLamport: Schema.Number }))
})
const decodeEncoded = Schema.decodeUnknownSync(Encoded)

const decode = (json: Json): LogIndexState => {
  const o = decodeEncoded(json)
  return {
    total: o.total,
    byType: HashMap.fromIterable(Object.entries(o.byType)),
    bySender: HashMap.fromIterable(
      Object.entries(o.bySender).map(([k, v]) => [k, { count: v.count, latestLamport: v.latestLamport }] as const)
    )
  }
}

/** The log index projection. */
export const LogIndex: Projection<LogIndexState> = {
  name: "log-index",
  version: 1,
  needsBody: false,
  needsLinks: false,
  initialState,
  evolve,
  evolvePage,
  encode,
  decode
}

/**
 * One page of senders in key order: those after `after` (all when undefined), at most `limit`,
 * and the page's last key when more follow. One pass over the senders, keeping only the
 * `limit + 1` smallest keys seen: the answer and its sorting stay bounded by `limit`.
 */
export const senderPage = (
  state: LogIndexState,
  after: string | undefined,
  limit: number
): { readonly bySender: Record<string, { readonly count: number; readonly latestLamport: number }>; readonly next: string | null } => {
  const kept: Array<string> = []
  for (const key of HashMap.keys(state.bySender)) {
    if (after !== undefined && key <= after) continue
    if (kept.length > limit && key >= (kept[kept.length - 1] as string)) continue
    let lo = 0
    let hi = kept.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((kept[mid] as string) < key) lo = mid + 1
      else hi = mid
    }
    kept.splice(lo, 0, key)
    if (kept.length > limit + 1) kept.pop()
  }
  const page = kept.slice(0, limit)
  const bySender: Record<string, { readonly count: number; readonly latestLamport: number }> = {}
  for (const key of page) {
    const v = Option.getOrUndefined(HashMap.get(state.bySender, key))
    if (v !== undefined) bySender[key] = { count: v.count, latestLamport: v.latestLamport }
  }
  return { bySender, next: kept.length > limit ? (page.at(-1) ?? null) : null }
}
