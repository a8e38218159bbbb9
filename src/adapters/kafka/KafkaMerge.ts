/**
 * The Kafka log's merge at work: the `SequenceMerger` in place, fed by the current consumer's
 * batches (checked by the `EventChecker` first) and by this instance's own acknowledged
 * produces, its decisions written to the local index, and the appends waiting on them
 * answered. One merge step at a time (kafkajs hands batches over one by one, but appends and
 * the ready check look too): everything touching the merger runs under `lock`.
 */
import { Deferred, Effect, Exit, Result, Semaphore } from "effect"
import type { KafkaMessage } from "kafkajs"
import type { Appended, CausalLogError, NewRecord } from "../../ports/CausalLog.ts"
import type { EventChecker } from "./EventChecker.ts"
import { causeText } from "./KafkaErrors.ts"
import type { KafkaLocalIndex } from "./KafkaLocalIndex.ts"
import { decodeEvent, decodeSequence, type EventRecord, eventHeaders } from "./KafkaRecordCodec.ts"
import type { TopicNames } from "./KafkaTopics.ts"
import type { Decision, Offered, SequenceMerger } from "./SequenceMerger.ts"

/** What became of an appended batch once its sequence record was decided. */
export type AppendOutcome =
  | { readonly _tag: "Applied"; readonly acks: ReadonlyArray<Appended> }
  | { readonly _tag: "Skipped"; readonly reason: string }
  | { readonly _tag: "Failed"; readonly cause: unknown }

/** What the merge asks of its owner. */
export interface KafkaMergeHooks {
  /** After the merge moved on (under the lock): the owner's catch-up check. */
  readonly moved: (m: SequenceMerger) => Effect.Effect<void, CausalLogError>
  /** The merge was thrown away (the index does not match the topics, or a write failed): stop the consumer, rebuild. */
  readonly thrownAway: (reason: string) => Effect.Effect<void>
}

/** The events of a consumed batch, checked, with the merger they were checked against. */
interface CheckedEvents {
  readonly checked: ReadonlyArray<Offered<EventRecord>>
  readonly known: ReadonlySet<string> | undefined
  readonly merger: SequenceMerger
}

/** The merge of one Kafka log. */
export class KafkaMerge {
  /** Held by every step that reads or changes the merger. */
  readonly lock: Semaphore.Semaphore = Semaphore.makeUnsafe(1)
  private current: SequenceMerger | undefined = undefined
  // The consumer whose batches feed the merge: one being replaced may still hand one over.
  private source: unknown = undefined
  private readonly waiters = new Map<string, Deferred.Deferred<AppendOutcome>>()
  private readonly consumedCount = { events: 0, sequence: 0 }
  private readonly local: KafkaLocalIndex
  private readonly topics: TopicNames
  private readonly checker: EventChecker
  private readonly hooks: KafkaMergeHooks
  private readonly indexPath: string

  constructor(options: {
    readonly local: KafkaLocalIndex
    readonly topics: TopicNames
    readonly checker: EventChecker
    readonly hooks: KafkaMergeHooks
    readonly indexPath: string
  }) {
    this.local = options.local
    this.topics = options.topics
    this.checker = options.checker
    this.hooks = options.hooks
    this.indexPath = options.indexPath
  }

  /** The merger in place (none while the index is being rebuilt, or before the first connect). */
  get merger(): SequenceMerger | undefined {
    return this.current
  }

  /** Events consumed but not applied (awaiting their sequence record, or orphans). */
  get buffered(): number {
    return this.current?.bufferedCount ?? 0
  }

  /** Messages consumed from each topic since start (redeliveries included). */
  get consumed(): { readonly events: number; readonly sequence: number } {
    return { ...this.consumedCount }
  }

  /** The merger in place, else the one `restore` makes (under the lock). */
  ensure<E>(restore: Effect.Effect<SequenceMerger, E>): Effect.Effect<SequenceMerger, E> {
    return this.lock.withPermit(Effect.gen({ self: this }, function*() {
      if (this.current === undefined) this.current = yield* restore
      return this.current
    }))
  }

  /** Drop the merger and run `then` (under the lock), e.g. clearing the index for a rebuild. */
  reset<E>(then: Effect.Effect<void, E>): Effect.Effect<void, E> {
    return this.lock.withPermit(Effect.suspend(() => {
      this.current = undefined
      return then
    }))
  }

