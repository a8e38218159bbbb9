/**
 * A restarted instance resumes from its checkpoint: the projection runner's snapshots name a
 * global offset and the record there, and the Kafka log rebuilds the same offsets on every
 * start, so a new process over the same topics and snapshot store resumes each projection
 * where the last one stopped (no rebuild), and reaches the digests of a full replay. Over
 * another log the same snapshots are refused and the projections rebuild.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Logger, Option } from "effect"
import * as KafkaCausalLog from "../../src/adapters/kafka/KafkaCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { CausalLog, type NewRecord } from "../../src/ports/CausalLog.ts"
import { ProjectionStore } from "../../src/ports/ProjectionStore.ts"
import { LogIndex } from "../../src/projections/LogIndex/LogIndex.ts"
import type { AnyProjection } from "../../src/projections/Projection.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"
import { OrderChain, snapshotOf } from "./support/digests.ts"
import { freshTopics, optionsFor } from "./support/kafkaLayer.ts"
import { startBroker } from "./support/TestBroker.ts"

const choice = await startBroker()
const projections: ReadonlyArray<AnyProjection> = [LogIndex as AnyProjection, OrderChain as AnyProjection]
const keys: ReadonlyArray<KeyFile> = ["ann", "ben", "dee"].map((l) => testKey(l))

const batchOf = (i: number, size: number): Array<NewRecord> =>
  Array.from({ length: size }, (_, j) => {
    const n = i * size + j + 1
    return recordOf(envelope(keys[j % keys.length] as KeyFile, { nonce: n, lamport: n, payload: { component: "resume", status: "ok", latencyMs: n } }))
  })

/** One life of an instance: the Kafka log and the runner over a snapshot store file. */
const life = <A>(options: KafkaCausalLog.KafkaLogOptions, storePath: string, body: (log: KafkaCausalLog.KafkaLogHandle, runner: ProjectionRunner.ProjectionsService) => Effect.Effect<A>) =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* KafkaCausalLog.start(options)
    yield* handle.ready
    // Built in this life's scope (a provided layer would close with `make`).
    const store = yield* SqliteProjectionStore.make(storePath)
    const runner = yield* ProjectionRunner.make(projections, { snapshotEvery: 50, pageSize: 64 }).pipe(
      Effect.provideService(CausalLog, handle.service),
      Effect.provideService(ProjectionStore, store)
    )
    return yield* body(handle, runner)
  }))

if ("skipped" in choice) {
  describe.skip(`Kafka checkpoints (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())

  describe(`Kafka checkpoints (${broker.kind})`, () => {
    it.live("a restarted instance resumes its projections from their snapshots; over another log they rebuild", () => {
      const warnings: Array<string> = []
      const capture = Logger.make(({ logLevel, message }) => {
        if (logLevel === "Warn") warnings.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
      })
      const dir = mkdtempSync(join(tmpdir(), "causeway-kafka-resume-"))
      const storePath = join(dir, "projections.sqlite")
      return Effect.gen(function*() {
        const options = optionsFor(broker, yield* freshTopics(broker, "resume"))

        // First life: 200 records folded, snapshots on the way and at shutdown.
        yield* life(options, storePath, (log, runner) =>
          Effect.gen(function*() {
            for (let i = 0; i < 10; i++) yield* log.service.append(batchOf(i, 20))
            yield* runner.awaitOffset(200)
          }).pipe(Effect.orDie))
        const saved = yield* SqliteProjectionStore.make(storePath).pipe(
          Effect.flatMap((store) => store.load(LogIndex.name)),
          Effect.scoped,
          Effect.orDie
        )
        expect(Option.map(saved, (s) => s.offset)).toEqual(Option.some(200))

        // Meanwhile another instance appends 40 more.
        yield* Effect.scoped(Effect.gen(function*() {
          const other = yield* KafkaCausalLog.start(options)
          yield* other.ready
          yield* other.service.append(batchOf(10, 20))
          yield* other.service.append(batchOf(11, 20))
        })).pipe(Effect.orDie)

        // Second life: it catches up from Kafka, resumes from offset 200 (no rebuild), folds 40.
        warnings.length = 0
        const resumed = yield* life(options, storePath, (log, runner) =>
          Effect.gen(function*() {
            yield* runner.awaitOffset(240)
            return { status: yield* runner.status, replayed: yield* snapshotOf(log.service) }
          }).pipe(Effect.orDie))
        expect(warnings.filter((w) => w.includes("rebuilding"))).toEqual([])
        for (const s of resumed.status) {
          expect(s.offset).toBe(240)
          expect(s.digest).toBe(resumed.replayed.digests[s.name])
        }

        // Over another log (other topics) the snapshots name records that are not there: rebuild.
        const elsewhere = optionsFor(broker, yield* freshTopics(broker, "elsewhere"))
        yield* life(elsewhere, storePath, (log, runner) =>
          Effect.gen(function*() {
            for (let i = 0; i < 12; i++) yield* log.service.append(batchOf(100 + i, 20))
            yield* runner.awaitOffset(240)
          }).pipe(Effect.orDie))
        expect(warnings.filter((w) => w.includes("rebuilding from offset 0")).length).toBe(projections.length)
      }).pipe(
        Effect.provide(Logger.layer([capture])),
        Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      )
    }, 60_000)
  })
}
