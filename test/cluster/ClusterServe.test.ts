/**
 * Three `causeway serve --log kafka --cluster-admin …` members on one Kafka log (librdkafka's
 * mock cluster), as child processes:
 *
 * - before the admin's ClusterMembersSet, /v1/cluster answers 200 with no leader and /readyz
 *   503 says the instance is not a member; after it, Kafka's group coordinator gives one
 *   member the lease, it claims term 1, and every member names the same leader;
 * - plain, commit-reveal and time-locked orders sent to different members are sealed by the
 *   leader alone: every projection's digest is the same on the three members, and each serves
 *   a receipt for the same position (orderId, batch, position, lamport, offset) signed by its
 *   own key;
 * - the leader is SIGKILLed while a batch is open: another member claims the next term within
 *   the failover bound (bench:failover measures how long), the open batch is sealed once,
 *   every acknowledged order is there with one position, the survivors' digests are equal,
 *   and a replay of each survivor's local index reaches its live digests.
 */
import { mkdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { Kafka, logLevel } from "kafkajs"
import { encodeSequence, eventHeaders, partitionFor } from "../../src/adapters/kafka/KafkaRecordCodec.ts"
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js"
import { afterAll, describe, expect, it, onTestFinished } from "vitest"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import { kafkaIndexPath } from "../../src/Config.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { commitmentOf, orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import { verifyOrderingFairness } from "../../src/domain/mempool/OrderingFairness.ts"
import { type SignedReceipt, verifyReceiptSignature } from "../../src/domain/mempool/Receipt.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { signRound } from "../../src/domain/timelock/BeaconVerification.ts"
import { encryptToRound } from "../../src/domain/timelock/Tlock.ts"
import { projections } from "../../src/main.ts"
import { replay } from "../../src/projections/ProjectionRunner.ts"
import { cleanup, eventually, getJson, type Server, startServer, tempDir } from "../cli/support/cli.ts"
import { freshPrefix, startBroker } from "../kafka/support/TestBroker.ts"
import { order, salt } from "../mempool/support.ts"
import { infoJson, startDrandServer } from "../timelock/drandServer.ts"
import { testBeacon } from "../support/beaconKey.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"

const choice = await startBroker()
afterAll(cleanup)

const admin = testKey("cluster-admin")
const users = ["ana", "ben", "cat", "dan", "eve", "fay"].map((l) => testKey(`cluster-${l}`))
const operator = testKey("cluster-operator")
const beacon = testBeacon(9)
const chain = LocalBeacon.chainInfoOf(beacon)

const nonces = new Map<string, number>()
const lamports = { next: 1 }
/** Sign and post a message to one member; its id (201 expected). */
const post = async (url: string, key: KeyFile, type: MessageType, payload: unknown, deps: ReadonlyArray<string> = []): Promise<MessageId> => {
  const nonce = (nonces.get(key.publicKey) ?? 0) + 1
  nonces.set(key.publicKey, nonce)
  // Far enough above every record's Lamport time (the members' clocks follow the log).
  const env = envelope(key, { type, payload, nonce, lamport: 1_000 + lamports.next++ * 10, deps: [...deps].sort() as Array<MessageId> })
  const r = await fetch(`${url}/v1/messages`, { method: "POST", body: JSON.stringify(env), headers: { "content-type": "application/json" } })
  expect(r.status, await r.text()).toBe(201)
  return idOf(env)
}

interface ProjectionStatus {
  readonly name: string
  readonly offset: number
  readonly digest: string
}

const cluster = (s: Server) => getJson(`${s.url}/v1/cluster`).then((r) => r.body)
const projectionsOf = (s: Server) => getJson(`${s.url}/v1/projections`).then((r) => r.body as Array<ProjectionStatus>)

/** Wait until every server has folded the same offset, and answer each one's digests there. */
const settled = async (servers: ReadonlyArray<Server>, timeoutMs = 20_000) => {
  const all = await eventually(
    () => Promise.all(servers.map(projectionsOf)),
    (ps) => {
      const offsets = ps.flatMap((p) => p.map((x) => x.offset))
      return offsets.length > 0 && offsets.every((o) => o === offsets[0])
    },
    timeoutMs
  )
  return all.map((p) => Object.fromEntries(p.map((x) => [x.name, x.digest])))
}

if ("skipped" in choice) {
  describe.skip(`cluster (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())

  describe(`a cluster of three members (${broker.kind})`, () => {
    it("elects one leader through Kafka, agrees on every digest and receipt, and fails over when the leader is killed", async () => {
      const prefix = freshPrefix("cluster")
      await broker.createTopics(prefix, 3)
      // The beacon every member serves: an in-process relay of a drand-compatible chain (drand's
      // HTTP API), signing a round only once it is due.
      const relay = await startDrandServer({
        info: (hash) => (hash === chain.chainHash ? { json: infoJson(chain) } : { status: 404 }),
        round: (hash, n) => {
          if (hash !== chain.chainHash || n > roundAt(chain, Date.now())) return { status: 404 }
          const signature = signRound(beacon.secretKey, n)
          return { json: { round: n, signature, randomness: bytesToHex(sha256(hexToBytes(signature))) } }
        }
      })
      onTestFinished(() => relay.close())
      const dirs = [0, 1, 2].map((i) => {
        const d = join(tempDir(), `member-${i}`)
        mkdirSync(d, { recursive: true, mode: 0o700 })
        return d
      })
      const args = (dir: string) => [
        "--port", "0", "--data-dir", dir, "--log", "kafka", "--brokers", broker.brokers.join(","), "--topic-prefix", prefix,
        "--cluster-admin", admin.publicKey, "--beacon", "drand", "--drand-url", relay.baseUrl, "--drand-chain-hash", chain.chainHash,
        "--batch-window-ms", "500"
      ]
      const servers = await Promise.all(dirs.map((d) => startServer(d, { args: args(d) })))
      try {
        // Before the admin names the members: no leader, not ready, and why.
        const before = await Promise.all(servers.map(cluster))
        for (const c of before) expect(c).toMatchObject({ mode: "cluster", admin: admin.publicKey, leader: null, term: 0, isMember: false })
        const notReady = await getJson(`${servers[0]!.url}/readyz`)
        expect(notReady.status).toBe(503)
        expect(notReady.body.reason).toContain("is not a member of the cluster")
        // Nobody but the admin may set the members.
        const keys = before.map((c) => c.instance as string)
        const forged = envelope(users[0]!, { type: "ClusterMembersSet", payload: { members: keys }, nonce: 1, lamport: 1 })
        const refused = await fetch(`${servers[0]!.url}/v1/messages`, { method: "POST", body: JSON.stringify(forged), headers: { "content-type": "application/json" } })
        expect(refused.status).toBe(403)
        expect(await refused.json()).toMatchObject({ _tag: "NotAuthorized" })

        await post(servers[1]!.url, admin, "ClusterMembersSet", { members: keys })
        const elected = await eventually(
          () => Promise.all(servers.map(cluster)),
          (cs) => cs.every((c) => c.leader !== null && c.leader === cs[0].leader && c.term === cs[0].term),
          30_000
        )
        const leaderKey = elected[0].leader as string
        expect(keys).toContain(leaderKey)
        expect(elected.map((c) => c.isLeader)).toEqual(keys.map((k) => k === leaderKey))
        for (const s of servers) await eventually(() => getJson(`${s.url}/readyz`), (r) => r.status === 200, 15_000)

        // The leader registers the operator (a member that does not lead refuses to); every member folds it.
        const register = (i: number) =>
          fetch(`${servers[i]!.url}/v1/operators`, {
            method: "POST",
            body: JSON.stringify({ operator: operator.publicKey }),
            headers: { "content-type": "application/json", authorization: `Bearer ${readFileSync(join(dirs[i]!, "api-token"), "utf8").trim()}` }
          })
        const follower = await register((keys.indexOf(leaderKey) + 1) % 3)
        expect([follower.status, ((await follower.json()) as { _tag: string })._tag]).toEqual([409, "NotOperatorAuthority"])
        const registered = await register(keys.indexOf(leaderKey))
        expect(registered.status, await registered.clone().text()).toBe(201)
        for (const s of servers) {
          await eventually(() => getJson(`${s.url}/v1/operators`), (r) => r.body?.operators?.some((o: { operator: string }) => o.operator === operator.publicKey), 15_000)
        }

        // Orders of every kind, each to another member; an operator's intent over two of them.
        const plain = await Promise.all(servers.map((s, i) => post(s.url, users[i]!, "UserOrder", order(i + 1))))
        const now = Date.now()
        const intentId = await post(servers[2]!.url, operator, "ComputationIntent", { orderIds: [plain[0], plain[1]], windowStart: now - 10_000, windowEnd: now + 200_000 })
        // An order after it, so the batch holding the intent is not left empty and unsealed.
        await post(servers[0]!.url, users[5]!, "UserOrder", order(12))
        const committed = order(10)
        const commitSalt = salt("cluster-commit")
        const commitId = await post(servers[2]!.url, users[3]!, "OrderCommitment", { commitment: commitmentOf(committed, commitSalt) })
        const round = roundAt(chain, Date.now()) + 2
        const lockedId = await post(servers[0]!.url, users[4]!, "TimelockedOrder", { scheme: "tlock", round, ciphertext: encryptToRound(chain, round, orderBytes(order(11))) })
        // The reveal names the seal of its commitment's batch, once it is sealed.
        const commitView = await eventually(() => getJson(`${servers[1]!.url}/v1/mempool/orders/${commitId}`), (r) => typeof r.body?.sealId === "string", 15_000)
        const seal0 = commitView.body.sealId as string
        await post(servers[1]!.url, users[3]!, "OrderReveal", { commitmentId: commitId, order: committed, salt: commitSalt }, [seal0])
        for (const id of [...plain, commitId, lockedId]) {
          for (const s of servers) await eventually(() => getJson(`${s.url}/v1/mempool/orders/${id}`), (r) => r.body?.status === "revealed", 20_000)
        }

        await eventually(() => getJson(`${servers[1]!.url}/v1/operators/intents/${intentId}`), (r) => r.body?.status === "held", 20_000)
        // The operator's match proposal, sent to a member that does not lead: the leader's
        // settlement decides it, and every member shows the same verdict.
        const proposal = await post(servers[(keys.indexOf(leaderKey) + 1) % 3]!.url, operator, "MatchProposal", {
          orders: [plain[0], plain[1]].map((id, i) => ({ orderId: id, amountIn: `${7_700_000_000 + i + 1}`, amountOut: `${9_900_000_000 + i + 1}` }))
        })
        for (const s of servers) {
          for (const id of [plain[0], plain[1]]) {
            await eventually(() => getJson(`${s.url}/v1/mempool/orders/${id}`), (r) => r.body?.status === "matched", 20_000)
          }
        }
        const verdicts = ((await getJson(`${servers[0]!.url}/v1/messages/${proposal}/dependents`)).body as Array<{ type: string; sender: string }>)
        expect(verdicts.map((v) => [v.type, v.sender])).toEqual([["OrdersMatched", leaderKey]])

        // One state: every projection's digest, and every order's receipt.
        const digests = await settled(servers)
        expect(digests[1]).toEqual(digests[0])
        expect(digests[2]).toEqual(digests[0])
        for (const id of [...plain, commitId, lockedId]) {
          const receipts = await Promise.all(servers.map((s) => getJson(`${s.url}/v1/mempool/orders/${id}/receipt`).then((r) => r.body as SignedReceipt)))
          const facts = receipts.map(({ orderId, batch, position, lamport, offset }) => ({ orderId, batch, position, lamport, offset }))
          expect(facts[1]).toEqual(facts[0])
          expect(facts[2]).toEqual(facts[0])
          expect(receipts.map((r) => r.instance)).toEqual(keys)
          expect(receipts.every(verifyReceiptSignature)).toBe(true)
        }
        // A client checks an ordering with receipts from different members and the membership
        // it reads from /v1/cluster.
        const ids = [...plain, commitId, lockedId]
        const mixed = await Promise.all(ids.map((id, i) => getJson(`${servers[i % 3]!.url}/v1/mempool/orders/${id}/receipt`).then((r) => r.body as SignedReceipt)))
        const processing = [...mixed].sort((a, b) => a.batch - b.batch || a.position - b.position).map((r) => r.orderId)
        expect(verifyOrderingFairness(processing, mixed, { members: elected[0].members })).toMatchObject({ _tag: "Success" })
        expect(verifyOrderingFairness(processing, mixed)).toMatchObject({ _tag: "Failure" })

        // Only the leader sealed.
        const log = (await getJson(`${servers[0]!.url}/v1/messages?fromLamport=0&limit=1000`)).body as Array<{ type: string; sender: string }>
        const sealers = new Set(log.filter((r) => r.type === "BatchSealed").map((r) => r.sender))
        expect([...sealers]).toEqual([leaderKey])

        // The leader dies while a batch is open.
        const leaderIndex = keys.indexOf(leaderKey)
        const survivors = servers.filter((_, i) => i !== leaderIndex)
        const during = await Promise.all(survivors.map((s, i) => post(s.url, users[5 - i]!, "UserOrder", order(20 + i))))
        const openBatch = (await getJson(`${survivors[0]!.url}/v1/mempool/orders/${during[0]}`)).body.batch as number
        const killedAt = Date.now()
        servers[leaderIndex]!.child.kill("SIGKILL")
        await servers[leaderIndex]!.exited
        // How long this takes is bench:failover's to measure (no timed assertion here).
        const sealed = await eventually(() => getJson(`${survivors[0]!.url}/v1/mempool/batches/${openBatch}`), (r) => r.status === 200, 90_000).catch(async (e) => {
          const views = await Promise.all(survivors.map(cluster))
          throw new Error(`${String(e)}\nsurvivors' cluster views: ${JSON.stringify(views)}\nlogs:\n${survivors.map((s) => (s.stdout() + s.stderr()).split("\n").filter((l) => /leader|lease|term|seal|election|kafka|warn|error/i.test(l)).slice(-40).join("\n")).join("\n----\n")}`)
        })
        const failoverMs = Date.now() - killedAt
        const after = await Promise.all(survivors.map(cluster))
        expect(after[0].leader).not.toBe(leaderKey)
        expect(after[0].term).toBeGreaterThan(elected[0].term)
        expect(after[1]).toMatchObject({ leader: after[0].leader, term: after[0].term })
        // The new leader sealed it, once; every acknowledged order has one position.
        expect(sealed.body.sealId).toBeDefined()
        for (const id of [...plain, commitId, lockedId, ...during]) {
          const views = await Promise.all(survivors.map((s) => eventually(() => getJson(`${s.url}/v1/mempool/orders/${id}`), (r) => r.body?.status === "revealed" || r.body?.status === "matched", 15_000)))
          expect(views[1]?.body.batch).toBe(views[0]?.body.batch)
          expect(views[1]?.body.position).toBe(views[0]?.body.position)
        }
        const logAfter = (await getJson(`${survivors[0]!.url}/v1/messages?fromLamport=0&limit=1000`)).body as Array<{ id: string; type: string }>
        const sealIds = logAfter.filter((r) => r.type === "BatchSealed").map((r) => r.id)
        const heeded = await Promise.all(sealIds.map((_, b) => getJson(`${survivors[0]!.url}/v1/mempool/batches/${b}`)))
        expect(heeded.every((r) => r.status === 200 || r.status === 404)).toBe(true)
        const batchNumbers = heeded.filter((r) => r.status === 200).map((r) => r.body.batch as number)
        expect(new Set(batchNumbers).size).toBe(batchNumbers.length)

        // Records produced straight to the topics, validly signed but without the right, are
        // ignored by every survivor alike: the deposed leader's seal of the open batch, a term
        // claimed by a non-member, a member set from a key that is not the admin's.
        const deposed = JSON.parse(readFileSync(join(dirs[leaderIndex]!, "instance.key"), "utf8")) as KeyFile
        const openNow = (await getJson(`${survivors[0]!.url}/v1/mempool/orders/${await post(survivors[0]!.url, users[0]!, "UserOrder", order(30))}`)).body.batch as number
        const lamportNow = 1_000 + lamports.next++ * 10 + 100_000
        const rogue = [
          envelope(deposed, { type: "BatchSealed", payload: { batch: openNow, sealedAt: Date.now(), beaconRound: null }, nonce: 1_000_000, lamport: lamportNow }),
          envelope(users[1]!, { type: "LeaderTermClaimed", payload: { term: after[0].term + 1 }, nonce: 1_000_000, lamport: lamportNow }),
          envelope(users[2]!, { type: "ClusterMembersSet", payload: { members: [users[2]!.publicKey] }, nonce: 1_000_000, lamport: lamportNow })
        ]
        const kafka = new Kafka({ clientId: "cluster-forger", brokers: [...broker.brokers], logLevel: logLevel.NOTHING })
        const producer = kafka.producer()
        await producer.connect()
        try {
          for (const e of rogue) {
            const r = recordOf(e)
            const partition = partitionFor(r.sender, 3)
            const sent = await producer.send({ topic: `${prefix}events`, acks: -1, messages: [{ partition, key: r.sender, value: r.body, headers: eventHeaders(r, 1_000_000) }] })
            await producer.send({ topic: `${prefix}sequence`, acks: -1, messages: [{ partition: 0, value: encodeSequence({ v: 1, batch: `forged-${r.id.slice(0, 8)}`, events: [[partition, Number(sent[0]?.baseOffset), r.id]] }) }] })
          }
        } finally {
          await producer.disconnect()
        }
        for (const s of survivors) {
          for (const e of rogue) await eventually(() => getJson(`${s.url}/v1/messages/${idOf(e)}`), (r) => r.status === 200, 15_000)
          const seal = await getJson(`${s.url}/v1/mempool/orders/${idOf(rogue[0]!)}`)
          expect(seal.body).toMatchObject({ kind: "message", accepted: false, reason: "only the current term's leader may author this event" })
          expect(await cluster(s)).toMatchObject({ leader: after[0].leader, term: after[0].term, members: [...keys].sort() })
        }

        const survivorDigests = await settled(survivors)
        expect(survivorDigests[1]).toEqual(survivorDigests[0])
        // Replay of each survivor's local index reaches its live digests.
        for (const [i, s] of survivors.entries()) {
          const live = await projectionsOf(s)
          const dir = dirs[servers.indexOf(s)]!
          const replayed = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
            const index = yield* SqliteCausalLog.make({ path: kafkaIndexPath(dir), readOnly: true })
            return yield* replay(index, projections({ instanceKey: after[i].instance, clusterAdmin: admin.publicKey }), { to: live[0]!.offset })
          })))
          expect(replayed.digests).toEqual(Object.fromEntries(live.map((p) => [p.name, p.digest])))
        }
        console.log(JSON.stringify({ failoverMs, killedAt: new Date(killedAt).toISOString() }))
        if (process.env.CLUSTER_TEST_LOGS === "1") for (const sv of survivors) console.log(sv.stdout().split("\n").filter((l) => /leader|lease|term|seal|election|kafka/i.test(l)).slice(-25).join("\n"))
      } finally {
        await Promise.all(servers.map((s) => s.stop("SIGKILL").catch(() => undefined)))
      }
    }, 300_000)
  })
}
