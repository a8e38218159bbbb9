/**
 * Bounded work per request (docs/security.md): JSON bodies are limited per endpoint (1 MiB by
 * default, 8 MiB for the ordering check), the ordering check takes at most 10,000 receipts and
 * runs on a worker thread that queues a bounded number of checks.
 */
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { MAX_WAITING, make as makeOrderingChecker } from "../../src/adapters/http/OrderingChecker.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import * as Server from "./support/server.ts"

const json = { "content-type": "application/json" }
const MiB = 1024 * 1024
const id = (i: number) => i.toString(16).padStart(64, "0")

describe("bounded request bodies and the ordering check", () => {
  layer(Server.layer(), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("a JSON body over 1 MiB is 413 on the schema-decoded endpoints, before any work", () =>
      Effect.gen(function*() {
        const padding = "x".repeat(2 * MiB)
        for (const path of ["/v1/effects/watches", "/v1/operators/mev-distribution", "/v1/chains/anvil/proofs"]) {
          const r = yield* Server.request("POST", path, { body: JSON.stringify({ padding }), headers: json })
          expect([r.status, r.json?._tag, r.json?.limit], path).toEqual([413, "BodyTooLarge", MiB])
        }
      }))

    it.effect("the ordering check reads up to 8 MiB and 10,000 receipts; more is 413 or 400", () =>
      Effect.gen(function*() {
        // 10,000 receipts that do not decode (2.2 MB): a verdict, with the violations reported (at most 100).
        const receipts = Array.from({ length: 10_000 }, (_, i) => ({ note: `${i}`.padEnd(200, ".") }))
        const processingOrder = Array.from({ length: 10_000 }, (_, i) => id(i))
        const body = JSON.stringify({ processingOrder, receipts })
        expect(body.length).toBeGreaterThan(2 * MiB)
        const verdict = yield* Server.request("POST", "/v1/mempool/verify-ordering", { body, headers: json })
        expect([verdict.status, verdict.json.fair]).toEqual([200, false])
        expect(verdict.json.violations.length).toBeGreaterThan(0)
        const tooMany = yield* Server.request("POST", "/v1/mempool/verify-ordering", { body: JSON.stringify({ processingOrder: [], receipts: [...receipts.slice(0, 10), ...Array.from({ length: 9_991 }, () => ({}))] }), headers: json })
        expect([tooMany.status, tooMany.json._tag]).toEqual([400, "InvalidRequest"])
        const huge = yield* Server.request("POST", "/v1/mempool/verify-ordering", { body: JSON.stringify({ processingOrder: [], receipts: ["y".repeat(9 * MiB)] }), headers: json })
        expect([huge.status, huge.json._tag, huge.json.limit]).toEqual([413, "BodyTooLarge", 8 * MiB])
      }))

    it.effect("a message's dependents are paged: from an offset, at most limit (default 100, at most 1,000)", () =>
      Effect.gen(function*() {
        const key = testKey("bounds-dependents")
        const root = envelope(key, { nonce: 1, lamport: 1 })
        const children = [2, 3, 4].map((n) => envelope(key, { nonce: n, lamport: n, deps: [idOf(root)] }))
        const receipts = yield* Server.seed([root, ...children])
        const path = `/v1/messages/${idOf(root)}/dependents`
        const ids = (r: Server.Reply) => (r.json as Array<{ id: string }>).map((x) => x.id)
        expect(ids(yield* Server.get(path))).toEqual(children.map(idOf))
        expect(ids(yield* Server.get(`${path}?limit=2`))).toEqual(children.slice(0, 2).map(idOf))
        expect(ids(yield* Server.get(`${path}?from=${(receipts[2]?.offset ?? 0) + 1}`))).toEqual([idOf(children[2] as typeof root)])
        expect((yield* Server.get(`${path}?limit=1001`)).status).toBe(400)
      }))
  })

  it.effect("the checker runs one check at a time with MAX_WAITING behind it: beyond that, busy at once", () =>
    Effect.gen(function*() {
      const checker = makeOrderingChecker()
      const body = (o: unknown) => new TextEncoder().encode(JSON.stringify(o))
      const receipts = body({ processingOrder: [], receipts: Array.from({ length: 2_000 }, () => ({})) })
      // All asked for in the same turn of the event loop: the worker cannot have answered any.
      const exits = yield* Effect.all(Array.from({ length: MAX_WAITING + 3 }, () => Effect.exit(checker.check(receipts))), { concurrency: "unbounded" })
      const busy = exits.filter((e) => Exit.isFailure(e))
      expect(busy.length).toBe(2)
      for (const e of exits.filter(Exit.isSuccess)) expect(e.value).toMatchObject({ fair: false })
      // Once they are answered there is room again.
      const again = yield* checker.check(body({ processingOrder: [id(1)], receipts: [] }))
      expect(again).toMatchObject({ fair: false, violations: [{ kind: "MissingReceipt" }] })
      // The worker parses and decodes the body: what is not a request is refused with the reason.
      const notJson = yield* Effect.flip(checker.check(new TextEncoder().encode("{")))
      expect(notJson).toMatchObject({ _tag: "OrderingRequestInvalid", reason: "payload: the body is not valid JSON" })
      const wrongShape = yield* Effect.flip(checker.check(body({ processingOrder: "x", receipts: [] })))
      expect(wrongShape).toMatchObject({ _tag: "OrderingRequestInvalid", reason: expect.stringMatching(/^payload: .*processingOrder/) })
    }))
})
