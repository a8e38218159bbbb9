/**
 * The Kafka log's local index without a broker: what `restore` makes of an index file given
 * what the brokers say (topics, cluster, partitions, where the topics end): resumed at the
 * saved position when the file mirrors them, else emptied and rebuilt, saying why.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Result, type Scope } from "effect"
import { KafkaLocalIndex, readIndexState } from "../../src/adapters/kafka/KafkaLocalIndex.ts"
import type { TopicEnds } from "../../src/adapters/kafka/KafkaTopics.ts"
import { SequenceMerger } from "../../src/adapters/kafka/SequenceMerger.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import type { NewRecord } from "../../src/ports/CausalLog.ts"

const dir = mkdtempSync(join(tmpdir(), "causeway-kafka-index-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let files = 0
const freshFile = () => join(dir, `index-${files++}.db`)

const topics = { events: "t.events", sequence: "t.sequence" }
const recordOf = (n: number): NewRecord => ({
  id: n.toString(16).padStart(64, "0") as MessageId,
  lamport: n,
  type: "NetworkHealth",
  sender: `s${n}`,
  nonce: n,
  deps: [],
  body: `{"n":${n}}`
})
/** Where the topics end: `sequence` records in the sequence topic, `events[p]` in each events partition. */
const endsOf = (sequence: number, events: ReadonlyArray<number>): TopicEnds => ({
  sequence: { partition: 0, low: 0, high: sequence },
  events: events.map((high, partition) => ({ partition, low: 0, high }))
})

/** One batch (record 1, in partition 0) merged by `m` and written with its position. */
const mergeOne = (index: KafkaLocalIndex, m: SequenceMerger) =>
  Effect.gen(function*() {
    const record = recordOf(1)
    m.offerEvents(0, [{ offset: 0, value: Result.succeed({ record, until: 100 }) }])
    m.offerSequence([{ offset: 0, value: Result.succeed({ v: 1, batch: "b0", events: [[0, 0, record.id]] }) }])
    const decision = m.decide(new Set())
    expect(decision._tag).toBe("Apply")
    m.commit(decision)
    yield* index.write(decision._tag === "Apply" ? decision.records : [], m)
  })

/** A file index holding one merged batch, written against cluster "c1" with 2 events partitions. */
const written = Effect.fnUntraced(function*() {
  const path = freshFile()
  yield* Effect.scoped(Effect.gen(function*() {
    const index = yield* KafkaLocalIndex.open(path, topics)
    const m = yield* index.restore(2, "c1", endsOf(0, [0, 0]))
    expect(index.started).toEqual({ _tag: "Rebuilt", reason: "the index file is new" })
    yield* mergeOne(index, m)
  }))
  return path
})

describe("KafkaLocalIndex", () => {
  it.effect("in memory: rebuilt at every start, from the beginning", () =>
    Effect.scoped(Effect.gen(function*() {
      const index = yield* KafkaLocalIndex.open(":memory:", topics)
      expect(index.persist).toBe(false)
      const m = yield* index.restore(3, "c1", endsOf(5, [1, 2, 3]))
      expect(index.started).toEqual({ _tag: "Rebuilt", reason: "the index is in memory" })
      expect([m.partitions, m.nextOffset(-1), m.nextOffset(0)]).toEqual([3, 0, 0])
    })))

  it.effect("a file that mirrors the topics resumes at its saved position", () =>
    Effect.gen(function*() {
      const path = yield* written()
      expect(yield* readIndexState(path)).toEqual({ topics, cluster: "c1", sequence: 1 })
      yield* Effect.scoped(Effect.gen(function*() {
        const index = yield* KafkaLocalIndex.open(path, topics)
        const m = yield* index.restore(2, "c1", endsOf(1, [1, 0]))
        expect(index.started).toEqual({ _tag: "Resumed", records: 1, sequence: 1 })
        // Sequence record 1 is next (record 0 is read again to check the topic is the same one).
        expect([m.position().sequence, m.nextOffset(-1), m.nextOffset(0), m.nextOffset(1)]).toEqual([1, 0, 1, 0])
        expect((yield* index.service.read(0, 10)).map((r) => r.id)).toEqual([recordOf(1).id])
      }))
    }))

  const mismatches: ReadonlyArray<readonly [string, (path: string) => Effect.Effect<KafkaLocalIndex, unknown, Scope.Scope>, string]> = [
    ["another cluster", (path) => restored(path, topics, 2, "c2", endsOf(1, [1, 0])), "it mirrors the cluster c1, and the brokers are the cluster c2"],
    ["other topics", (path) => restored(path, { events: "u.events", sequence: "u.sequence" }, 2, "c1", endsOf(1, [1, 0])), "it mirrors the topics t.events and t.sequence"],
    ["another partition count", (path) => restored(path, topics, 3, "c1", endsOf(1, [1, 0, 0])), "it mirrors 2 events partitions, and t.events has 3"],
    ["a sequence topic shorter than its position", (path) => restored(path, topics, 2, "c1", endsOf(0, [1, 0])), "t.sequence ends at 0, before the index's position 1"],
    ["an events partition shorter than its position", (path) => restored(path, topics, 2, "c1", endsOf(1, [0, 0])), "t.events[0] ends at 0, before the index's position 1"]
  ]
  for (const [what, restore, reason] of mismatches) {
    it.effect(`a file that mirrors ${what} is emptied and rebuilt, saying why`, () =>
      Effect.gen(function*() {
        const path = yield* written()
        yield* Effect.scoped(Effect.gen(function*() {
          const index = yield* restore(path)
          expect(index.started).toEqual({ _tag: "Rebuilt", reason })
          expect(yield* index.service.endOffset).toBe(0)
        }))
        expect(yield* readIndexState(path)).toBeUndefined()
      }))
  }

  it.effect("an unknown cluster (the broker does not say) is no mismatch", () =>
    Effect.gen(function*() {
      const path = yield* written()
      yield* Effect.scoped(Effect.gen(function*() {
        const index = yield* restored(path, topics, 2, null, endsOf(1, [1, 0]))
        expect(index.started?._tag).toBe("Resumed")
      }))
    }))

  it.effect("a rebuild asked for (a failed write) is cleared, and the next restore reports its reason", () =>
    Effect.scoped(Effect.gen(function*() {
      const path = yield* written()
      const index = yield* KafkaLocalIndex.open(path, topics)
      index.requestRebuild("a write failed: disk full")
      expect(index.rebuilding).toBe("a write failed: disk full")
      yield* index.clear
      yield* index.restore(2, "c1", endsOf(1, [1, 0]))
      expect(index.started).toEqual({ _tag: "Rebuilt", reason: "a write failed: disk full" })
      expect(index.rebuilding).toBeUndefined()
      expect(yield* index.service.endOffset).toBe(0)
    })))
})

/** The index at `path` opened for `names` and restored against what the brokers say. */
function restored(path: string, names: typeof topics, partitions: number, cluster: string | null, ends: TopicEnds) {
  return Effect.gen(function*() {
    const index = yield* KafkaLocalIndex.open(path, names)
    yield* index.restore(partitions, cluster, ends)
    return index
  })
}
