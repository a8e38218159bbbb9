/**
 * The merge that gives the Kafka log its total order (ADR 0001), without a broker: whatever
 * order, chunking, redelivery and resumption the consumer hands messages over in, the same
 * batches are applied in the same order and the same ones are skipped. Plus the wire codec.
 */
import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import fc from "fast-check"
import {
  decodeEvent,
  decodeSequence,
  encodeSequence,
  eventHeaders,
  partitionFor,
  type SequenceBatch
} from "../../src/adapters/kafka/KafkaRecordCodec.ts"
import { type Offered, SequenceMerger } from "../../src/adapters/kafka/SequenceMerger.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import type { NewRecord } from "../../src/ports/CausalLog.ts"

const idOf = (n: number): MessageId => n.toString(16).padStart(64, "0") as MessageId
const recordOf = (n: number): NewRecord => ({
  id: idOf(n),
  lamport: n,
  type: "NetworkHealth",
  sender: `s${n % 5}`,
  nonce: n,
  deps: [],
  body: `{"n":${n}}`
})

/** The topics as the writers left them: events per partition, sequence records in order. */
interface Topics {
  readonly events: ReadonlyArray<ReadonlyArray<Result.Result<NewRecord, string>>>
  readonly sequence: ReadonlyArray<Result.Result<SequenceBatch, string>>
}

/**
 * Histories with what goes wrong in practice: orphans (events produced, sequence record
 * never written), retried sequence records (the same batch twice), two instances racing on
 * one id, undecodable records, pointers to the wrong id.
 */
const topicsArb = (partitions: number): fc.Arbitrary<Topics> =>
  fc.array(
    fc.record({
      size: fc.integer({ min: 1, max: 4 }),
      fate: fc.constantFrom("ok", "ok", "ok", "orphan", "retried", "raced", "badSequence", "badEvent", "wrongId"),
      parts: fc.array(fc.integer({ min: 0, max: partitions - 1 }), { minLength: 4, maxLength: 4 })
    }),
    { maxLength: 25 }
  ).map((plan) => {
    const events: Array<Array<Result.Result<NewRecord, string>>> = Array.from({ length: partitions }, () => [])
    const sequence: Array<Result.Result<SequenceBatch, string>> = []
    let n = 1
    plan.forEach((step, b) => {
      const pointers: Array<readonly [number, number, MessageId]> = []
      for (let i = 0; i < step.size; i++) {
        // A raced batch re-sends the previous record's id (another instance accepted it too).
        const record = recordOf(step.fate === "raced" && i === 0 && n > 1 ? n - 1 : n++)
        const p = step.parts[i] as number
        const list = events[p] as Array<Result.Result<NewRecord, string>>
        list.push(step.fate === "badEvent" && i === 0 ? Result.fail("bad headers") : Result.succeed(record))
        pointers.push([p, list.length - 1, step.fate === "wrongId" && i === 0 ? idOf(999_999) : record.id])
      }
      const seq: SequenceBatch = { v: 1, batch: `b${b}`, events: pointers }
      if (step.fate === "orphan") return
      sequence.push(step.fate === "badSequence" ? Result.fail("bad json") : Result.succeed(seq))
      if (step.fate === "retried") sequence.push(Result.succeed(seq))
    })
    return { events, sequence }
  })

/** A consumer's delivery: which stream next, how many, and now and then a rewind. */
const deliveryArb = fc.array(
  fc.record({ stream: fc.nat(), count: fc.integer({ min: 1, max: 5 }), rewind: fc.integer({ min: 0, max: 9 }) }),
  { maxLength: 200 }
)

interface Outcome {
  readonly applied: ReadonlyArray<string>
  readonly skipped: ReadonlyArray<number>
}

/** Feed the merger per `delivery`, then everything left, applying decisions as it goes. */
const run = (topics: Topics, delivery: ReadonlyArray<{ stream: number; count: number; rewind: number }>): Outcome => {
  const partitions = topics.events.length
  const merger = new SequenceMerger(partitions)
  const applied: Array<string> = []
  const appliedIds = new Set<string>()
  const skipped: Array<number> = []
  // Where the simulated consumer fetches next, per stream (the sequence topic is the last).
  const cursor = Array.from({ length: partitions + 1 }, () => 0)
  const streamOf = (s: number): ReadonlyArray<Result.Result<unknown, string>> =>
    s === partitions ? topics.sequence : (topics.events[s] as ReadonlyArray<Result.Result<unknown, string>>)
  const drain = () => {
    while (true) {
      const known = new Set(merger.headIds().filter((id) => appliedIds.has(id)))
      const d = merger.decide(known)
      if (d._tag === "Idle" || d._tag === "Wait") return
      if (d._tag === "Apply") {
        for (const r of d.records) {
          applied.push(r.id)
          appliedIds.add(r.id)
        }
      } else skipped.push(d.seqOffset)
      merger.commit(d)
    }
  }
  const deliver = (s: number, count: number) => {
    const from = cursor[s] as number
    const stream = streamOf(s)
    const chunk = stream.slice(from, from + count).map((value, i) => ({ offset: from + i, value }))
    if (chunk.length === 0) return
    const seek = s === partitions
      ? merger.offerSequence(chunk as Array<Offered<SequenceBatch>>)
      : merger.offerEvents(s, chunk as Array<Offered<NewRecord>>)
    cursor[s] = seek ?? from + chunk.length
    drain()
  }
  for (const step of delivery) {
    const s = step.stream % (partitions + 1)
    // A rebalance resumes a partition somewhere else: earlier (redelivery) or later (where
    // another member committed). A fetch there may come first; then the adapter's seek on
    // joining puts the partition back where the merge stands.
    if (step.rewind === 0) cursor[s] = Math.max(0, (cursor[s] as number) - 3)
    if (step.rewind === 1) {
      cursor[s] = (cursor[s] as number) + 2
      deliver(s, step.count)
      cursor[s] = merger.nextOffset(s === partitions ? -1 : s)
    }
    deliver(s, step.count)
  }
  for (let guard = 0; guard < 10_000; guard++) {
    const s = cursor.findIndex((c, i) => c < streamOf(i).length)
    if (s === -1) break
    deliver(s, 5)
  }
  return { applied, skipped }
}

