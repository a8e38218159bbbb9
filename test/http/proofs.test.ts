/**
 * Shared proofs through a real server (issue #15, docs/proofs.md): a 1 MiB Groth16 proof
 * (a valid case of test/vectors/groth16, its proof.json padded with JSON whitespace) announced
 * in 32 shares that arrive out of order, some twice, over POST /v1/messages, is assembled,
 * verified once by the leader on its worker thread and served by GET /v1/proofs/{commitment}
 * (and followed over GET /v1/proofs/events, resumable); the same claim announced again is not
 * verified again; a share whose bytes change the hash refuses the whole proof; missing shares
 * expire; POST /v1/proofs/verify checks a proof with a `proofs` token and publishes nothing;
 * and a replay of the server's log from offset 0 (the projections alone, no verifier) reaches
 * the digests the server reports. Every answer is checked against the OpenAPI document.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { OpenApi } from "effect/http-api"
import { Api } from "../../src/adapters/http/Api.ts"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import { logPath } from "../../src/Config.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { MAX_PENDING_PER_ANNOUNCER } from "../../src/domain/proofs/ProofFold.ts"
import { projections } from "../../src/main.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { PROOFS } from "../../src/projections/Proofs/Proofs.ts"
import { changedShare, groth16Case, sharedProof, shuffled } from "../proofs/support/proofCase.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { mismatch, operationOf } from "./support/openapiDocument.ts"
import * as Server from "./support/server.ts"
import { connect, type SseEvent } from "./support/sse.ts"

const doc = OpenApi.fromApi(Api)
const MiB = 1024 * 1024
const operator = testKey("http-proof-operator")
const stranger = testKey("http-proof-stranger")
const valid = groth16Case("co-snarks/bn254-multiplier2")
const tampered = groth16Case("co-snarks/bn254-multiplier2/tamper/public0-plus-1")

/** Send, and check the answer's status and body against the document. */
const call = (method: string, url: string, status: number, init: { readonly body?: unknown; readonly token?: string | null } = {}) =>
  Effect.gen(function*() {
    const r = yield* Server.request(method, url, {
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body), headers: { "content-type": "application/json" } }),
      ...(init.token === undefined ? {} : { token: init.token })
    })
    expect(r.status, `${method} ${url}: ${r.text.slice(0, 400)}`).toBe(status)
    const found = operationOf(doc, method, url.split("?")[0] as string)
    const schema = (found?.op.responses as Record<string, any> | undefined)?.[String(status)]?.content?.["application/json"]?.schema
    expect(schema, `${method} ${url} declares ${status}`).toBeDefined()
    expect(mismatch(doc, schema, r.json), r.text.slice(0, 300)).toBeUndefined()
    return r.json
  })

const nonces = new Map<string, number>()
const signed = (type: MessageType, payload: unknown, key: KeyFile = operator) => {
  const nonce = (nonces.get(key.publicKey) ?? 0) + 1
  nonces.set(key.publicKey, nonce)
  return envelope(key, { type, payload, nonce, lamport: nonce })
}
/** One message refused at ingest: its status and tag, the reason checked against `reason`. */
const refusedAs = (key: KeyFile, type: MessageType, payload: unknown, status: number, tag: string, reason: RegExp) =>
  Effect.gen(function*() {
    const r = yield* Server.post(signed(type, payload, key))
    expect([r.status, r.json?._tag], r.text.slice(0, 300)).toEqual([status, tag])
    expect(r.json.reason).toMatch(reason)
  })
// The announcement verified in the first test.
let verifiedAnnouncement = ""
/** Submit the operator's messages as one batch: every one accepted. */
const submit = (messages: ReadonlyArray<{ readonly type: MessageType; readonly payload: unknown }>) =>
  Effect.gen(function*() {
    const envelopes = messages.map((m) => signed(m.type, m.payload))
    const r = yield* Server.post(envelopes.length === 1 ? envelopes[0] : envelopes)
    expect(r.status, r.text.slice(0, 300)).toBe(envelopes.length === 1 ? 201 : 200)
    // One message: its receipt; a batch: each one's receipt (BatchAccepted), in order.
    const receipts: ReadonlyArray<any> = envelopes.length === 1 ? [r.json] : r.json.results.map((x: any) => (x.ok === true ? x.receipt : x))
    expect(receipts.map((x) => typeof x.id), r.text.slice(0, 300)).toEqual(envelopes.map(() => "string"))
    return receipts.map((x) => x.id as string)
  })
const sharesOf = (announcementId: string, shares: ReadonlyArray<{ readonly index: number; readonly data: string }>) =>
  shares.map((s) => ({ type: "ProofShare" as const, payload: { announcementId, ...s } }))

