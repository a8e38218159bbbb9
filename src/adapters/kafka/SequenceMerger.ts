/**
 * The deterministic merge of the Kafka log (docs/adr/0001-kafka-total-order.md): events
 * arrive per partition, ordering decisions (sequence records) arrive in the sequence topic's
 * single partition, and the merger turns them into one total order. Each sequence record is
 * decided, in sequence-topic order, by the records before it alone: applied whole, skipped
 * whole, or waited for (its events have not arrived yet). So every instance, and every
 * replay, applies the same batches in the same order.
 *
 * Its position (`position()`) is what a restart needs to continue without reading the topics
 * from the beginning: saved with the local index in one transaction after every decision, it
 * rebuilds a merger (`new SequenceMerger(partitions, position)`) that makes the same
 * decisions as one that never stopped, given the events below `seen` whose ids are already
 * in the log are offered with those ids as `known`.
 *
 * No I/O here: the adapter feeds consumed messages in and applies the decisions.
 */
import { Result } from "effect"
import type { NewRecord } from "../../ports/CausalLog.ts"
import type { EventRecord, SequenceBatch } from "./KafkaRecordCodec.ts"

/** A consumed message: its offset in its partition and what it decoded to. */
export interface Offered<A> {
  readonly offset: number
  readonly value: Result.Result<A, string>
}

/** What to do with the sequence record at the head. */
export type Decision =
  | { readonly _tag: "Apply"; readonly seqOffset: number; readonly batch: string; readonly records: ReadonlyArray<NewRecord> }
  | { readonly _tag: "Skip"; readonly seqOffset: number; readonly batch: string | undefined; readonly reason: string }
  | { readonly _tag: "Wait"; readonly partition: number; readonly offset: number }
  | { readonly _tag: "Idle" }

/**
 * Where a merge stands, as far as a restart needs: read the sequence topic again from
 * `sequence` (after checking that the record before it is still `last`), and each events
 * partition from `resume` (its oldest event still buffered, else its next offset).
 */
export interface MergePosition {
  /** The next sequence record to decide. */
  readonly sequence: number
  /** The sequence record at `sequence - 1` (what it said), to check the topic is the same one. */
  readonly last: { readonly offset: number; readonly key: string } | undefined
  /** Per events partition: where to read again from. */
  readonly resume: ReadonlyArray<number>
  /** Per events partition: the next offset the merge had not consumed yet. */
  readonly seen: ReadonlyArray<number>
}

const keyOf = (partition: number, offset: number): string => `${partition}:${offset}`

/** What a sequence record said, in short: enough to tell it from another topic's record there. */
export const sequenceKey = (value: Result.Result<SequenceBatch, string>): string =>
  Result.isSuccess(value) ? `batch ${value.success.batch} of ${value.success.events.length}` : "undecodable"

/** The merge state of one instance. */
export class SequenceMerger {
  readonly partitions: number
  /** Next offset expected per events partition. */
  private readonly eventsNext: Array<number>
  /** Below these offsets (per partition), events were consumed before the restart. */
  private readonly seen: ReadonlyArray<number>
  /** Next offset expected from the sequence topic. */
  private sequenceNext = 0
  /** The sequence record to check before deciding any (after a restart). */
  private verify: { readonly offset: number; readonly key: string } | undefined
  private mismatchReason: string | undefined
  /** The last decided sequence record. */
  private last: { readonly offset: number; readonly key: string } | undefined
  /** Events received and not yet applied, by partition:offset. */
  private readonly buffered = new Map<string, EventRecord>()
  private readonly bufferedById = new Map<string, Array<string>>()
  /** Per partition, the offsets buffered in order (some since removed from `buffered`). */
  private readonly order: Array<Array<number>>
  private readonly orderHead: Array<number>
  /** No buffered event expires before this sequence offset (a lower bound). */
  private expiresAt = Number.POSITIVE_INFINITY
  /** Sequence records received and not yet decided, in order. */
  private readonly pending: Array<Offered<SequenceBatch>> = []
  private droppedCount = 0

