/**
 * GET /v1/senders/{key} and the ban at POST /v1/messages against a real server: a sender that
 * leaves its commitments unrevealed (the instance's CommitmentExpired, here by hand: this
 * server runs no sealer) sees its score fall with the reasons, and once banned its next
 * message is refused 403 SenderBanned.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import { instanceKeyPath } from "../../src/Config.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { commitmentOf } from "../../src/domain/mempool/OrderBytes.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { order, salt } from "../mempool/support.ts"
import * as Server from "./support/server.ts"

const timeout = { timeout: "60 seconds" } as const
const mallory = testKey("senders-mallory")
const clean = testKey("senders-clean")

describe("sender scores over HTTP", () => {
  layer(Server.layer(), { excludeTestServices: true, ...timeout })((it) => {
    it.effect("commitments left unrevealed lower the score with reasons; at the ban the next message is 403 SenderBanned", () =>
      Effect.gen(function*() {
        const { dataDir } = yield* Server.TestServer
        const instance = yield* InstanceKeyFile.loadOrCreate(instanceKeyPath(dataDir))
        let lamport = 0
        const nonces = new Map<string, number>()
        const signed = (key: KeyFile, type: MessageType, payload: unknown, deps: ReadonlyArray<string> = []) => {
          const nonce = (nonces.get(key.publicKey) ?? 0) + 1
          nonces.set(key.publicKey, nonce)
          lamport += 10
          return envelope(key, { type, payload, nonce, lamport, deps: [...deps].sort() as Array<MessageId> })
        }
        const submit = (key: KeyFile, type: MessageType, payload: unknown, deps: ReadonlyArray<string> = []) =>
          Effect.gen(function*() {
            const e = signed(key, type, payload, deps)
            const [r] = yield* Server.seed([e])
            return { id: idOf(e), offset: r!.offset }
          })
        const standing = (key: string, holds: (json: any) => boolean = () => true) =>
          Server.eventually(Server.get(`/v1/senders/${key}`), (r) => r.status === 200 && holds(r.json))

        const fresh = yield* standing(clean.publicKey)
        expect(fresh.json).toEqual({ sender: clean.publicKey, score: 100, rateFactor: 1, banned: false, reasons: [], asOfBatch: 0 })
        const bad = yield* Server.get("/v1/senders/not-a-key")
        expect([bad.status, bad.json._tag]).toEqual([400, "InvalidRequest"])

        const commits = []
        for (const n of [1, 2, 3, 4]) commits.push(yield* submit(mallory, "OrderCommitment", { commitment: commitmentOf(order(n), salt(`m${n}`)) }))
        yield* submit(instance, "BatchSealed", { batch: 0, sealedAt: Date.now(), beaconRound: null })
        yield* submit(instance, "CommitmentExpired", { commitmentIds: commits.slice(0, 3).map((c) => c.id), at: Date.now() })
        const lowered = yield* standing(mallory.publicKey, (j) => j.score < 100)
        expect(lowered.json).toEqual({
          sender: mallory.publicKey,
          score: 40,
          rateFactor: 0.25,
          banned: false,
          reasons: [{ kind: "unrevealedCommitment", count: 3, weight: 20 }],
          asOfBatch: 1
        })
        // Not banned yet: a plain order is taken.
        yield* submit(mallory, "UserOrder", order(9))

        yield* submit(instance, "CommitmentExpired", { commitmentIds: [commits[3]!.id], at: Date.now() })
        const banned = yield* standing(mallory.publicKey, (j) => j.banned === true)
        expect(banned.json).toMatchObject({ score: 20, rateFactor: 0, banned: true, reasons: [{ kind: "unrevealedCommitment", count: 4, weight: 20 }] })

        const refused = yield* Server.post(signed(mallory, "UserOrder", order(10)))
        expect(refused.status).toBe(403)
        expect(refused.json).toMatchObject({ _tag: "SenderBanned", score: 20 })
        expect(refused.json.reason).toContain("score is 20, below 25")
        // Another sender is not affected.
        yield* submit(clean, "UserOrder", order(11))
        expect((yield* standing(clean.publicKey)).json).toMatchObject({ score: 100, asOfBatch: 1 })
      }))
  })
})