/** GET /v1/proofs/{commitment} until the announcement is no longer pending. */
const settled = (commitment: string, announcementId: string) =>
  Effect.gen(function*() {
    while (true) {
      const r = yield* call("GET", `/v1/proofs/${commitment}`, 200)
      const a = r.announcements.find((x: any) => x.announcementId === announcementId)
      if (a !== undefined && a.status !== "gathering" && a.status !== "complete") return { answer: r, announcement: a }
      yield* Effect.sleep("20 millis")
    }
  })

/** Read `proof` events until `done` holds of those seen. */
const until = async (next: () => Promise<SseEvent | null>, done: (seen: ReadonlyArray<any>) => boolean): Promise<Array<any>> => {
  const seen: Array<any> = []
  while (true) {
    const e = await next()
    if (e === null) throw new Error("the stream ended")
    if (e.event !== "proof") continue
    seen.push({ ...JSON.parse(e.data ?? "null"), eventId: e.id })
    if (done(seen)) return seen
  }
}
const verifiedCount = (n: number) => (seen: ReadonlyArray<any>) => seen.filter((e) => e.status === "verified").length >= n

describe("shared proofs over HTTP", () => {
  layer(Server.layer({ proofDeadlineMs: 1500, tokens: { prover: ["proofs"], watcher: ["effects"] } }), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
    it.effect("1 MiB in 32 shares out of order, some twice: assembled, verified once, served, streamed; changed shares refused; missing shares expire; replay equals live", () =>
      Effect.gen(function*() {
        const server = yield* Server.TestServer
        yield* call("POST", "/v1/operators", 201, { body: { operator: operator.publicKey, name: "prover" } })
        const big = sharedProof(valid, MiB)
        expect([big.shares.length, big.proof.length]).toEqual([32, MiB])
        // The same key twice: one key, one id.
        yield* submit([{ type: "VerificationKeyRegistered", payload: big.key }, { type: "VerificationKeyRegistered", payload: big.key }])

        const stream = yield* Effect.promise(() => connect(`${server.base}/v1/proofs/events?vk=${big.vkId}`))
        expect([stream.status, stream.contentType]).toEqual([200, "text/event-stream; charset=utf-8"])
        // Two announcements of the same claim before any share: the second takes the first's verdict.
        const [ann, twin] = yield* submit([
          { type: "ProofAnnouncement", payload: big.announcement },
          { type: "ProofAnnouncement", payload: { ...big.announcement, computationId: "twin" } }
        ])
        if (ann === undefined || twin === undefined) throw new Error("no announcement")
        verifiedAnnouncement = ann
        const arrivals = shuffled([...big.shares, ...big.shares.slice(8, 12), ...big.shares.slice(31)], 21)
        expect(arrivals[0]?.index).not.toBe(0)
        // In three batches, as a client would send them: a repeat of a share held from an earlier
        // batch is refused (one within a batch is taken, and the fold ignores it:
        // test/proofs/ProofVerdicts.test.ts).
        const held = new Set<number>()
        let refusedRepeats = 0
        for (const part of [arrivals.slice(0, 12), arrivals.slice(12, 25), arrivals.slice(25)]) {
          const r = yield* Server.post(part.map((x) => signed("ProofShare", { announcementId: ann, ...x })))
          expect(r.status, r.text.slice(0, 300)).toBe(200)
          const outcomes = r.json.results.map((x: any) => (x.ok === true ? "accepted" : `${x.status} ${x.error._tag} ${x.error.reason}`))
          expect(outcomes.map((o: string) => o.replace(/ refused before it was logged: share \d+ is already held.*/u, " held"))).toEqual(
            part.map((x) => (held.has(x.index) ? "409 ProofRefused ProofShare held" : "accepted"))
          )
          refusedRepeats += part.filter((x) => held.has(x.index)).length
          for (const x of part) held.add(x.index)
        }
        expect(arrivals.length - held.size).toBe(5)
        // With this shuffle every repeat comes in a later batch than its first copy.
        expect(refusedRepeats).toBe(5)

        const { answer, announcement } = yield* settled(big.announcement.commitment, ann)
        expect(announcement).toMatchObject({
          status: "verified",
          announcer: operator.publicKey,
          vkId: big.vkId,
          publicInputs: valid.publicSignals,
          shares: 32,
          received: 32,
          bytes: MiB,
          verdict: { ok: true, reason: null, reusedFrom: null }
        })
        expect(answer.vk).toEqual(valid.vk)
        expect(Buffer.from(answer.proof, "base64").equals(Buffer.from(big.proof))).toBe(true)
        expect(answer.announcements.find((a: any) => a.announcementId === twin)).toMatchObject({ status: "verified", received: 0, verdict: { ...announcement.verdict, reusedFrom: ann } })

        // The stream told the story in log order, each event a proof as it then was (states, not
        // deltas: records folded together come as one): announced, shares counted, verified;
        // the verdict's record changed both announcements, each its own event.
        const events = yield* Effect.promise(() => until(stream.next, verifiedCount(2)))
        stream.close()
        expect(events.slice(0, 2).map((e) => [e.announcementId, e.status, e.received]).sort()).toEqual([[ann, "gathering", 0], [twin, "gathering", 0]].sort())
        const order = events.map((e) => e.eventId as string)
        const key = (id: string) => { const [o, a] = id.split("."); return [Number(o), a as string] as const }
        expect([...order].sort((x, y) => key(x)[0] - key(y)[0] || (key(x)[1] < key(y)[1] ? -1 : 1))).toEqual(order)
        expect(new Set(order).size).toBe(order.length)
        const mine = events.filter((e) => e.announcementId === ann)
        expect(mine.map((e) => e.received)).toEqual(mine.map((e) => e.received).sort((x, y) => x - y))
        expect(mine.length).toBeGreaterThan(2)
        const [lastButOne, last] = events.slice(-2)
        expect([lastButOne.status, last.status, key(lastButOne.eventId)[0]]).toEqual(["verified", "verified", key(last.eventId)[0]])
        // Resuming after the first of the two verdict events: only the second comes again.
        const resumed = yield* Effect.promise(() => connect(`${server.base}/v1/proofs/events?vk=${big.vkId}`, { "last-event-id": lastButOne.eventId }))
        const again = yield* Effect.promise(() => until(resumed.next, verifiedCount(1)))
        resumed.close()
        expect(again.map((e) => [e.status, e.eventId])).toEqual([["verified", last.eventId]])

        // The same claim announced later: the verdict at once, no verification.
        const [second] = yield* submit([{ type: "ProofAnnouncement", payload: { ...big.announcement, computationId: "again" } }])
        const reused = yield* settled(big.announcement.commitment, second as string)
        expect(reused.announcement.verdict).toEqual({ ...announcement.verdict, reusedFrom: ann })

        // A share whose bytes change the hash refuses the whole proof.
        const other = sharedProof(valid, MiB - 3, { computationId: "changed" })
        const [changed] = yield* submit([{ type: "ProofAnnouncement", payload: other.announcement }])
        yield* submit(sharesOf(changed as string, other.shares.map((s) => (s.index === 9 ? { ...s, data: changedShare(s.data) } : s))))
        const refused = yield* settled(other.announcement.commitment, changed as string)
        expect(refused.announcement).toMatchObject({ status: "refused", verdict: { ok: false, reason: expect.stringMatching(/^CommitmentMismatch: /) } })
        expect(refused.answer.proof).toBeNull()

        // Missing shares expire.
        const partial = sharedProof(valid, 100_000, { computationId: "partial" })
        const [gap] = yield* submit([{ type: "ProofAnnouncement", payload: partial.announcement }])
        yield* submit(sharesOf(gap as string, partial.shares.filter((s) => s.index !== 2)))
        const expired = yield* settled(partial.announcement.commitment, gap as string)
        expect(expired.announcement).toMatchObject({ status: "incomplete", received: 3, verdict: { ok: false, reason: expect.stringMatching(/^SharesMissing: 1 of 4 shares/) } })

        const list = yield* call("GET", `/v1/proofs?vk=${big.vkId}&computation=again`, 200)
        expect(list.proofs.map((p: any) => p.announcementId)).toEqual([second])
        // Paging: two at a time, each page after the last one's offset.
        const paged: Array<string> = []
        let afterOffset: number | undefined
        while (true) {
          const page = yield* call("GET", `/v1/proofs?limit=2${afterOffset === undefined ? "" : `&after=${afterOffset}`}`, 200)
          if (page.proofs.length === 0) break
          paged.push(...page.proofs.map((p: any) => p.announcementId))
          afterOffset = page.proofs.at(-1).offset
        }
        expect(paged).toEqual((yield* call("GET", "/v1/proofs", 200)).proofs.map((p: any) => p.announcementId))
        expect(paged).toHaveLength(5)
        yield* call("GET", `/v1/proofs/${"0".repeat(64)}`, 404)

        // Replay: the projections alone over the server's log reach the server's digests.
        const cluster = yield* call("GET", "/v1/cluster", 200)
        const live = yield* call("GET", "/v1/projections", 200)
        const { digests, verdicts } = yield* Effect.gen(function*() {
          const log = yield* CausalLog
          const end = yield* log.endOffset
          expect(end).toBe(live.find((p: any) => p.name === PROOFS).offset)
          const result = yield* ProjectionRunner.replay(log, projections({ instanceKey: cluster.instance }))
          let count = 0
          yield* log.scan(0, end, { withBody: false }, (r) => {
            if (r.type === "ProofVerified") count += 1
          })
          return { digests: result.digests, verdicts: count }
        }).pipe(Effect.provide(SqliteCausalLog.layer({ path: logPath(server.dataDir), readOnly: true })))
        for (const p of live) expect(digests[p.name], p.name).toBe(p.digest)
        // One verdict per decided announcement that needed one: verified, refused, incomplete; the reuse needed none.
        expect(verdicts).toBe(3)
      }))

    it.effect("what the fold would not count is refused at ingest, typed: strangers' shares, unknown proofs and keys, decided proofs, the pending bound", () =>
      Effect.gen(function*() {
        yield* call("POST", "/v1/operators", 201, { body: { operator: stranger.publicKey } })
        const small = sharedProof(valid, 70_000, { computationId: "guarded" })
        const [open] = yield* submit([{ type: "ProofAnnouncement", payload: small.announcement }])
        const [first] = small.shares
        if (open === undefined || first === undefined) throw new Error("no announcement")
        // Another operator's share, even one that would fit: only the announcer's count.
        yield* refusedAs(stranger, "ProofShare", { announcementId: open, ...first }, 409, "ProofRefused", /only from its announcement's announcer/)
        yield* refusedAs(operator, "ProofShare", { announcementId: "cd".repeat(32), ...first }, 409, "ProofRefused", /no proof was announced/)
        yield* refusedAs(operator, "ProofShare", { announcementId: open, index: 3, data: first.data }, 409, "ProofRefused", /beyond the announced 3 shares/)
        yield* refusedAs(operator, "ProofShare", { announcementId: verifiedAnnouncement, ...first }, 409, "ProofRefused", /the proof is verified/)
        yield* refusedAs(operator, "ProofAnnouncement", { ...small.announcement, vkId: "ef".repeat(32) }, 409, "ProofRefused", /is not registered/)
        yield* refusedAs(operator, "VerificationKeyRegistered", { proofSystem: "plonk", vk: valid.vk }, 409, "ProofRefused", /unknown proof system/)
        yield* refusedAs(operator, "VerificationKeyRegistered", { proofSystem: "groth16", vk: { protocol: "groth16" } }, 409, "ProofRefused", /verification_key/)
        // Anyone who is not an operator: refused as such.
        yield* refusedAs(testKey("http-proof-nobody"), "ProofAnnouncement", small.announcement, 403, "OperatorNotRegistered", /operators/)
        // The announcer's pending bound: `open` and three more pending, the next is refused.
        yield* submit(Array.from({ length: MAX_PENDING_PER_ANNOUNCER - 1 }, (_, i) => ({ type: "ProofAnnouncement" as const, payload: { ...small.announcement, computationId: `pending-${i}` } })))
        yield* refusedAs(operator, "ProofAnnouncement", { ...small.announcement, computationId: "one-too-many" }, 429, "TooManyPendingProofs", /4 proofs pending/)
        // Another announcer is not bounded by this one's proofs.
        const r = yield* Server.post(signed("ProofAnnouncement", { ...small.announcement, computationId: "strangers-own" }, stranger))
        expect(r.status, r.text).toBe(201)
      }))

    it.effect("POST /v1/proofs/verify: a proofs token checks a proof against a registered key, publishing nothing", () =>
      Effect.gen(function*() {
        const { tokens } = yield* Server.TestServer
        const small = sharedProof(valid, 2000)
        const body = { vkId: small.vkId, proof: valid.proof, publicInputs: valid.publicSignals }
        const before = (yield* call("GET", "/v1/projections", 200)).find((p: any) => p.name === PROOFS)
        expect(yield* call("POST", "/v1/proofs/verify", 200, { body, token: tokens.prover as string })).toEqual({ vkId: small.vkId, proofSystem: "groth16", ok: true, reason: null })
        const bad = yield* call("POST", "/v1/proofs/verify", 200, { body: { ...body, proof: tampered.proof, publicInputs: tampered.publicSignals }, token: tokens.prover as string })
        expect(bad).toMatchObject({ ok: false, reason: expect.stringMatching(/^PairingCheckFailed/) })
        yield* call("POST", "/v1/proofs/verify", 404, { body: { ...body, vkId: "ab".repeat(32) }, token: tokens.prover as string })
        yield* call("POST", "/v1/proofs/verify", 401, { body, token: null })
        yield* call("POST", "/v1/proofs/verify", 403, { body, token: tokens.watcher as string })
        const after = (yield* call("GET", "/v1/projections", 200)).find((p: any) => p.name === PROOFS)
        expect(after.digest).toBe(before.digest)
      }))
  })
})