  constructor(partitions: number, from?: MergePosition) {
    this.partitions = partitions
    this.eventsNext = Array.from({ length: partitions }, (_, p) => from?.resume[p] ?? 0)
    this.seen = Array.from({ length: partitions }, (_, p) => from?.seen[p] ?? 0)
    this.order = Array.from({ length: partitions }, () => [])
    this.orderHead = Array.from({ length: partitions }, () => 0)
    if (from !== undefined) {
      this.last = from.last
      this.verify = from.last
      this.sequenceNext = from.last === undefined ? from.sequence : from.last.offset
    }
  }

  /** Offset of the next sequence record to decide: every one below it is applied or skipped. */
  get decidedThrough(): number {
    return this.pending[0]?.offset ?? this.sequenceNext
  }

  /** Next offset expected of a partition (the sequence topic is partition -1). */
  nextOffset(partition: number): number {
    return partition < 0 ? this.sequenceNext : (this.eventsNext[partition] ?? 0)
  }

  /** Whether an event at this offset was consumed before the restart (offer it with `known`). */
  consumedBefore(partition: number, offset: number): boolean {
    return offset < (this.seen[partition] ?? 0)
  }

  /** Why the sequence topic is not the one the position was taken from, if it is not. */
  get mismatch(): string | undefined {
    return this.mismatchReason
  }

  /** Events not yet applied (awaiting their sequence record, or orphans until they expire). */
  get bufferedCount(): number {
    return this.buffered.size
  }

  /** Events consumed and dropped unbuffered: undecodable, expired, or already in the log. */
  get dropped(): number {
    return this.droppedCount
  }

  /**
   * Take a partition's messages in offset order. Returns the offset to seek to when they do
   * not start at the next expected one (after a rebalance the group may resume elsewhere);
   * messages already taken are ignored. An event that can never be applied is not kept: it
   * does not decode (a sequence record naming it is skipped), its id is in `known` (the log
   * holds it already), or its `until` has passed.
   */
  offerEvents(partition: number, messages: ReadonlyArray<Offered<EventRecord>>, known?: ReadonlySet<string>): number | undefined {
    if (partition < 0 || partition >= this.partitions) return undefined
    const order = this.order[partition] as Array<number>
    for (const m of messages) {
      const next = this.eventsNext[partition] ?? 0
      if (m.offset < next) continue
      if (m.offset > next) return next
      this.eventsNext[partition] = next + 1
      if (Result.isFailure(m.value) || known?.has(m.value.success.record.id) === true || m.value.success.until < this.decidedThrough) {
        this.droppedCount++
        continue
      }
      const event = m.value.success
      const key = keyOf(partition, m.offset)
      this.buffered.set(key, event)
      order.push(m.offset)
      if (event.until < this.expiresAt) this.expiresAt = event.until
      const keys = this.bufferedById.get(event.record.id)
      if (keys === undefined) this.bufferedById.set(event.record.id, [key])
      else keys.push(key)
    }
    return undefined
  }

  /** Take sequence records in offset order; same contract as `offerEvents`. */
  offerSequence(messages: ReadonlyArray<Offered<SequenceBatch>>): number | undefined {
    for (const m of messages) {
      if (m.offset < this.sequenceNext) continue
      if (m.offset > this.sequenceNext) return this.sequenceNext
      if (this.verify !== undefined && m.offset === this.verify.offset) {
        const key = sequenceKey(m.value)
        if (key !== this.verify.key) {
          this.mismatchReason = `the sequence record at ${m.offset} is ${key}, where the local index has ${this.verify.key}`
          return undefined
        }
        this.verify = undefined
        this.sequenceNext++
        continue
      }
      this.pending.push(m)
      this.sequenceNext++
    }
    return undefined
  }

  /** The ids the head sequence record names (to ask the log which it already holds). */
  headIds(): ReadonlyArray<string> {
    const head = this.pending[0]
    if (head === undefined || Result.isFailure(head.value)) return []
    return head.value.success.events.map((e) => e[2])
  }