describe("SequenceMerger", () => {
  it("every delivery order, chunking, redelivery and resumption gives the same applied order and skips", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }).chain((p) => fc.tuple(topicsArb(p), deliveryArb, deliveryArb)), ([topics, d1, d2]) => {
        // The reference: every event first, then the sequence, in one go each.
        const reference = run(topics, [])
        expect(run(topics, d1)).toEqual(reference)
        expect(run(topics, d2)).toEqual(reference)
        // No id is applied twice, and every decodable, correctly pointed batch was applied.
        expect(new Set(reference.applied).size).toBe(reference.applied.length)
      }),
      { numRuns: 300 }
    )
  })

  it("applies in sequence order, skips a batch whole on a known id, waits for events not yet consumed", () => {
    const m = new SequenceMerger(2)
    const [a, b, c] = [recordOf(1), recordOf(2), recordOf(3)]
    expect(m.offerSequence([
      { offset: 0, value: Result.succeed({ v: 1, batch: "x", events: [[1, 0, b.id], [0, 0, a.id]] }) },
      { offset: 1, value: Result.succeed({ v: 1, batch: "y", events: [[0, 1, c.id], [1, 0, b.id]] }) }
    ])).toBeUndefined()
    expect(m.decide(new Set())).toEqual({ _tag: "Wait", partition: 1, offset: 0 })
    m.offerEvents(0, [{ offset: 0, value: Result.succeed(a) }])
    expect(m.decide(new Set())).toEqual({ _tag: "Wait", partition: 1, offset: 0 })
    m.offerEvents(1, [{ offset: 0, value: Result.succeed(b) }])
    const first = m.decide(new Set())
    expect(first).toEqual({ _tag: "Apply", seqOffset: 0, batch: "x", records: [b, a] })
    m.commit(first)
    // Batch y names b, which is now in the log: skipped whole, c with it.
    m.offerEvents(0, [{ offset: 1, value: Result.succeed(c) }])
    const second = m.decide(new Set([b.id]))
    expect(second._tag).toBe("Skip")
    m.commit(second)
    expect(m.decidedThrough).toBe(2)
    expect(m.bufferedCount).toBe(1) // c: an orphan now
  })

  it("asks to seek back when a partition resumes past where it stands, and ignores redelivery", () => {
    const m = new SequenceMerger(1)
    const r = (n: number): Offered<NewRecord> => ({ offset: n, value: Result.succeed(recordOf(n + 10)) })
    expect(m.offerEvents(0, [r(0), r(1)])).toBeUndefined()
    expect(m.offerEvents(0, [r(5), r(6)])).toBe(2)
    expect(m.offerEvents(0, [r(0), r(1), r(2)])).toBeUndefined()
    expect(m.nextOffset(0)).toBe(3)
    expect(m.bufferedCount).toBe(3)
  })
})

describe("KafkaRecordCodec", () => {
  it("partitions by Kafka's murmur2, like the Java client (vectors from Kafka's UtilsTest)", () => {
    const vectors: ReadonlyArray<readonly [string, number]> = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107]
    ]
    for (const [key, murmur] of vectors) {
      for (const n of [1, 3, 12, 1000]) expect(partitionFor(key, n)).toBe((murmur & 0x7fffffff) % n)
    }
  })

  it("round-trips events through headers and sequence records through JSON; refuses anything else", () => {
    const r = { ...recordOf(7), deps: [idOf(1), idOf(2)] }
    const headers = eventHeaders(r)
    expect(decodeEvent({ value: Buffer.from(r.body), headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])) }))
      .toEqual(Result.succeed(r))
    for (const bad of [{ lamport: "-1" }, { lamport: "1.5" }, { id: "xyz" }, { deps: `${idOf(1)},` }, { v: "2" }, { nonce: "01" }]) {
      expect(Result.isFailure(decodeEvent({ value: Buffer.from(r.body), headers: { ...headers, ...bad } }))).toBe(true)
    }
    expect(Result.isFailure(decodeEvent({ value: null, headers }))).toBe(true)
    const seq: SequenceBatch = { v: 1, batch: "b", events: [[0, 3, idOf(1)]] }
    expect(decodeSequence(Buffer.from(encodeSequence(seq)))).toEqual(Result.succeed(seq))
    for (const bad of ["", "{}", "not json", JSON.stringify({ ...seq, events: [] }), JSON.stringify({ ...seq, events: [[-1, 0, idOf(1)]] }), JSON.stringify({ ...seq, v: 2 })]) {
      expect(Result.isFailure(decodeSequence(Buffer.from(bad)))).toBe(true)
    }
  })
})
