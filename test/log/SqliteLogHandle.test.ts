/**
 * The SQLite log's local-index extras (used by the Kafka log's index file): rows of its own
 * written in the same transaction as an append, all or nothing, and emptying the log.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option } from "effect"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"

const key = testKey("handle")
const records = [1, 2, 3].map((n) => recordOf(envelope(key, { nonce: n, lamport: n })))

describe("SqliteCausalLog.open", () => {
  it.effect("appendWith commits the records and its own rows together, or neither", () =>
    Effect.scoped(Effect.gen(function*() {
      const h = yield* SqliteCausalLog.open({ path: ":memory:" })
      yield* h.transact("create", (db) => db.exec("CREATE TABLE extra (v TEXT NOT NULL) STRICT"))
      const count = () => h.transact("count", (db) => Number((db.prepare("SELECT COUNT(*) AS n FROM extra").get() as { n: number }).n))

      const acks = yield* h.appendWith(records.slice(0, 2), (db) => db.prepare("INSERT INTO extra (v) VALUES ('a')").run())
      expect(acks.map((a) => a.offset)).toEqual([0, 1])
      expect(yield* count()).toBe(1)

      // The extra write fails: the records of the same append are not there either.
      const failed = yield* Effect.exit(h.appendWith(records.slice(2), (db) => db.prepare("INSERT INTO extra (v) VALUES (NULL)").run()))
      expect(Exit.isFailure(failed)).toBe(true)
      expect(yield* h.service.endOffset).toBe(2)
      expect(Option.isNone(yield* h.service.get(records[2]!.id))).toBe(true)
      expect(yield* count()).toBe(1)

      // Own rows alone, without records.
      expect(yield* h.appendWith([], (db) => db.prepare("INSERT INTO extra (v) VALUES ('b')").run())).toEqual([])
      expect(yield* count()).toBe(2)
    })))

  it.effect("clear empties the log: offsets, ids and nonces start again", () =>
    Effect.scoped(Effect.gen(function*() {
      const h = yield* SqliteCausalLog.open({ path: ":memory:" })
      yield* h.service.append(records)
      yield* h.clear
      expect(yield* h.service.endOffset).toBe(0)
      expect((yield* h.service.lookup(records.map((r) => r.id))).size).toBe(0)
      expect(Option.isNone(yield* h.service.highestNonce(records[0]!.sender))).toBe(true)
      expect((yield* h.service.append(records.slice(1))).map((a) => a.offset)).toEqual([0, 1])
    })))
})
