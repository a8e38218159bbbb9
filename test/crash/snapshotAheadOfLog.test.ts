/**
 * After a crash with synchronous=NORMAL (or a restored backup) the log can lose its last
 * commits while the projection snapshot, written after them, survives. The runner must not
 * resume from a snapshot past the log's end: it would report folded records that no longer
 * exist and never fold the new records appended below the snapshot's offset.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Effect, Option } from "effect"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { logPath, snapshotPath } from "../../src/Config.ts"
import { CausalLog, type CausalLogService } from "../../src/ports/CausalLog.ts"
import { ProjectionStore } from "../../src/ports/ProjectionStore.ts"
import { LogIndex } from "../../src/projections/LogIndex/LogIndex.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"

const keys = [testKey("ahead-a"), testKey("ahead-b", "secp256k1")]

const seed = (log: CausalLogService, n: number, firstNonce: number) =>
  log.append(
    Array.from({ length: n }, (_, i) => {
      const e = envelope(keys[i % 2] as (typeof keys)[number], { nonce: firstNonce + i, lamport: firstNonce + i })
      return recordOf(e)
    })
  )

/** Open log, store and runner on `dataDir` for the life of the scope. */
const open = (dataDir: string) =>
  Effect.gen(function*() {
    const log = yield* SqliteCausalLog.make({ path: logPath(dataDir), synchronous: "NORMAL" })
    const store = yield* SqliteProjectionStore.make(snapshotPath(dataDir))
    const runner = yield* ProjectionRunner.make([LogIndex], { snapshotEvery: 10, pageSize: 8 }).pipe(
      Effect.provideService(CausalLog, log),
      Effect.provideService(ProjectionStore, store)
    )
    return { log, store, runner }
  })

/**
 * A data dir whose snapshot folded 40 records, and whose log then lost its last 15 commits
 * (rows 25..39), as after a power loss with synchronous=NORMAL. Removed with the scope.
 */
const snapshotThenLoseCommits = (prefix: string) =>
  Effect.gen(function*() {
    const dataDir = mkdtempSync(join(tmpdir(), prefix))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
    yield* Effect.scoped(Effect.gen(function*() {
      const { log, runner } = yield* open(dataDir)
      yield* seed(log, 40, 1)
      yield* runner.awaitOffset(40)
    }))
    yield* Effect.sync(() => {
      const db = new DatabaseSync(logPath(dataDir))
      db.exec("DELETE FROM log_deps WHERE seq >= 25; DELETE FROM log WHERE seq >= 25")
      db.close()
    })
    return dataDir
  })

describe("snapshot ahead of the log", () => {
  it.live("a restart after lost commits rebuilds instead of resuming past the log's end", () =>
    Effect.gen(function*() {
      const dataDir = yield* snapshotThenLoseCommits("causeway-ahead-")

      yield* Effect.scoped(Effect.gen(function*() {
        const { log, store, runner } = yield* open(dataDir)
        expect(Option.getOrThrow(yield* store.load(LogIndex.name)).offset).toBe(40) // the stale snapshot
        expect(yield* log.endOffset).toBe(25)
        yield* seed(log, 5, 1000) // new records at offsets 25..29, below the snapshot's 40
        yield* runner.awaitOffset(30)
        const [status] = yield* runner.status
        const replayed = yield* ProjectionRunner.replay(log, [LogIndex])
        expect(replayed.offset).toBe(30)
        expect([status?.offset, status?.digest]).toEqual([30, replayed.digests[LogIndex.name]])
        expect((yield* runner.state(LogIndex)).state.total).toBe(30)
      }))
    }))

  it.live("a log cut back and refilled past the snapshot's offset is caught by the snapshot's last id", () =>
    Effect.gen(function*() {
      const dataDir = yield* snapshotThenLoseCommits("causeway-refilled-")
      // Refilled to 45 before any runner sees it: the offset check alone cannot tell.
      yield* Effect.scoped(Effect.gen(function*() {
        const log = yield* SqliteCausalLog.make({ path: logPath(dataDir), synchronous: "NORMAL" })
        yield* seed(log, 20, 1000)
      }))

      yield* Effect.scoped(Effect.gen(function*() {
        const { log, store, runner } = yield* open(dataDir)
        const stale = Option.getOrThrow(yield* store.load(LogIndex.name))
        expect(stale.offset).toBe(40)
        expect(stale.lastId).not.toBe((yield* log.read(39, 40))[0]?.id)
        yield* runner.awaitOffset(45)
        const [status] = yield* runner.status
        const replayed = yield* ProjectionRunner.replay(log, [LogIndex])
        expect([status?.offset, status?.digest]).toEqual([45, replayed.digests[LogIndex.name]])
      }))
    }))
})
