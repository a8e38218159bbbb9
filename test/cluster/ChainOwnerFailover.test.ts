/**
 * A chain observed by one member of three, chosen by rendezvous hashing over the live members:
 * three `causeway serve --log kafka --cluster-admin … --evm-rpc <anvil>` members on the mock
 * cluster. The leader assigns the chain to one member (ChainOwnersAssigned); only that member
 * publishes its heads. The owner is SIGKILLed after the heads of two new blocks are in the
 * log, and anvil replaces those two blocks (anvil_reorg) while it is down: the chain moves to
 * the next member by HRW over the survivors, which resumes from the chain-state projection's
 * head, reports the reorg it did not see happen, and publishes no head twice.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { Effect, Exit, Scope } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import type * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import { hrwOwner } from "../../src/domain/cluster/Authority.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { cleanup, eventually, getJson, type Server, startServer, tempDir } from "../cli/support/cli.ts"
import { anvil } from "../evm/support/Anvil.ts"
import { freshPrefix, startBroker } from "../kafka/support/TestBroker.ts"
import { testBeacon, writeBeaconKey } from "../support/beaconKey.ts"
import { envelope, testKey } from "../support/fixtures.ts"

const choice = await startBroker()
afterAll(cleanup)

const admin = testKey("chain-owner-admin")
const beacon = testBeacon(7)

const cluster = (s: Server) => getJson(`${s.url}/v1/cluster`).then((r) => r.body)
const chainOf = (s: Server) => getJson(`${s.url}/v1/chains/anvil`).then((r) => r.body)

if ("skipped" in choice) {
  describe.skip(`chain ownership (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())

  describe(`a chain observed by one member of three (${broker.kind})`, () => {
    it("moves to the next member by HRW when its owner dies; the new owner resumes from the log, reports the reorg it missed, publishes nothing twice", async () => {
      const scope = Effect.runSync(Scope.make())
      const node = await Effect.runPromise(anvil().pipe(Scope.provide(scope)))
      const servers: Array<Server> = []
      try {
        await node.rpc("anvil_mine", ["0x3"])
        const prefix = freshPrefix("chain-owner")
        await broker.createTopics(prefix, 3)
        const shared = join(tempDir(), "beacon.key")
        writeBeaconKey(shared, beacon)
        for (let i = 0; i < 3; i++) {
          const dir = join(tempDir(), `member-${i}`)
          mkdirSync(dir, { recursive: true, mode: 0o700 })
          servers.push(await startServer(dir, {
            args: [
              "--port", "0", "--data-dir", dir, "--log", "kafka", "--brokers", broker.brokers.join(","), "--topic-prefix", prefix,
              "--cluster-admin", admin.publicKey, "--beacon-key", shared,
              "--evm-rpc", node.url, "--evm-chain-id", "anvil", "--evm-confirmations", "3"
            ]
          }))
        }
        const keys = (await Promise.all(servers.map(cluster))).map((c) => c.instance as string)
        const set = envelope(admin, { type: "ClusterMembersSet", payload: { members: keys }, nonce: 1, lamport: 1 })
        const posted = await fetch(`${servers[0]!.url}/v1/messages`, { method: "POST", body: JSON.stringify(set), headers: { "content-type": "application/json" } })
        expect(posted.status, await posted.text()).toBe(201)

        // The leader assigns the chain to the member rendezvous hashing picks among the live ones:
        // once the three are in the election's group, the one HRW picks among the three.
        const owner = hrwOwner("anvil", keys) as string
        const assigned = await eventually(
          () => Promise.all(servers.map(cluster)),
          (cs) => cs.every((c) => c.owners.length === 1 && c.owners[0].owner === owner && c.leader !== null),
          30_000
        )
        expect(assigned[0].chains).toEqual(["anvil"])
        const ownerIndex = keys.indexOf(owner)
        const survivors = servers.filter((_, i) => i !== ownerIndex)

        // Heads of blocks 4 and 5 reach every member from the owner.
        await node.rpc("anvil_mine", ["0x2"])
        for (const s of servers) await eventually(() => chainOf(s), (c) => c?.latest?.height === 5, 30_000)
        const before = await chainOf(survivors[0]!)
        expect(before.reorgCount).toBe(0)

        // The owner dies; meanwhile blocks 4 and 5 are replaced and block 6 is mined.
        servers[ownerIndex]!.child.kill("SIGKILL")
        await servers[ownerIndex]!.exited
        await node.rpc("anvil_reorg", [2, []])
        await node.rpc("anvil_mine", ["0x1"])
        const tip = await node.rpc("eth_getBlockByNumber", ["latest", false])

        // Once the group has dropped the dead owner, the leader assigns the chain by HRW over
        // the two survivors (a rebalance may pass through a group of one first, and the chain
        // with it).
        const next = hrwOwner("anvil", keys.filter((k) => k !== owner)) as string
        const moved = await eventually(
          () => Promise.all(survivors.map(cluster)),
          (cs) => cs.every((c) => c.owners[0]?.owner === next),
          90_000
        )
        const after = await Promise.all(survivors.map((s) => eventually(() => chainOf(s), (c) => c?.latest?.height === Number(tip.number) && c.reorgCount >= 1, 30_000)))
        expect(after[0].latest.hash).toBe(String(tip.hash).replace(/^0x/, ""))
        expect(after[1].latest).toEqual(after[0].latest)
        expect(after[0].reorgs.at(-1)).toMatchObject({ forkHeight: 3 })

        // No head is in the log twice, and every head after the move is the new owner's.
        const log = (await getJson(`${survivors[0]!.url}/v1/messages?fromLamport=0&limit=1000`)).body as Array<{ id: string; type: string; sender: string; offset: number; envelope: { payload: { chain: string; height: number; hash: string } } }>
        const heads = log.filter((r) => r.type === "ChainHeadVerified")
        const reassignedAt = moved[0].ownersAt as number
        // Every head is from the chain's owner at its place in the log (an unassigned chain is
        // observed by nobody), and no head is in the log twice.
        const assignments = (log as unknown as Array<{ type: string; offset: number; envelope: { payload: { owners: Array<{ chain: string; owner: string }> } } }>)
          .filter((r) => r.type === "ChainOwnersAssigned")
          .sort((a, b) => a.offset - b.offset)
        const ownerAt = (offset: number) => assignments.filter((a) => a.offset < offset).at(-1)?.envelope.payload.owners.find((o) => o.chain === "anvil")?.owner
        expect(heads.map((h) => h.sender === ownerAt(h.offset))).toEqual(heads.map(() => true))
        const seen = heads.map((h) => `${h.envelope.payload.height}:${h.envelope.payload.hash}`)
        expect(new Set(seen).size).toBe(seen.length)
        expect(heads.filter((h) => h.offset > reassignedAt).every((h) => h.sender === next)).toBe(true)
        expect(heads.some((h) => h.offset > reassignedAt)).toBe(true)
        expect(idOf(set)).toMatch(/^[0-9a-f]{64}$/)
      } finally {
        await Promise.all(servers.map((s) => s.stop("SIGKILL").catch(() => undefined)))
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    }, 300_000)
  })
}
