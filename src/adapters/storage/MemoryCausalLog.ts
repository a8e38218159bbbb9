/** An in-memory CausalLog for unit tests: the reference the contract suite holds SQLite and Kafka to. */
import { Effect, Layer, Option } from "effect"
import { compareCausal } from "../../domain/Envelope.ts"
import type { MessageId } from "../../domain/Primitives.ts"
import {
  type Appended,
  CausalLog,
  CausalLogError,
  type CausalLogService,
  type LogRecord,
  type RecordRef
} from "../../ports/CausalLog.ts"
import { makeLogEnd, tail } from "./LogTail.ts"

/** Build an empty in-memory log. */
export const make: Effect.Effect<CausalLogService> = Effect.gen(function*() {
  const records: Array<LogRecord> = []
  const byId = new Map<string, LogRecord>()
  const dependentsOf = new Map<string, Array<number>>()
  const nonces = new Map<string, number>()
  const senders = new Map<string, { count: number; latestLamport: number }>()
  let maxLamport = 0
  const end = yield* makeLogEnd(0)

  const read = (from: number, to: number) => Effect.sync(() => records.slice(Math.max(0, from), Math.max(0, to)))

  const service: CausalLogService = {
    append: (batch) =>
      Effect.suspend(() => {
        const seen = new Set<string>()
        for (const r of batch) {
          if (byId.has(r.id) || seen.has(r.id)) {
            return Effect.fail(new CausalLogError({ operation: "append", cause: new Error(`duplicate id ${r.id}`) }))
          }
          seen.add(r.id)
        }
        const out: Array<Appended> = []
        for (const r of batch) {
          const rec: LogRecord = { ...r, deps: [...r.deps], offset: records.length }
          records.push(rec)
          byId.set(rec.id, rec)
          for (const d of rec.deps) {
            const list = dependentsOf.get(d)
            if (list === undefined) dependentsOf.set(d, [rec.offset])
            else list.push(rec.offset)
          }
          nonces.set(rec.sender, Math.max(nonces.get(rec.sender) ?? -1, rec.nonce))
          const stats = senders.get(rec.sender)
          if (stats === undefined) senders.set(rec.sender, { count: 1, latestLamport: rec.lamport })
          else {
            stats.count++
            stats.latestLamport = Math.max(stats.latestLamport, rec.lamport)
          }
          if (rec.lamport > maxLamport) maxLamport = rec.lamport
          out.push({ id: rec.id, offset: rec.offset, lamport: rec.lamport })
        }
        return end.set(records.length).pipe(Effect.as(out))
      }),
    read,
    scan: (from, to, options, visit) =>
      Effect.sync(() => {
        const stop = Math.min(to, records.length)
        for (let o = Math.max(0, from); o < stop; o++) {
          const r = records[o] as LogRecord
          const links = options.withLinks !== false
          visit(options.withBody && links ? r : {
            ...r,
            body: options.withBody ? r.body : "",
            id: links ? r.id : ("" as MessageId),
            deps: links ? r.deps : []
          })
        }
        return Math.max(0, stop - Math.max(0, from))
      }),
    readCausal: (fromLamport, limit) =>
      Effect.sync(() =>
        records.filter((r) => r.lamport >= fromLamport).sort(compareCausal).slice(0, Math.max(0, limit))
      ),
    get: (id) => Effect.sync(() => Option.fromUndefinedOr(byId.get(id))),
    lookup: (ids) =>
      Effect.sync(() => {
        const out = new Map<string, RecordRef>()
        for (const id of ids) {
          const r = byId.get(id)
          if (r !== undefined) out.set(id, { offset: r.offset, lamport: r.lamport })
        }
        return out
      }),
    dependents: (id, page) =>
      Effect.sync(() =>
        (dependentsOf.get(id) ?? [])
          .filter((o) => o >= (page?.from ?? 0))
          .slice(0, page?.limit ?? Number.POSITIVE_INFINITY)
          .map((o) => records[o] as LogRecord)
      ),
    senders: (after, limit) =>
      Effect.sync(() => {
        const keys = [...senders.keys()].filter((k) => after === undefined || k > after).sort().slice(0, Math.max(0, limit))
        return { page: keys.map((sender) => ({ sender, ...(senders.get(sender) as { count: number; latestLamport: number }) })), total: senders.size }
      }),
    highestNonce: (sender) => Effect.sync(() => Option.fromUndefinedOr(nonces.get(sender))),
    maxLamport: Effect.sync(() => maxLamport),
    endOffset: Effect.sync(() => records.length),
    subscribe: (fromOffset) => tail(end, read, fromOffset)
  }
  return service
})

/** A fresh in-memory log per layer build. */
export const layerMemory = Layer.effect(CausalLog, make)
