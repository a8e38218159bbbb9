/**
 * What the mempool answers with: an order's status, the pending-orders query, batches and
 * receipt bodies, as pure functions of the projection's state. The one rule every view
 * keeps: an order's content appears only once its batch is sealed (`visibleOrder`), so no
 * answer carries a committed or time-locked order's plaintext before its position is final.
 */
import { HashMap, Option } from "effect"
import type { MessageId } from "../Primitives.ts"
import {
  type Entry,
  type MempoolState,
  type Status,
  type Step,
  batchOf,
  entryOf,
  isSealed,
  statusOf,
  visibleOrder
} from "./MempoolFold.ts"
import type { Batch, MessageView, OrderView } from "./MempoolShapes.ts"
import type { ReceiptBody } from "./Receipt.ts"

export type { MessageView, OrderView } from "./MempoolShapes.ts"

/** An entry's history with the seal's steps merged in (sequenced; plain orders revealed at the seal). */
const historyOf = (state: MempoolState, e: Entry): ReadonlyArray<Step> => {
  const batch = isSealed(state, e) ? batchOf(state, e.batch) : undefined
  if (batch === undefined) return e.history
  const sealSteps: Array<Step> = [{ status: "sequenced", offset: batch.sealOffset }]
  if (e.mode === "plain") sealSteps.push({ status: "revealed", offset: batch.sealOffset })
  const [first, ...rest] = e.history
  // Steps at the seal's own offset (a refusal at sealing) come after "sequenced".
  return [...(first === undefined ? [] : [first]), ...sealSteps, ...rest]
}

/** An entry's view. */
export const orderView = (state: MempoolState, e: Entry): OrderView => {
  const batch = isSealed(state, e) ? batchOf(state, e.batch) : undefined
  return {
    kind: "order",
    id: e.id,
    mode: e.mode,
    status: statusOf(state, e),
    sender: e.sender,
    batch: e.batch,
    position: e.position,
    offset: e.offset,
    lamport: e.lamport,
    expiry: e.expiry,
    round: e.round,
    sealId: batch?.sealId ?? null,
    sealedAt: batch?.sealedAt ?? null,
    order: visibleOrder(state, e),
    history: historyOf(state, e)
  }
}

/** The view of any mempool message by id, or undefined if the mempool has not seen it. */
export const statusView = (state: MempoolState, id: string): OrderView | MessageView | undefined => {
  const e = entryOf(state, id)
  if (e !== undefined) return orderView(state, e)
  const o = Option.getOrUndefined(HashMap.get(state.outcomes, id))
  return o === undefined ? undefined : { kind: "message", id, ...o }
}

/** Is this status final (the order will not change again)? */
export const isFinalStatus = (s: Status): boolean => s === "filled" || s === "expired" || s === "cancelled" || s === "refused"

/** Options of the pending-orders query. */
export interface PendingQuery {
  readonly chain?: string
  readonly market?: string
  /** Only orders whose batch was sealed at least this long ago (ms). */
  readonly minAgeMs?: number
  readonly limit: number
  /** Only orders whose content is disclosed (default false: unrevealed ones are listed without content). */
  readonly revealedOnly?: boolean
}

/**
 * Orders still pending (committed, sequenced or revealed; not matched, filled, expired,
 * cancelled or refused), in sequence order (batch, position). Content-less entries never
 * match a chain or market filter: their chain and market are unknown until disclosed.
 */
export const pendingOrders = (state: MempoolState, query: PendingQuery, now: number): ReadonlyArray<OrderView> => {
  const rows: Array<Entry> = []
  const take = (id: string | undefined): void => {
    const e = id === undefined || !HashMap.has(state.live, id) ? undefined : entryOf(state, id)
    if (e === undefined) return
    const status = statusOf(state, e)
    if (status !== "committed" && status !== "sequenced" && status !== "revealed") return
    const order = visibleOrder(state, e)
    if ((query.revealedOnly === true || query.chain !== undefined || query.market !== undefined) && order === null) return
    if (query.chain !== undefined && order?.chain !== query.chain) return
    if (query.market !== undefined && order?.market !== query.market) return
    if (query.minAgeMs !== undefined && query.minAgeMs > 0) {
      const batch = isSealed(state, e) ? batchOf(state, e.batch) : undefined
      if (batch === undefined || now - batch.sealedAt < query.minAgeMs) return
    }
    rows.push(e)
  }
  // Batches in order (the sealed ones still holding entries in memory, then the open one), each
  // in position order, until `limit` are found: the work follows the answer, not the whole pool.
  const sealed = [...HashMap.keys(state.seats)].sort((a, b) => a - b)
  for (const b of sealed) {
    const seats = Option.getOrUndefined(HashMap.get(state.seats, b))
    const count = batchOf(state, b)?.count ?? 0
    for (let p = 0; seats !== undefined && p < count && rows.length < query.limit; p++) take(Option.getOrUndefined(HashMap.get(seats, p)))
    if (rows.length >= query.limit) break
  }
  for (let p = 0; p < HashMap.size(state.open) && rows.length < query.limit; p++) take(Option.getOrUndefined(HashMap.get(state.open, p)))
  return rows.map((e) => orderView(state, e))
}

/** A sealed batch as clients see it: the batch itself. */
export type BatchView = Batch

/** A sealed batch, if any. */
export const batchView = (state: MempoolState, batch: number): BatchView | undefined => batchOf(state, batch)

/** Where retention keeps the id of the entry at a batch's position (src/projections/Mempool). */
export const seatKey = (batch: number, position: number): string => `seat:${batch}:${position}`

/**
 * The entries of a batch (sealed or open) in position order, from position `from`, at most
 * `limit`; a position whose entry retention dropped from memory is given as its number (its
 * entry is on disk under `seatKey`).
 */
export const batchEntries = (state: MempoolState, batch: number, from: number, limit: number): ReadonlyArray<Entry | number> => {
  const count = batch === state.batch ? HashMap.size(state.open) : batchOf(state, batch)?.count ?? 0
  const seats = batch === state.batch ? state.open : Option.getOrUndefined(HashMap.get(state.seats, batch))
  const out: Array<Entry | number> = []
  for (let p = from; p < Math.min(count, from + limit); p++) {
    const id = seats === undefined ? undefined : Option.getOrUndefined(HashMap.get(seats, p))
    const e = id === undefined ? undefined : entryOf(state, id)
    out.push(e ?? p)
  }
  return out
}

/** What an entry's receipt states (signed by the caller with the instance key). */
export const receiptBodyOf = (e: Pick<Entry, "id" | "batch" | "position" | "lamport" | "offset">): Omit<ReceiptBody, "v" | "instance" | "scheme"> => ({
  orderId: e.id as MessageId,
  batch: e.batch,
  position: e.position,
  lamport: e.lamport,
  offset: e.offset
})

/** Matched order ids in processing order, from index `from`, at most `limit`. */
export const processingOrder = (state: MempoolState, from: number, limit: number): ReadonlyArray<string> => {
  const out: Array<string> = []
  for (let i = from; i < Math.min(state.processedCount, from + limit); i++) {
    const id = Option.getOrUndefined(HashMap.get(state.processing, i))
    if (id !== undefined) out.push(id)
  }
  return out
}