  /** Only `consumer`'s batches feed the merge from now on (none: no consumer's). */
  feedFrom(consumer: unknown): void {
    this.source = consumer
  }

  /** The owner's catch-up check, now (under the lock). */
  get check(): Effect.Effect<void, CausalLogError> {
    return this.lock.withPermit(Effect.suspend(() => this.current === undefined ? Effect.void : this.hooks.moved(this.current)))
  }

  /** Wait for the decision on batch `id` (register before its sequence record is produced). */
  awaiting(id: string): Effect.Effect<Deferred.Deferred<AppendOutcome>> {
    return Effect.gen({ self: this }, function*() {
      const waiter = yield* Deferred.make<AppendOutcome>()
      this.waiters.set(id, waiter)
      return waiter
    })
  }

  /** Stop waiting for batch `id`. */
  forget(id: string): Effect.Effect<void> {
    return Effect.sync(() => this.waiters.delete(id))
  }

  /**
   * A consumer's batch. Events are decoded and checked (signatures on the thread pool) before
   * the lock is taken, so several partitions' batches are checked at once while the merge goes
   * on; the merger's position read here only spares the check of redeliveries, which it ignores.
   */
  offer(consumer: unknown, topic: string, partition: number, messages: ReadonlyArray<KafkaMessage>, seek: (offset: number) => void) {
    return Effect.gen({ self: this }, function*() {
      const before = this.current
      if (before === undefined || consumer !== this.source) return
      if (topic === this.topics.sequence) return yield* this.merge(consumer, topic, partition, messages, undefined, seek)
      this.consumedCount.events += messages.length
      const offered = messages.map((msg) => ({ offset: Number(msg.offset), value: decodeEvent(msg) }))
      // Events read again after a restart: those whose ids the index holds were applied
      // (or are copies of applied ones) before it, and are not kept.
      const again: Array<string> = []
      for (const o of offered) {
        if (before.consumedBefore(partition, o.offset) && Result.isSuccess(o.value)) again.push(o.value.success.record.id)
      }
      const known = again.length === 0 ? undefined : new Set((yield* this.local.service.lookup(again)).keys())
      const checked = yield* this.checker.check(partition, offered, before.nextOffset(partition), known)
      return yield* this.merge(consumer, topic, partition, messages, { checked, known, merger: before }, seek)
    })
  }

  /**
   * Read-your-writes: what this instance produced and Kafka acknowledged is fed to the merge
   * at once, as the bytes the consumer would deliver, decoded by the same decoders, at the
   * offsets Kafka gave; the merge takes it only where it continues what it has (else the
   * consumer delivers it in turn, and the copy it then gets is ignored). This saves a fetch
   * round trip per append and changes no decision. These events are not checked again: the
   * append's caller, this instance's ingest, admitted them, and the check is a pure function
   * of the same bytes, so another reader accepts them alike.
   */
  ownEvents(batch: ReadonlyArray<NewRecord>, until: number, events: ReadonlyArray<readonly [number, number, string]>): Effect.Effect<void> {
    return this.lock.withPermit(Effect.sync(() => {
      const m = this.current
      if (m === undefined) return
      const order = events.map((_, i) => i).sort((a, b) => {
        const [ea, eb] = [events[a] as readonly [number, number, string], events[b] as readonly [number, number, string]]
        return ea[0] - eb[0] || ea[1] - eb[1]
      })
      for (const i of order) {
        const r = batch[i] as NewRecord
        const [partition, offset] = events[i] as readonly [number, number, string]
        const headers = Object.fromEntries(Object.entries(eventHeaders(r, until)).map(([k, v]) => [k, Buffer.from(v)]))
        const value = decodeEvent({ value: Buffer.from(r.body), headers })
        if (m.nextOffset(partition) === offset) m.offerEvents(partition, [{ offset, value }])
      }
    }))
  }

  /** This instance's own acknowledged sequence record, at `offset` (see `ownEvents`). */
  ownSequence(offset: number, value: string) {
    return this.lock.withPermit(Effect.gen({ self: this }, function*() {
      const m = this.current
      if (m === undefined || m.nextOffset(-1) !== offset) return
      m.offerSequence([{ offset, value: decodeSequence(Buffer.from(value)) }])
      yield* this.drain
    }))
  }

