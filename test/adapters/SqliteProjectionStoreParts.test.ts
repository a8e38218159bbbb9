/**
 * A large snapshot is written in parts, the event loop given back between them, and the row is
 * switched to the new parts only once all are written: a reader sees the old snapshot or the
 * new one whole, never a mix, and parts a kill left behind are never read nor kept.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Effect, Fiber, Option } from "effect"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import type { Snapshot } from "../../src/ports/ProjectionStore.ts"

const { PART_CHARS, partsOf } = SqliteProjectionStore

const snapshot = (state: string, offset: number): Snapshot => ({ name: "mempool", version: 8, offset, lastId: null, digest: "d".repeat(64), state })

/** A state of `n` parts and a bit, with a surrogate pair across the first part boundary. */
const bigState = (n: number, fill: string) => {
  const head = fill.repeat(PART_CHARS - 1)
  return `${head}😀${fill.repeat(PART_CHARS * (n - 1) + 17)}`
}

const partRows = (path: string) => {
  const db = new DatabaseSync(path, { readOnly: true })
  try {
    return db.prepare("SELECT generation, count(*) AS n FROM snapshot_parts GROUP BY generation ORDER BY generation").all() as Array<{ generation: number; n: number }>
  } finally {
    db.close()
  }
}

describe("SqliteProjectionStore: snapshots in parts", () => {
  it("partsOf never cuts a surrogate pair and joins back to the text", () => {
    const text = `ab😀cd😀`
    for (let size = 1; size <= text.length; size++) {
      const parts = partsOf(text, size)
      expect(parts.join("")).toBe(text)
      for (const p of parts) {
        const last = p.charCodeAt(p.length - 1)
        expect(last >= 0xd800 && last <= 0xdbff).toBe(false)
      }
    }
    expect(partsOf("abcdef", 4)).toEqual(["abcd", "ef"])
  })

  it.effect("a large state round-trips through parts, yields between them, and a small one goes back inline", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "causeway-parts-"))
      const path = join(dir, "snapshots.db")
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const store = yield* SqliteProjectionStore.make(path)

      const first = bigState(3, "a")
      // Another fiber gets turns while the save runs: it counts how often.
      let turns = 0
      const ticker = yield* Effect.forkChild(Effect.forever(Effect.sync(() => void turns++).pipe(Effect.andThen(Effect.yieldNow))))
      yield* Effect.yieldNow
      turns = 0
      yield* store.save(snapshot(first, 10))
      yield* Fiber.interrupt(ticker)
      // The ticker gets a turn every other yield of the saving fiber (Effect.forever's own
      // step): 4 parts give it 2; the parts written at once would give it none.
      expect(turns).toBeGreaterThanOrEqual(2)
      const loaded = Option.getOrThrow(yield* store.load("mempool"))
      expect(loaded.state.length).toBe(first.length)
      expect(loaded.state === first).toBe(true)
      expect(loaded.offset).toBe(10)
      expect(partRows(path)).toEqual([{ generation: 1, n: 4 }])

      // The next save replaces the parts; the read-only reader sees the same.
      const second = bigState(2, "b")
      yield* store.save(snapshot(second, 20))
      expect(Option.getOrThrow(yield* store.load("mempool")).state === second).toBe(true)
      expect(partRows(path)).toEqual([{ generation: 2, n: 3 }])
      const reader = yield* SqliteProjectionStore.makeReadOnly(path)
      expect(Option.getOrThrow(yield* reader.load("mempool")).state === second).toBe(true)

      // Small again: inline, no parts left.
      yield* store.save(snapshot("{\"small\":true}", 30))
      expect(Option.getOrThrow(yield* store.load("mempool")).state).toBe("{\"small\":true}")
      expect(partRows(path)).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("parts a kill left behind are not read, and the next save drops them", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "causeway-parts-"))
      const path = join(dir, "snapshots.db")
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const store = yield* SqliteProjectionStore.make(path)
      const first = bigState(2, "a")
      yield* store.save(snapshot(first, 10))

      // A save killed after its first part: a part of generation 2 no row names.
      const db = new DatabaseSync(path)
      db.prepare("INSERT INTO snapshot_parts (name, generation, part, text) VALUES ('mempool', 2, 0, 'orphan')").run()
      db.close()
      expect(Option.getOrThrow(yield* store.load("mempool")).state === first).toBe(true)

      const second = bigState(2, "c")
      yield* store.save(snapshot(second, 20))
      expect(Option.getOrThrow(yield* store.load("mempool")).state === second).toBe(true)
      expect(partRows(path)).toEqual([{ generation: 3, n: 3 }])
    }).pipe(Effect.scoped))
})
