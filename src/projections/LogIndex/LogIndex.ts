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

// ---------------------------------------------------------------------------------------
// The senders in key order, for paging: a side index beside the state, not part of it (the
// state, its encoding and its digest are unchanged). A sorted list cut in chunks, copied on
// write: adding k new senders copies the chunk list and the chunks they land in, so a page of
// records costs O(k · (log n + CHUNK)) and a page of senders O(log n + limit) instead of a pass
// over every sender. It is kept per `bySender` map in a WeakMap: built (one sort) by the first
// page asked of a state, then carried along by each fold step from a state that has one.
// ---------------------------------------------------------------------------------------

const CHUNK = 256

/** Sender keys in order, in chunks of 1 to 2·CHUNK keys (no chunk empty). */
interface SenderOrder {
  readonly chunks: ReadonlyArray<ReadonlyArray<string>>
}

const orders = new WeakMap<object, SenderOrder>()

const orderFromKeys = (keys: Iterable<string>): SenderOrder => {
  const sorted = [...keys].sort()
  const chunks: Array<ReadonlyArray<string>> = []
  for (let i = 0; i < sorted.length; i += CHUNK) chunks.push(sorted.slice(i, i + CHUNK))
  return { chunks }
}

/** The first index in `xs` (sorted) whose key is greater than `key` (or ≥ when `orEqual`). */
const firstAbove = (length: number, at: (i: number) => string, key: string, orEqual: boolean): number => {
  let lo = 0
  let hi = length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const k = at(mid)
    if (orEqual ? k < key : k <= key) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** `order` with `added` (keys not in it) inserted; `order` itself is unchanged. */
const orderWith = (order: SenderOrder, added: ReadonlyArray<string>): SenderOrder => {
  if (added.length === 0) return order
  const chunks = order.chunks.slice() as Array<ReadonlyArray<string>>
  const owned = new Set<ReadonlyArray<string>>()
  for (const key of added) {
    if (chunks.length === 0) {
      const first = [key]
      owned.add(first)
      chunks.push(first)
      continue
    }
    // The chunk whose last key is the first ≥ key, else the last chunk.
    const i = Math.min(firstAbove(chunks.length, (j) => (chunks[j] as ReadonlyArray<string>).at(-1) as string, key, true), chunks.length - 1)
    let chunk = chunks[i] as Array<string>
    if (!owned.has(chunk)) {
      chunk = chunk.slice()
      owned.add(chunk)
      chunks[i] = chunk
    }
    chunk.splice(firstAbove(chunk.length, (j) => chunk[j] as string, key, true), 0, key)
    if (chunk.length > 2 * CHUNK) {
      const low = chunk.slice(0, CHUNK)
      const high = chunk.slice(CHUNK)
      owned.add(low)
      owned.add(high)
      chunks.splice(i, 1, low, high)
    }
  }
  return { chunks }
}

/** Carry the side index from `before` to `after` (the next state's map), when `before` has one. */
const carryOrder = (before: object, after: object, added: ReadonlyArray<string>): void => {
  const order = orders.get(before)
  if (order !== undefined) orders.set(after, orderWith(order, added))
}

/** The side index of a state's senders: built now if this state has none yet. */
const orderOf = (bySender: LogIndexState["bySender"]): SenderOrder => {
  let order = orders.get(bySender)
  if (order === undefined) {
    order = orderFromKeys(HashMap.keys(bySender))
    orders.set(bySender, order)
  }
  return order
}

const evolve = (state: LogIndexState, record: LogRecord): LogIndexState => {
  const typeCount = HashMap.get(state.byType, record.type)
  const sender = HashMap.get(state.bySender, record.sender)
  const bySender = HashMap.set(state.bySender, record.sender, {
    count: Option.isSome(sender) ? sender.value.count + 1 : 1,
    latestLamport: Option.isSome(sender) ? Math.max(sender.value.latestLamport, record.lamport) : record.lamport
  })
  carryOrder(state.bySender, bySender, Option.isSome(sender) ? [] : [record.sender])
  return {
    total: state.total + 1,
    byType: HashMap.set(state.byType, record.type, Option.isSome(typeCount) ? typeCount.value + 1 : 1),
    bySender
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
  const added: Array<string> = []
  const bySender = HashMap.mutate(state.bySender, (m) => {
    for (const [k, e] of senders) {
      const o = HashMap.get(m, k)
      if (Option.isNone(o)) added.push(k)
      HashMap.set(
        m,
        k,
        Option.isSome(o)
          ? { count: o.value.count + e.count, latestLamport: Math.max(o.value.latestLamport, e.latestLamport) }
          : { count: e.count, latestLamport: e.latestLamport }
      )
    }
  })
  carryOrder(state.bySender, bySender, added)
  return {
    total: state.total + records.length,
    byType: HashMap.mutate(state.byType, (m) => {
      for (const [k, n] of types) {
        const o = HashMap.get(m, k)
        HashMap.set(m, k, (Option.isSome(o) ? o.value : 0) + n)
      }
    }),
    bySender
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
 * and the page's last key when more follow. Read from the side index (SenderOrder above):
 * O(log n + limit), after one sort of the senders the first time a state is paged.
 */
export const senderPage = (
  state: LogIndexState,
  after: string | undefined,
  limit: number
): { readonly bySender: Record<string, { readonly count: number; readonly latestLamport: number }>; readonly next: string | null } => {
  const { chunks } = orderOf(state.bySender)
  const kept: Array<string> = []
  let i = after === undefined ? 0 : firstAbove(chunks.length, (j) => (chunks[j] as ReadonlyArray<string>).at(-1) as string, after, false)
  let j = after === undefined || i >= chunks.length ? 0 : firstAbove((chunks[i] as ReadonlyArray<string>).length, (k) => (chunks[i] as ReadonlyArray<string>)[k] as string, after, false)
  while (i < chunks.length && kept.length <= limit) {
    const chunk = chunks[i] as ReadonlyArray<string>
    while (j < chunk.length && kept.length <= limit) kept.push(chunk[j++] as string)
    i++
    j = 0
  }
  const page = kept.slice(0, limit)
  const bySender: Record<string, { readonly count: number; readonly latestLamport: number }> = {}
  for (const key of page) {
    const v = Option.getOrUndefined(HashMap.get(state.bySender, key))
    if (v !== undefined) bySender[key] = { count: v.count, latestLamport: v.latestLamport }
  }
  return { bySender, next: kept.length > limit ? (page.at(-1) ?? null) : null }
}