  private merge(
    consumer: unknown,
    topic: string,
    partition: number,
    messages: ReadonlyArray<KafkaMessage>,
    events: CheckedEvents | undefined,
    seek: (offset: number) => void
  ) {
    return this.lock.withPermit(Effect.gen({ self: this }, function*() {
      const m = this.current
      // Only the current consumer feeds the merge (and the merger checked against must still be the one in place).
      if (m === undefined || consumer !== this.source || (events !== undefined && events.merger !== m)) return
      let seekTo: number | undefined
      if (topic === this.topics.sequence) {
        this.consumedCount.sequence += messages.length
        seekTo = m.offerSequence(messages.map((msg) => ({ offset: Number(msg.offset), value: decodeSequence(msg.value) })))
        if (m.mismatch !== undefined) {
          yield* Effect.logWarning(`kafka log: the local index ${this.indexPath} does not match the topics (${m.mismatch}); rebuilding it from the topics`)
          return yield* this.throwAway(m.mismatch)
        }
      } else if (events !== undefined) {
        seekTo = m.offerEvents(partition, events.checked, events.known)
      }
      if (seekTo !== undefined) {
        const offset = seekTo
        yield* Effect.logDebug(`kafka log: ${topic}[${partition}] resumed past ${offset}; seeking back`)
        yield* Effect.sync(() => seek(offset))
        return
      }
      yield* this.drain
    }))
  }

  // Throw the merge away and read the topics again from the beginning into an empty index.
  private throwAway(reason: string): Effect.Effect<void> {
    return Effect.suspend(() => {
      this.current = undefined
      this.local.requestRebuild(reason)
      return this.hooks.thrownAway(reason)
    })
  }

  // Decide and apply sequence records while their events are here. Consecutive decisions are
  // written in one transaction together with the merge's position, so a file index always
  // holds exactly the records its saved position has decided.
  private get drain() {
    return Effect.gen({ self: this }, function*() {
      const m = this.current
      if (m === undefined) return
      let records: Array<NewRecord> = []
      let decided: Array<{ readonly decision: Extract<Decision, { readonly seqOffset: number }>; readonly from: number }> = []
      const inGroup = new Set<string>()
      const flush = Effect.gen({ self: this }, function*() {
        if (decided.length === 0) return
        const [batch, done] = [records, decided]
        records = []
        decided = []
        inGroup.clear()
        const written = yield* Effect.exit(this.local.write(batch, m))
        for (const { decision, from } of done) {
          const outcome: AppendOutcome = Exit.isFailure(written)
            ? { _tag: "Failed", cause: written.cause }
            : decision._tag === "Apply"
            ? { _tag: "Applied", acks: written.value.slice(from, from + decision.records.length) }
            : { _tag: "Skipped", reason: decision.reason }
          const waiter = decision.batch === undefined ? undefined : this.waiters.get(decision.batch)
          if (waiter !== undefined && decision.batch !== undefined) {
            this.waiters.delete(decision.batch)
            yield* Deferred.succeed(waiter, outcome)
          }
        }
        if (Exit.isFailure(written)) {
          yield* Effect.logError(`kafka log: writing the local index ${this.indexPath} failed (${causeText(written.cause)}); rebuilding it from the topics`)
          yield* this.throwAway(`a write failed: ${causeText(written.cause)}`)
        }
      })
      while (this.current === m) {
        const ids = m.headIds()
        const known = new Set<string>()
        if (ids.length > 0) {
          for (const id of ids) if (inGroup.has(id)) known.add(id)
          for (const id of (yield* this.local.service.lookup(ids)).keys()) known.add(id)
        }
        const decision: Decision = m.decide(known)
        if (decision._tag === "Idle" || decision._tag === "Wait") break
        if (decision._tag === "Skip") {
          yield* Effect.logWarning(`kafka log: sequence record ${decision.seqOffset} skipped: ${decision.reason}`)
        }
        m.commit(decision)
        decided.push({ decision, from: records.length })
        if (decision._tag === "Apply") {
          for (const r of decision.records) {
            records.push(r)
            inGroup.add(r.id)
          }
        }
        if (records.length >= 4096 || decided.length >= 256) yield* flush
      }
      yield* flush
      if (this.current !== undefined) yield* this.hooks.moved(this.current)
    })
  }
}
