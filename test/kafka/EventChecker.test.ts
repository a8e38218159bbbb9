/**
 * The check of consumed Kafka events, without a broker: undecodable headers, bodies that are
 * not their signed envelope, and signatures the verifier refuses become undecodable offers
 * (the merge drops them), counted by kind; redeliveries and events the index already holds
 * are left alone, and their signatures are not verified again.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { EventChecker } from "../../src/adapters/kafka/EventChecker.ts"
import type { EventRecord } from "../../src/adapters/kafka/KafkaRecordCodec.ts"
import type { Offered } from "../../src/adapters/kafka/SequenceMerger.ts"
import type { SignatureVerifierService } from "../../src/ports/SignatureVerifier.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"

const key = testKey("event-checker")
const good = (n: number) => recordOf(envelope(key, { nonce: n, lamport: n }))
const event = (offset: number, record: EventRecord["record"]): Offered<EventRecord> => ({ offset, value: Result.succeed({ record, until: 100 }) })

/** A verifier that accepts every signature, noting how many it was asked at once. */
const verifier = (asked: Array<number>): SignatureVerifierService => ({
  verify: () => true,
  verifyMany: (requests) =>
    Effect.sync(() => {
      asked.push(requests.length)
      return requests.map(() => true)
    })
})
const refusing: SignatureVerifierService = { verify: () => false, verifyMany: (requests) => Effect.succeed(requests.map(() => false)) }

describe("EventChecker", () => {
  it.effect("valid events pass as they are, in one verification request", () =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const checker = new EventChecker(verifier(asked), "t.events")
      const offered = [event(0, good(1)), event(1, good(2))]
      expect(yield* checker.check(0, offered, 0, undefined)).toEqual(offered)
      expect(asked).toEqual([2])
      expect(checker.refused).toEqual({})
    }))

  it.effect("refused events become undecodable, counted by kind; the others pass", () =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const checker = new EventChecker(verifier(asked), "t.events")
      const lying = { ...good(3), nonce: 99 }
      const offered: ReadonlyArray<Offered<EventRecord>> = [
        { offset: 5, value: Result.fail("no causeway-id header") },
        event(6, { ...good(2), body: "not json" }),
        event(7, lying),
        event(8, good(4))
      ]
      const out = yield* checker.check(1, offered, 0, undefined)
      expect(out[0]).toEqual(offered[0])
      expect(out[1]).toEqual({ offset: 6, value: Result.fail("refused: the body is not JSON") })
      expect(out[2]).toEqual({ offset: 7, value: Result.fail("refused: the nonce header differs from the body's") })
      expect(out[3]).toEqual(offered[3])
      expect(asked).toEqual([1])
      expect(checker.refused).toEqual({ header: 2, body: 1 })
    }))

  it.effect("a signature the verifier refuses: refused (signature)", () =>
    Effect.gen(function*() {
      const checker = new EventChecker(refusing, "t.events")
      const out = yield* checker.check(0, [event(0, good(1))], 0, undefined)
      expect(out[0]?.value).toEqual(Result.fail(`refused: the signature does not verify for sender ${good(1).sender}`))
      expect(checker.refused).toEqual({ signature: 1 })
    }))

  it.effect("redeliveries (below `from`) and events the index holds are neither checked nor refused", () =>
    Effect.gen(function*() {
      const checker = new EventChecker(refusing, "t.events")
      const held = good(2)
      const offered = [event(3, { ...good(1), body: "not json" }), event(4, held), event(5, good(3))]
      const out = yield* checker.check(0, offered, 4, new Set([held.id]))
      expect(out.slice(0, 2)).toEqual(offered.slice(0, 2))
      expect(out[2]?.value._tag).toBe("Failure")
      expect(checker.refused).toEqual({ signature: 1 })
    }))
})