  /** Decide the head, given which of its ids the log already holds. */
  decide(known: ReadonlySet<string>): Decision {
    const head = this.pending[0]
    if (head === undefined) return { _tag: "Idle" }
    const skip = (batch: string | undefined, reason: string): Decision => ({ _tag: "Skip", seqOffset: head.offset, batch, reason })
    if (Result.isFailure(head.value)) return skip(undefined, head.value.failure)
    const { batch, events } = head.value.success
    const seen = new Set<string>()
    for (const [, , id] of events) {
      if (known.has(id)) return skip(batch, `id ${id} is already in the log`)
      if (seen.has(id)) return skip(batch, `id ${id} is twice in the batch`)
      seen.add(id)
    }
    const records: Array<NewRecord> = []
    for (const [partition, offset, id] of events) {
      if (partition >= this.partitions) return skip(batch, `partition ${partition} does not exist`)
      const event = this.buffered.get(keyOf(partition, offset))
      if (event === undefined) {
        // Below the next expected offset and not buffered: it was applied, or dropped (a copy
        // of an applied id, undecodable, expired) by a rule every instance applies alike.
        if (offset < this.nextOffset(partition)) return skip(batch, `event ${partition}:${offset} is not available`)
        return { _tag: "Wait", partition, offset }
      }
      if (event.record.id !== id) return skip(batch, `event ${partition}:${offset} is ${event.record.id}, not ${id}`)
      if (head.offset > event.until) {
        return skip(batch, `event ${partition}:${offset} had to be sequenced by sequence offset ${event.until}`)
      }
      records.push(event.record)
    }
    return { _tag: "Apply", seqOffset: head.offset, batch, records }
  }

  /** Record that the head was applied or skipped. */
  commit(decision: Decision): void {
    if (decision._tag !== "Apply" && decision._tag !== "Skip") return
    const head = this.pending.shift()
    if (head === undefined || head.offset !== decision.seqOffset) throw new Error("commit of a decision that is not the head's")
    this.last = { offset: head.offset, key: sequenceKey(head.value) }
    if (decision._tag === "Apply" && Result.isSuccess(head.value)) {
      for (const [partition, offset] of head.value.success.events) this.buffered.delete(keyOf(partition, offset))
      // Other copies of the applied ids (a producer's retries, another instance's losing
      // append) can never be applied: drop them.
      for (const r of decision.records) {
        for (const key of this.bufferedById.get(r.id) ?? []) this.buffered.delete(key)
        this.bufferedById.delete(r.id)
      }
    }
    if (this.decidedThrough > this.expiresAt) this.expire()
  }

  /** Drop every buffered event whose `until` has passed: no sequence record can apply it now. */
  private expire(): void {
    const through = this.decidedThrough
    let next = Number.POSITIVE_INFINITY
    for (const [key, event] of this.buffered) {
      if (event.until < through) {
        this.buffered.delete(key)
        const keys = this.bufferedById.get(event.record.id)
        const rest = keys?.filter((k) => k !== key) ?? []
        if (rest.length === 0) this.bufferedById.delete(event.record.id)
        else this.bufferedById.set(event.record.id, rest)
      } else if (event.until < next) next = event.until
    }
    this.expiresAt = next
  }

  /** Where the merge stands, for a restart (see `MergePosition`). */
  position(): MergePosition {
    const resume: Array<number> = []
    for (let p = 0; p < this.partitions; p++) {
      const order = this.order[p] as Array<number>
      let head = this.orderHead[p] as number
      while (head < order.length && !this.buffered.has(keyOf(p, order[head] as number))) head++
      if (head > 1024 && head * 2 > order.length) {
        order.splice(0, head)
        head = 0
      }
      this.orderHead[p] = head
      resume.push(order[head] ?? (this.eventsNext[p] as number))
    }
    // Until the record before the restart point is checked again, the merge stands where it
    // was restored to.
    const sequence = this.verify === undefined ? this.decidedThrough : this.verify.offset + 1
    const seen = this.eventsNext.map((n, p) => Math.max(n, this.seen[p] ?? 0))
    return { sequence, last: this.last, resume, seen }
  }
}
