/**
 * Cluster messages on their way into the log: admitted from those with the right, refused
 * (NotAuthorized) from others, and taken again by a reader that checks records it did not
 * admit itself (another member's, read from Kafka).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Result } from "effect"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { admit } from "../../src/domain/Admission.ts"
import { evolveAuthority, initialAuthority } from "../../src/domain/cluster/Authority.ts"
import { checkRecord } from "../../src/domain/RecordCheck.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import { AuthorityView } from "../../src/ports/InstanceKey.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { envelope } from "../support/fixtures.ts"
import { clusterConfig, clusterLog, keys } from "./support.ts"

const { admin, a, b, c, alice } = keys
const limits = { maxMessageBytes: 64 * 1024 }
const setOf = (...ks: ReadonlyArray<typeof a>) => ({ members: ks.map((k) => k.publicKey) })

describe("cluster messages at admission", () => {
  it("are known types whose payloads are checked like any other's", () => {
    expect(Result.isSuccess(admit(envelope(admin, { type: "ClusterMembersSet", payload: setOf(a, b) }), undefined, limits))).toBe(true)
    expect(Result.isSuccess(admit(envelope(a, { type: "LeaderTermClaimed", payload: { term: 1 } }), undefined, limits))).toBe(true)
    const malformed = [
      envelope(admin, { type: "ClusterMembersSet", payload: { members: [] } }),
      envelope(admin, { type: "ClusterMembersSet", payload: { ...setOf(a), extra: 1 } }),
      envelope(a, { type: "LeaderTermClaimed", payload: { term: 0 } })
    ]
    for (const e of malformed) expect(Result.match(admit(e, undefined, limits), { onSuccess: () => "admitted", onFailure: (f) => f._tag })).toBe("MalformedMessage")
  })

  it("are taken by a reader that checks each record of the log again", () => {
    const log = clusterLog()
    log.set([a, b, c])
    log.claim(a, 1)
    for (const r of log.records) expect(Result.isSuccess(checkRecord(r))).toBe(true)
  })
})

describe("cluster messages at ingest", () => {
  const log = clusterLog()
  log.set([a, b, c])
  log.claim(a, 1)
  const authority = log.records.reduce(evolveAuthority, initialAuthority(clusterConfig()))
  const pipeline = Ingest.layer({ ...Ingest.defaultOptions, verifyOffThread: false }).pipe(
    Layer.provideMerge(Layer.mergeAll(MemoryCausalLog.layerMemory, NodeCryptoSignatureVerifier.layer)),
    Layer.provide(Layer.succeed(AuthorityView, { current: Effect.succeed(authority) }))
  )

  it.effect("are admitted from the admin (sets) and from members (claims)", () =>
    Effect.gen(function*() {
      const ingest = yield* Ingest.Ingest
      const set = yield* ingest.submit(envelope(admin, { type: "ClusterMembersSet", payload: setOf(a, b) }))
      const claim = yield* ingest.submit(envelope(b, { type: "LeaderTermClaimed", payload: { term: 2 } }))
      expect([set.offset, claim.offset]).toEqual([0, 1])
      expect(yield* (yield* CausalLog).endOffset).toBe(2)
    }).pipe(Effect.provide(pipeline)))

  it.effect("are refused from anyone else, with the reason", () =>
    Effect.gen(function*() {
      const ingest = yield* Ingest.Ingest
      const bySomeone = yield* Effect.flip(ingest.submit(envelope(a, { type: "ClusterMembersSet", payload: setOf(a) })))
      const byUser = yield* Effect.flip(ingest.submit(envelope(alice, { type: "LeaderTermClaimed", payload: { term: 2 } })))
      expect(bySomeone).toMatchObject({ _tag: "NotAuthorized", type: "ClusterMembersSet", reason: expect.stringMatching(/only the cluster admin may set the members/) })
      expect(byUser).toMatchObject({ _tag: "NotAuthorized", type: "LeaderTermClaimed", reason: expect.stringMatching(/only a member may claim a term/) })
      expect(yield* (yield* CausalLog).endOffset).toBe(0)
    }).pipe(Effect.provide(pipeline)))
})
