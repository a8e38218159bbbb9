/**
 * Subscribers of one log share their page reads (LogTail.sharedPages): a thousand streams woken
 * by one append read its records once; what each gets is exactly what its own read would give.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Stream, SubscriptionRef } from "effect"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { makeLogEnd, sharedPages, tail } from "../../src/adapters/storage/LogTail.ts"

const record = (offset: number) => ({ offset, id: `r${offset}` }) as unknown as LogRecord

describe("sharedPages", () => {
  it.effect("reads a page once for every subscriber at the same place, and never answers less than the log holds", () =>
    Effect.gen(function*() {
      const end = yield* makeLogEnd(0)
      let reads = 0
      let holds = 0
      const read = (from: number, to: number) =>
        Effect.sync(() => {
          reads++
          return Array.from({ length: Math.max(0, Math.min(to, holds) - from) }, (_, i) => record(from + i))
        })
      const shared = sharedPages(end, read)
      holds = 10
      yield* end.set(10)
      const answers = yield* Effect.all(Array.from({ length: 1_000 }, () => shared(0, 1024)))
      expect(reads).toBe(1)
      for (const a of answers) expect(a).toBe(answers[0])
      expect(answers[0]!.map((r) => r.offset)).toEqual(Array.from({ length: 10 }, (_, i) => i))
      // The end moves: the same request now answers the longer page, read once more.
      holds = 15
      yield* end.set(15)
      expect((yield* shared(0, 1024)).length).toBe(15)
      expect((yield* shared(10, 1024)).map((r) => r.offset)).toEqual([10, 11, 12, 13, 14])
      expect(reads).toBe(3)
      // Nothing below the end yet: read through, nothing kept.
      expect(yield* shared(15, 1024)).toEqual([])
      expect(reads).toBe(4)
    }))
})

describe("LogEnd", () => {
  it.effect("one move of the end wakes every one of 1,000 waiting subscribers, each reading on from where it was", () =>
    Effect.gen(function*() {
      const end = yield* makeLogEnd(0)
      let holds = 0
      const read = (from: number, to: number) =>
        Effect.sync(() => Array.from({ length: Math.max(0, Math.min(to, holds) - from) }, (_, i) => record(from + i)))
      const shared = sharedPages(end, read)
      const streams = yield* Effect.all(Array.from({ length: 1_000 }, () => Effect.forkChild(tail(end, shared, 0).pipe(Stream.take(3), Stream.runCollect))))
      // Every stream waits: nobody subscribed to the end's changes to do so.
      yield* Effect.yieldNow
      expect(yield* SubscriptionRef.get(end.ref)).toBe(0)
      holds = 2
      yield* end.set(2)
      holds = 3
      yield* end.set(3)
      const got = yield* Effect.all(streams.map(Fiber.join))
      for (const g of got) expect(g.map((r) => r.offset)).toEqual([0, 1, 2])
    }))

  it.effect("a move between reading the end and waiting is not lost", () =>
    Effect.gen(function*() {
      const end = yield* makeLogEnd(5)
      // Already past: no wait at all.
      yield* end.past(4)
      const waiter = yield* Effect.forkChild(end.past(5))
      yield* Effect.yieldNow
      yield* end.set(6)
      yield* Fiber.join(waiter)
      expect(yield* SubscriptionRef.get(end.ref)).toBe(6)
    }))
})
