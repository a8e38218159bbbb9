import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as SqliteCausalLog from "../../src/adapters/SqliteCausalLog.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import { causalLogContract, recordOf } from "./CausalLogContract.ts"
import { fromHex } from "../../src/domain/Envelope.ts"
import { keyFromSecret } from "../../src/domain/Keys.ts"
import { envelope } from "../support/fixtures.ts"

/** A fresh directory under the OS temp dir, removed (with the database in it) on release. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "causeway-log-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** A log in a new file; the file goes away with the layer. */
const tempFileLayer = () => Layer.unwrap(Effect.map(tempDir, (dir) => SqliteCausalLog.layer({ path: join(dir, "log.db") })))

causalLogContract("sqlite :memory:", () => SqliteCausalLog.layer({ path: ":memory:" }))
causalLogContract("sqlite file", tempFileLayer)
causalLogContract("sqlite file, synchronous=NORMAL", () =>
  Layer.unwrap(Effect.map(tempDir, (dir) => SqliteCausalLog.layer({ path: join(dir, "log.db"), synchronous: "NORMAL" }))))

const key = keyFromSecret("ed25519", fromHex("5e".repeat(32)))
const record = (nonce: number, lamport: number) =>
  recordOf(envelope(key, { nonce, lamport, payload: { component: "disk", status: "ok", latencyMs: nonce } }))

describe("SqliteCausalLog", () => {
  it.effect("keeps every record across close and reopen of the same file, and continues its offsets", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "nested", "log.db") // the parent directory is created on open
      const first = [record(1, 1), record(2, 2), record(3, 3)]
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        yield* log.append(first)
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))

      const later = record(9, 7)
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.endOffset).toBe(3)
        expect(yield* log.maxLamport).toBe(3)
        expect(yield* log.read(0, 10)).toEqual(first.map((r, offset) => ({ ...r, offset })))
        expect(yield* log.highestNonce(key.publicKey)).toEqual(Option.some(3))
        expect(yield* log.append([later])).toEqual([{ id: later.id, offset: 3, lamport: 7 }])
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))

      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        expect(yield* log.endOffset).toBe(4)
        expect(yield* log.get(later.id)).toEqual(Option.some({ ...later, offset: 3 }))
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))
    }))

  it.effect("opens the file in WAL mode", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "log.db")
      yield* Effect.gen(function*() {
        const log = yield* CausalLog
        yield* log.append([record(1, 1)])
        // A second connection sees the mode the adapter set, which persists in the file.
        const probe = new DatabaseSync(path, { readOnly: true })
        try {
          expect(probe.prepare("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" })
        } finally {
          probe.close()
        }
      }).pipe(Effect.provide(SqliteCausalLog.layer({ path }), { local: true }))
    }))

  it.effect("fails to open a path it cannot create with a CausalLogError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "not-a-directory")
      writeFileSync(file, "")
      const opened = Effect.gen(function*() {
        return yield* CausalLog
      })
      const error = yield* Effect.flip(
        Effect.provide(opened, SqliteCausalLog.layer({ path: join(file, "log.db") }), { local: true })
      )
      expect(error._tag).toBe("CausalLogError")
      expect(error.operation).toBe("open")
    }))
})
