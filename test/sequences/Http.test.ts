/**
 * Registers and sequences on a real server (SQLite, the composition root's wiring): two
 * operators race deltas on one previous hash and GET /v1/registers shows one applied and the
 * other refused with the reason; ?since= answers the deltas since a known hash or the full
 * state for an unknown one; a stranger's update is refused at ingest; a sequence shows each
 * node's status and suggested claimant, and its events stream resumes after Last-Event-ID.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { applyDelta, stateHashOf } from "../../src/domain/registers/Registers.ts"
import { suggestedClaimant } from "../../src/domain/sequences/Rendezvous.ts"
import * as Server from "../http/support/server.ts"
import { connect, type SseConnection, type SseEvent } from "../http/support/sse.ts"
import { envelope, testKey } from "../support/fixtures.ts"

const [alice, bob, stranger] = ["regs-alice", "regs-bob", "regs-stranger"].map((l) => testKey(l)) as [KeyFile, KeyFile, KeyFile]
const nonces = new Map<string, number>()

/** Sign and submit; the receipt, or the rejection's status and body. */
const submit = (key: KeyFile, type: MessageType, payload: unknown) =>
  Effect.gen(function*() {
    const nonce = (nonces.get(key.publicKey) ?? 0) + 1
    const r = yield* Server.post(envelope(key, { type, payload, nonce }))
    if (r.status === 201) nonces.set(key.publicKey, nonce)
    return r
  })

/** Read `count` sequence events, skipping keep-alive comments. */
const take = async (stream: SseConnection, count: number): Promise<ReadonlyArray<SseEvent>> => {
  const out: Array<SseEvent> = []
  while (out.length < count) {
    const e = await stream.next()
    if (e === null) throw new Error(`stream ended after ${out.length} of ${count} events`)
    if (e.event === "sequence") out.push(e)
  }
  return out
}

const postJson = (path: string, body: unknown) => Server.request("POST", path, { body: JSON.stringify(body), headers: { "content-type": "application/json" } })

/** Wait until the named projection has folded the whole log. */
const settled = (name: string) =>
  Effect.gen(function*() {
    const end = (yield* Server.get("/v1/projections/log-index")).json.offset as number
    yield* Server.eventually(Server.get("/v1/projections"), (r) => r.json.find((p: { name: string }) => p.name === name)?.offset >= end)
  })

describe("registers and sequences over HTTP", () => {
  layer(Server.layer(), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("racing deltas, lazy loading, sequences with suggestions and a resumable event stream", () =>
      Effect.gen(function*() {
        const { base } = yield* Server.TestServer
        for (const k of [alice, bob]) expect((yield* postJson("/v1/operators", { operator: k.publicKey })).status).toBe(201)

        const v0 = { n: 0 }
        const h0 = stateHashOf(v0)
        expect((yield* submit(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: null, newStateHash: h0, fullState: v0 })).status).toBe(201)
        const refused = yield* submit(stranger, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h0, fullState: v0 })
        expect(refused.status).toBe(403)
        expect(refused.json._tag).toBe("OperatorNotRegistered")
        const d1 = [{ op: "set", key: "n", value: 1 }] as const
        const d2 = [{ op: "set", key: "n", value: 2 }] as const
        const h1 = stateHashOf(applyDelta(v0, d1))
        const won = yield* submit(alice, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: h1, delta: d1 })
        const lost = yield* submit(bob, "RegisterUpdated", { registerId: "r1", previousStateHash: h0, newStateHash: stateHashOf(applyDelta(v0, d2)), delta: d2 })
        yield* settled("registers")

        const r = yield* Server.get("/v1/registers/r1")
        expect(r.status).toBe(200)
        expect(r.json).toMatchObject({ registerId: "r1", hash: h1, version: 2, kind: "full", contents: { n: 1 } })
        expect(r.json.recent.map((o: { id: string; status: string }) => [o.id, o.status]).slice(1)).toEqual([[won.json.id, "applied"], [lost.json.id, "refused"]])
        expect(r.json.recent[2].reason).toContain("is not register r1's current state")
        const since = yield* Server.get(`/v1/registers/r1?since=${h0}`)
        expect(since.json).toMatchObject({ kind: "deltas", since: h0, updates: [{ id: won.json.id, previousStateHash: h0, newStateHash: h1, delta: d1, fullState: null }] })
        expect((yield* Server.get(`/v1/registers/r1?since=${h1}`)).json).toMatchObject({ kind: "deltas", updates: [] })
        expect((yield* Server.get(`/v1/registers/r1?since=${"0".repeat(64)}`)).json).toMatchObject({ kind: "full", contents: { n: 1 } })
        expect((yield* Server.get("/v1/registers/r2")).status).toBe(404)

        // A sequence: statuses and suggestions.
        const nodes = [{ id: "a", deps: [], spec: 1 }, { id: "b", deps: ["a"], spec: 2 }]
        expect((yield* submit(alice, "ExecutionSequenceAnnounced", { sequenceId: "s1", nodes, leaseMs: 60_000 })).status).toBe(201)
        const cyclic = yield* submit(alice, "ExecutionSequenceAnnounced", { sequenceId: "s2", nodes: [{ id: "a", deps: ["b"], spec: 1 }, { id: "b", deps: ["a"], spec: 2 }] })
        expect(cyclic.status).toBe(400)
        expect(cyclic.json.reason).toContain("cycle")
        const claim = yield* submit(bob, "NodeClaimed", { sequenceId: "s1", nodeId: "a" })
        const early = yield* submit(alice, "NodeClaimed", { sequenceId: "s1", nodeId: "b" })
        yield* settled("sequences")
        const s = yield* Server.get("/v1/sequences/s1")
        expect(s.status).toBe(200)
        const operators = [alice.publicKey, bob.publicKey]
        expect(s.json).toMatchObject({ sequenceId: "s1", status: "running", leaseMs: 60_000 })
        expect(s.json.nodes.map((n: { id: string; status: string; suggestedClaimant: string }) => [n.id, n.status, n.suggestedClaimant])).toEqual([
          ["a", "claimed", suggestedClaimant(operators, "s1", "a")],
          ["b", "blocked", suggestedClaimant(operators, "s1", "b")]
        ])

        // The events stream: everything kept, then resumption after an event.
        const stream = yield* Effect.promise(() => connect(`${base}/v1/sequences/s1/events`))
        expect(stream.status).toBe(200)
        const events = yield* Effect.promise(() => take(stream, 3))
        stream.close()
        const parsed = events.map((e) => ({ id: e.id, ...JSON.parse(e.data as string) }))
        expect(parsed.map((e) => [e.type, e.accepted])).toEqual([["ExecutionSequenceAnnounced", true], ["NodeClaimed", true], ["NodeClaimed", false]])
        expect(parsed[2].id).toBe(early.json.id)
        expect(parsed[2].reason).toContain("waits for a")
        const resumed = yield* Effect.promise(() => connect(`${base}/v1/sequences/s1/events`, { "last-event-id": String(parsed[1].offset) }))
        const after = yield* Effect.promise(() => take(resumed, 1))
        expect(JSON.parse(after[0]?.data as string).id).toBe(early.json.id)
        // A new record reaches an open stream.
        const answer = yield* submit(bob, "NodeResultSubmitted", { sequenceId: "s1", nodeId: "a", claimId: claim.json.id, result: "done" })
        const live = yield* Effect.promise(() => take(resumed, 1))
        resumed.close()
        expect(JSON.parse(live[0]?.data as string)).toMatchObject({ id: answer.json.id, nodeId: "a", accepted: true })
      }))
  })
})
