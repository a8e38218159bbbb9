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
import type { EventRecord } from "../../src/adapters/kafka/KafkaRecordCodec.ts"
import { type MergePosition, type Offered, SequenceMerger } from "../../src/adapters/kafka/SequenceMerger.ts"
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
  readonly events: ReadonlyArray<ReadonlyArray<Result.Result<EventRecord, string>>>
  readonly sequence: ReadonlyArray<Result.Result<SequenceBatch, string>>
}

/**
 * Histories with what goes wrong in practice: orphans (events produced, sequence record
 * never written), late sequence records (written after other batches, some past their
 * events' window), retried sequence records (the same batch twice), two instances racing on
 * one id, undecodable records, pointers to the wrong id.
 */
const topicsArb = (partitions: number): fc.Arbitrary<Topics> =>
  fc.tuple(
    fc.integer({ min: 1, max: 6 }),
    fc.array(
      fc.record({
        size: fc.integer({ min: 1, max: 4 }),
        fate: fc.constantFrom("ok", "ok", "ok", "orphan", "late", "retried", "raced", "badSequence", "badEvent", "wrongId"),
        delay: fc.integer({ min: 1, max: 8 }),
        parts: fc.array(fc.integer({ min: 0, max: partitions - 1 }), { minLength: 4, maxLength: 4 })
      }),
      { maxLength: 25 }
    )
  ).map(([window, plan]) => {
    const events: Array<Array<Result.Result<EventRecord, string>>> = Array.from({ length: partitions }, () => [])
    const sequence: Array<Result.Result<SequenceBatch, string>> = []
    // Late sequence records: written once `due` more batches have been planned.
    let late: Array<{ due: number; seq: SequenceBatch }> = []
    let n = 1
    plan.forEach((step, b) => {
      for (const l of late.filter((l) => l.due === b)) sequence.push(Result.succeed(l.seq))
      late = late.filter((l) => l.due !== b)
      // As the adapter does: the window counts from the sequence topic's end at produce time.
      const until = sequence.length + window
      const pointers: Array<readonly [number, number, MessageId]> = []
      for (let i = 0; i < step.size; i++) {
        // A raced batch re-sends the previous record's id (another instance accepted it too).
        const record = recordOf(step.fate === "raced" && i === 0 && n > 1 ? n - 1 : n++)
        const p = step.parts[i] as number
        const list = events[p] as Array<Result.Result<EventRecord, string>>
        list.push(step.fate === "badEvent" && i === 0 ? Result.fail("bad headers") : Result.succeed({ record, until }))
        pointers.push([p, list.length - 1, step.fate === "wrongId" && i === 0 ? idOf(999_999) : record.id])
      }
      const seq: SequenceBatch = { v: 1, batch: `b${b}`, events: pointers }
      if (step.fate === "orphan") return
      if (step.fate === "late") {
        late.push({ due: b + step.delay, seq })
        return
      }
      sequence.push(step.fate === "badSequence" ? Result.fail("bad json") : Result.succeed(seq))
      if (step.fate === "retried") sequence.push(Result.succeed(seq))
    })
    for (const l of late) sequence.push(Result.succeed(l.seq))
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

/**
 * Feed the merger per `delivery`, then everything left, applying decisions as it goes. With
 * `restartAt`, the process "crashes" after that many delivery steps and a new merger resumes
 * from the position saved with the last decision (the records applied with it are in the
 * index; what was consumed since is lost), reading each stream again from that position and
 * offering events consumed before it with the ids the index holds as `known`, as the adapter does.
 */
const run = (
  topics: Topics,
  delivery: ReadonlyArray<{ stream: number; count: number; rewind: number }>,
  restartAt?: number
): Outcome & { readonly position: MergePosition | undefined } => {
  const partitions = topics.events.length
  let merger = new SequenceMerger(partitions)
  let applied: Array<string> = []
  let appliedIds = new Set<string>()
  let skipped: Array<number> = []
  // What the index file holds: the last saved position and the records and skips with it.
  let saved: { position: MergePosition; applied: number; skipped: number } | undefined
  // Where the simulated consumer fetches next, per stream (the sequence topic is the last).
  const cursor = Array.from({ length: partitions + 1 }, () => 0)
  const streamOf = (s: number): ReadonlyArray<Result.Result<unknown, string>> =>
    s === partitions ? topics.sequence : (topics.events[s] as ReadonlyArray<Result.Result<unknown, string>>)
  const drain = () => {
    let decided = false
    while (true) {
      const known = new Set(merger.headIds().filter((id) => appliedIds.has(id)))
      const d = merger.decide(known)
      if (d._tag === "Idle" || d._tag === "Wait") break
      if (d._tag === "Apply") {
        for (const r of d.records) {
          applied.push(r.id)
          appliedIds.add(r.id)
        }
      } else skipped.push(d.seqOffset)
      merger.commit(d)
      decided = true
    }
    if (decided) saved = { position: merger.position(), applied: applied.length, skipped: skipped.length }
  }
  const deliver = (s: number, count: number) => {
    const from = cursor[s] as number
    const stream = streamOf(s)
    const chunk = stream.slice(from, from + count).map((value, i) => ({ offset: from + i, value }))
    if (chunk.length === 0) return
    let seek: number | undefined
    if (s === partitions) seek = merger.offerSequence(chunk as Array<Offered<SequenceBatch>>)
    else {
      const events = chunk as Array<Offered<EventRecord>>
      const again = events.filter((e) => merger.consumedBefore(s, e.offset) && Result.isSuccess(e.value))
      const known = new Set(again.map((e) => (e.value as Result.Success<EventRecord, string>).success.record.id).filter((id) => appliedIds.has(id)))
      seek = merger.offerEvents(s, events, known)
    }
    expect(merger.mismatch).toBeUndefined()
    cursor[s] = seek ?? from + chunk.length
    drain()
  }
  const restart = () => {
    if (saved === undefined) {
      merger = new SequenceMerger(partitions)
      applied = []
      skipped = []
    } else {
      merger = new SequenceMerger(partitions, saved.position)
      applied = applied.slice(0, saved.applied)
      skipped = skipped.slice(0, saved.skipped)
    }
    appliedIds = new Set(applied)
    for (let p = 0; p < partitions; p++) cursor[p] = merger.nextOffset(p)
    cursor[partitions] = merger.nextOffset(-1)
  }
  delivery.forEach((step, i) => {
    if (i === restartAt) restart()
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
  })
  for (let guard = 0; guard < 10_000; guard++) {
    const s = cursor.findIndex((c, i) => c < streamOf(i).length)
    if (s === -1) break
    deliver(s, 5)
  }
  return { applied, skipped, position: saved?.position }
}

const ev = (offset: number, record: NewRecord, until = 1_000_000): Offered<EventRecord> => ({ offset, value: Result.succeed({ record, until }) })
const seqAt = (offset: number, batch: string, events: SequenceBatch["events"]): Offered<SequenceBatch> => ({
  offset,
  value: Result.succeed({ v: 1, batch, events })
})

describe("SequenceMerger", () => {
  it("every delivery order, chunking, redelivery and resumption gives the same applied order and skips", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }).chain((p) => fc.tuple(topicsArb(p), deliveryArb, deliveryArb)), ([topics, d1, d2]) => {
        // The reference: every event first, then the sequence, in one go each.
        const decisions = (o: Outcome) => ({ applied: o.applied, skipped: o.skipped })
        const reference = decisions(run(topics, []))
        expect(decisions(run(topics, d1))).toEqual(reference)
        expect(decisions(run(topics, d2))).toEqual(reference)
        // No id is applied twice, and every decodable, correctly pointed batch was applied.
        expect(new Set(reference.applied).size).toBe(reference.applied.length)
      }),
      { numRuns: 300 }
    )
  })

  it("a merger resumed from the position saved with its last decision decides exactly as one that never stopped", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }).chain((p) => fc.tuple(topicsArb(p), deliveryArb, fc.nat())),
        ([topics, delivery, cut]) => {
          const reference = run(topics, [])
          const restartAt = delivery.length === 0 ? 0 : cut % delivery.length
          const resumed = run(topics, [...delivery, { stream: 0, count: 1, rewind: 9 }], restartAt)
          expect({ applied: resumed.applied, skipped: resumed.skipped }).toEqual({ applied: reference.applied, skipped: reference.skipped })
        }
      ),
      { numRuns: 300 }
    )
  })

  it("drops an orphan once its window has passed, skips a sequence record that comes after it, and resumes past it", () => {
    const m = new SequenceMerger(1)
    const [orphan, a, late] = [recordOf(1), recordOf(2), recordOf(3)]
    // The orphan may be sequenced by sequence offset 1 at the latest; `late` by 0.
    m.offerEvents(0, [ev(0, orphan, 1), ev(1, a, 10), ev(2, late, 0)])
    expect(m.bufferedCount).toBe(3)
    expect(m.position().resume).toEqual([0])
    m.offerSequence([seqAt(0, "s0", [[0, 1, a.id]])])
    m.commit(m.decide(new Set()))
    // Decided through 1: `late` (until 0) can no longer be applied and is dropped.
    expect(m.bufferedCount).toBe(1)
    m.offerSequence([seqAt(1, "s1", [[0, 2, late.id]])])
    const skip = m.decide(new Set())
    expect(skip).toMatchObject({ _tag: "Skip", reason: "event 0:2 is not available" })
    m.commit(skip)
    // Decided through 2: past the orphan's window too.
    expect(m.bufferedCount).toBe(0)
    expect(m.position()).toEqual({ sequence: 2, last: { offset: 1, key: "batch s1 of 1" }, resume: [3], seen: [3] })
    m.offerSequence([seqAt(2, "s2", [[0, 0, orphan.id]])])
    expect(m.decide(new Set())).toMatchObject({ _tag: "Skip", reason: "event 0:0 is not available" })
    // Offered again (a resumed reader), an expired event is not kept either.
    const again = new SequenceMerger(1, { sequence: 2, last: { offset: 1, key: "batch s1 of 1" }, resume: [0], seen: [3] })
    again.offerSequence([seqAt(1, "s1", [[0, 2, late.id]])])
    again.offerEvents(0, [ev(0, orphan, 1)])
    expect(again.bufferedCount).toBe(0)
    expect(again.dropped).toBe(1)
  })

  it("skips a sequence record past its event's window even when the event is still buffered", () => {
    // Resumed before sequence record 1 is checked again: an event with until 1 is kept...
    const m = new SequenceMerger(1, { sequence: 2, last: { offset: 1, key: "batch s1 of 1" }, resume: [0], seen: [0] })
    m.offerEvents(0, [ev(0, recordOf(5), 1)])
    expect(m.bufferedCount).toBe(1)
    // ...and once checked, record 2 comes past its window.
    m.offerSequence([seqAt(1, "s1", [[0, 9, idOf(9)]]), seqAt(2, "s2", [[0, 0, recordOf(5).id]])])
    expect(m.decide(new Set())).toMatchObject({ _tag: "Skip", seqOffset: 2, reason: "event 0:0 had to be sequenced by sequence offset 1" })
  })

  it("a resumed merger checks the sequence record before its position and reports a different topic", () => {
    const m = new SequenceMerger(1, { sequence: 3, last: { offset: 2, key: "batch b2 of 1" }, resume: [5], seen: [5] })
    expect(m.nextOffset(-1)).toBe(2)
    expect(m.decidedThrough).toBe(2)
    m.offerSequence([seqAt(2, "other", [[0, 0, idOf(1)]])])
    expect(m.mismatch).toBe("the sequence record at 2 is batch other of 1, where the local index has batch b2 of 1")
    const same = new SequenceMerger(1, { sequence: 3, last: { offset: 2, key: "batch b2 of 1" }, resume: [5], seen: [5] })
    same.offerSequence([seqAt(2, "b2", [[0, 0, idOf(1)]]), seqAt(3, "b3", [[0, 5, idOf(2)]])])
    expect(same.mismatch).toBeUndefined()
    expect(same.decidedThrough).toBe(3)
    expect(same.headIds()).toEqual([idOf(2)])
  })

  it("applies in sequence order, skips a batch whole on a known id, waits for events not yet consumed", () => {
    const m = new SequenceMerger(2)
    const [a, b, c] = [recordOf(1), recordOf(2), recordOf(3)]
    expect(m.offerSequence([
      { offset: 0, value: Result.succeed({ v: 1, batch: "x", events: [[1, 0, b.id], [0, 0, a.id]] }) },
      { offset: 1, value: Result.succeed({ v: 1, batch: "y", events: [[0, 1, c.id], [1, 0, b.id]] }) }
    ])).toBeUndefined()
    expect(m.decide(new Set())).toEqual({ _tag: "Wait", partition: 1, offset: 0 })
    m.offerEvents(0, [ev(0, a)])
    expect(m.decide(new Set())).toEqual({ _tag: "Wait", partition: 1, offset: 0 })
    m.offerEvents(1, [ev(0, b)])
    const first = m.decide(new Set())
    expect(first).toEqual({ _tag: "Apply", seqOffset: 0, batch: "x", records: [b, a] })
    m.commit(first)
    // Batch y names b, which is now in the log: skipped whole, c with it.
    m.offerEvents(0, [ev(1, c)])
    const second = m.decide(new Set([b.id]))
    expect(second._tag).toBe("Skip")
    m.commit(second)
    expect(m.decidedThrough).toBe(2)
    expect(m.bufferedCount).toBe(1) // c: an orphan now
  })

  it("asks to seek back when a partition resumes past where it stands, and ignores redelivery", () => {
    const m = new SequenceMerger(1)
    const r = (n: number): Offered<EventRecord> => ev(n, recordOf(n + 10))
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
    const headers = eventHeaders(r, 41)
    expect(decodeEvent({ value: Buffer.from(r.body), headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Buffer.from(v)])) }))
      .toEqual(Result.succeed({ record: r, until: 41 }))
    for (const bad of [{ lamport: "-1" }, { lamport: "1.5" }, { id: "xyz" }, { deps: `${idOf(1)},` }, { v: "2" }, { nonce: "01" }, { until: "-3" }, { until: undefined }]) {
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
