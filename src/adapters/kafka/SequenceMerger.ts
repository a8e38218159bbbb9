/**
 * The deterministic merge of the Kafka log (docs/adr/0001-kafka-total-order.md): events
 * arrive per partition, ordering decisions (sequence records) arrive in the sequence topic's
 * single partition, and the merger turns them into one total order. Each sequence record is
 * decided, in sequence-topic order, by the records before it alone: applied whole, skipped
 * whole, or waited for (its events have not arrived yet). So every instance, and every
 * replay, applies the same batches in the same order.
 *
 * No I/O here: the adapter feeds consumed messages in and applies the decisions.
 */
import { Result } from "effect"
import type { NewRecord } from "../../ports/CausalLog.ts"
import type { SequenceBatch } from "./KafkaRecordCodec.ts"

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

const keyOf = (partition: number, offset: number): string => `${partition}:${offset}`

/** The merge state of one instance. */
export class SequenceMerger {
  readonly partitions: number
  /** Next offset expected per events partition. */
  private readonly eventsNext: Array<number>
  /** Next offset expected from the sequence topic. */
  private sequenceNext = 0
  /** Events received and not yet applied, by partition:offset (undecodable ones too). */
  private readonly buffered = new Map<string, Result.Result<NewRecord, string>>()
  private readonly bufferedById = new Map<string, Array<string>>()
  /** Sequence records received and not yet decided, in order. */
  private readonly pending: Array<Offered<SequenceBatch>> = []

  constructor(partitions: number) {
    this.partitions = partitions
    this.eventsNext = Array.from({ length: partitions }, () => 0)
  }

  /** Offset of the next sequence record to decide: every one below it is applied or skipped. */
  get decidedThrough(): number {
    return this.pending[0]?.offset ?? this.sequenceNext
  }

  /** Next offset expected of a partition (the sequence topic is partition -1). */
  nextOffset(partition: number): number {
    return partition < 0 ? this.sequenceNext : (this.eventsNext[partition] ?? 0)
  }

  /** Events not yet applied (awaiting their sequence record, or orphans of failed appends). */
  get bufferedCount(): number {
    return this.buffered.size
  }

  /**
   * Take a partition's messages in offset order. Returns the offset to seek to when they do
   * not start at the next expected one (after a rebalance the group may resume elsewhere);
   * messages already taken are ignored.
   */
  offerEvents(partition: number, messages: ReadonlyArray<Offered<NewRecord>>): number | undefined {
    if (partition < 0 || partition >= this.partitions) return undefined
    for (const m of messages) {
      const next = this.eventsNext[partition] ?? 0
      if (m.offset < next) continue
      if (m.offset > next) return next
      const key = keyOf(partition, m.offset)
      this.buffered.set(key, m.value)
      if (Result.isSuccess(m.value)) {
        const keys = this.bufferedById.get(m.value.success.id)
        if (keys === undefined) this.bufferedById.set(m.value.success.id, [key])
        else keys.push(key)
      }
      this.eventsNext[partition] = next + 1
    }
    return undefined
  }

  /** Take sequence records in offset order; same contract as `offerEvents`. */
  offerSequence(messages: ReadonlyArray<Offered<SequenceBatch>>): number | undefined {
    for (const m of messages) {
      if (m.offset < this.sequenceNext) continue
      if (m.offset > this.sequenceNext) return this.sequenceNext
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
        // Below the next expected offset and not buffered: it was applied, or pruned as a
        // copy of an applied id, by a decision every instance made alike.
        if (offset < this.nextOffset(partition)) return skip(batch, `event ${partition}:${offset} is not available`)
        return { _tag: "Wait", partition, offset }
      }
      if (Result.isFailure(event)) return skip(batch, `event ${partition}:${offset}: ${event.failure}`)
      if (event.success.id !== id) return skip(batch, `event ${partition}:${offset} is ${event.success.id}, not ${id}`)
      records.push(event.success)
    }
    return { _tag: "Apply", seqOffset: head.offset, batch, records }
  }

  /** Record that the head was applied or skipped. */
  commit(decision: Decision): void {
    if (decision._tag !== "Apply" && decision._tag !== "Skip") return
    const head = this.pending.shift()
    if (head === undefined || head.offset !== decision.seqOffset) throw new Error("commit of a decision that is not the head's")
    if (decision._tag === "Skip" || Result.isFailure(head.value)) return
    for (const [partition, offset] of head.value.success.events) this.buffered.delete(keyOf(partition, offset))
    // Other copies of the applied ids (a producer's retries, another instance's losing
    // append) can never be applied: drop them.
    for (const r of decision.records) {
      for (const key of this.bufferedById.get(r.id) ?? []) this.buffered.delete(key)
      this.bufferedById.delete(r.id)
    }
  }
}
