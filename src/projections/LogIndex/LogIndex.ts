/**
 * The log index: counts by type. It reads only record headers, so replaying it never touches
 * an envelope. What the log holds of each sender (its records and latest Lamport time) is kept
 * on disk beside the records (`CausalLog.senders`), not here: a flood of fresh keys would
 * otherwise grow this state, and every snapshot of it, by one entry per key.
 */
import { HashMap, Option, Schema } from "effect"
import type { Json } from "../../domain/CanonicalJson.ts"
import type { LogRecord } from "../../ports/CausalLog.ts"
import type { Projection } from "../Projection.ts"

/** The log index state. */
export interface LogIndexState {
  readonly total: number
  readonly byType: HashMap.HashMap<string, number>
}

const initialState: LogIndexState = { total: 0, byType: HashMap.empty() }

const evolve = (state: LogIndexState, record: LogRecord): LogIndexState => {
  const typeCount = HashMap.get(state.byType, record.type)
  return {
    total: state.total + 1,
    byType: HashMap.set(state.byType, record.type, Option.isSome(typeCount) ? typeCount.value + 1 : 1)
  }
}

// A page is first tallied in a local Map, then merged into a copy of the persistent map: one
// HashMap write per distinct type per page instead of one per record. Equal to folding
// `evolve` over the page (test/projections/LogIndex.test.ts holds it to that).
const evolvePage = (state: LogIndexState, records: ReadonlyArray<LogRecord>): LogIndexState => {
  if (records.length === 0) return state
  const types = new Map<string, number>()
  for (const r of records) types.set(r.type, (types.get(r.type) ?? 0) + 1)
  return {
    total: state.total + records.length,
    byType: HashMap.mutate(state.byType, (m) => {
      for (const [k, n] of types) {
        const o = HashMap.get(m, k)
        HashMap.set(m, k, (Option.isSome(o) ? o.value : 0) + n)
      }
    })
  }
}

const encode = (state: LogIndexState): Json => {
  const byType: Record<string, number> = {}
  for (const [k, v] of state.byType) byType[k] = v
  return { total: state.total, byType }
}

const Encoded = Schema.Struct({
  total: Schema.Number,
  byType: Schema.Record(Schema.String, Schema.Number)
})
const decodeEncoded = Schema.decodeUnknownSync(Encoded)

const decode = (json: Json): LogIndexState => {
  const o = decodeEncoded(json, { onExcessProperty: "error" })
  return { total: o.total, byType: HashMap.fromIterable(Object.entries(o.byType)) }
}

/** The log index projection. */
export const LogIndex: Projection<LogIndexState> = {
  name: "log-index",
  // 2: no per-sender table (the log keeps it on disk: CausalLog.senders).
  version: 2,
  needsBody: false,
  needsLinks: false,
  initialState,
  evolve,
  evolvePage,
  encode,
  decode
}
