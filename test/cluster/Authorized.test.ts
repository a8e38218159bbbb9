/**
 * The wrapper that folds the authority beside a projection: what the inner fold sees, and
 * snapshots that carry the authority and refuse to resume under another one.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Layer, Option } from "effect"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import { type AuthorityConfig, type AuthorityState, evolveAuthority, initialAuthority } from "../../src/domain/cluster/Authority.ts"
import type { Json } from "../../src/domain/CanonicalJson.ts"
import { batchOf } from "../../src/domain/mempool/MempoolFold.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { ProjectionStore } from "../../src/ports/ProjectionStore.ts"
import { authorized } from "../../src/projections/Authorized.ts"
import { makeChainState } from "../../src/projections/ChainState/ChainState.ts"
import { makeChainWatches } from "../../src/projections/ChainWatches/ChainWatches.ts"
import { makeAssets } from "../../src/projections/Assets/Assets.ts"
import { makeRegisters } from "../../src/projections/Registers/Registers.ts"
import { makeSequences } from "../../src/projections/Sequences/Sequences.ts"
import { makeProofs } from "../../src/projections/Proofs/Proofs.ts"
import { makeCluster } from "../../src/projections/Cluster/Cluster.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import { makeOperators } from "../../src/projections/Operators/Operators.ts"
import { type AnyProjection, type Projection, digestOf, serialize } from "../../src/projections/Projection.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { order } from "../mempool/support.ts"
import { clusterConfig, clusterLog, keys, sealPayload, soloConfig } from "./support.ts"

const { admin, a, b, c, alice, bob } = keys

/**
 * A cluster's log: `a` leads term 1 and seals batch 0; `b` claims term 2, after which `a`'s
 * seal of batch 1 is late and `b`'s counts. Under a deployment of one instance `a` it is the
 * other way round, so the two fold it to different states.
 */
const scenario = () => {
  const log = clusterLog()
  log.set([a, b, c]) // 0
  log.claim(a, 1) // 1
  log.append(alice, "UserOrder", order(1)) // 2
  log.append(a, "BatchSealed", sealPayload(0)) // 3
  log.append(bob, "UserOrder", order(2)) // 4
  log.claim(b, 2) // 5
  const late = log.append(a, "BatchSealed", sealPayload(1)) // 6
  const seal = log.append(b, "BatchSealed", sealPayload(1)) // 7
  log.append(alice, "UserOrder", order(3)) // 8
  log.set([b, c]) // 9: keeps the leader, drops a
  return { log, late, seal }
}

const fold = <S>(p: Projection<S>, records: ReadonlyArray<LogRecord>, from: S = p.initialState): S => records.reduce((s, r) => p.evolve(s, r), from)

/** What the runner does with a stored snapshot: parse its canonical text and decode it. */
const resume = <S>(p: Projection<S>, text: string): S => p.decode(JSON.parse(text) as Json)

describe("the inner fold", () => {
  it("never sees a cluster record, and sees every other record with the authority in force before it", () => {
    const { log } = scenario()
    const seen: Array<readonly [number, string, string | null, number]> = []
    const spy = authorized(clusterConfig(), {
      name: "spy",
      version: 1,
      initialState: { count: 0 },
      evolve: (s, r, authority: AuthorityState) => {
        seen.push([r.offset, r.type, authority.leader, authority.term])
        return { count: s.count + 1 }
      },
      encode: (s) => ({ count: s.count }),
      decode: (j) => ({ count: (j as { count: number }).count })
    })
    const s = fold(spy, log.records)
    expect(seen).toEqual([
      [2, "UserOrder", a.publicKey, 1],
      [3, "BatchSealed", a.publicKey, 1],
      [4, "UserOrder", a.publicKey, 1],
      [6, "BatchSealed", b.publicKey, 2],
      [7, "BatchSealed", b.publicKey, 2],
      [8, "UserOrder", b.publicKey, 2]
    ])
    expect(s.count).toBe(6)
    expect(s.authority).toEqual(log.records.reduce(evolveAuthority, initialAuthority(clusterConfig())))
  })

  it("leaves the state as it was (the same object) for a cluster record that changes nothing", () => {
    const { log } = scenario()
    const p = makeMempool(clusterConfig())
    const s = fold(p, log.records)
    const stray = clusterLog()
    for (const r of [stray.claim(alice, 3), stray.set([alice], alice), stray.claim(a, 2)]) expect(p.evolve(s, r)).toBe(s)
  })

  it("keeps its state apart from the authority: a cluster record changes only `authority`", () => {
    const { log } = scenario()
    const p = makeMempool(clusterConfig())
    const before = fold(p, log.records.slice(0, 5))
    const after = p.evolve(before, log.records[5] as LogRecord)
    expect(after.authority.leader).toBe(b.publicKey)
    const { authority: _x, ...innerBefore } = before
    const { authority: _y, ...innerAfter } = after
    expect(innerAfter).toEqual(innerBefore)
  })
})

describe("snapshots", () => {
  it("of the mempool in a cluster round-trip with the authority, and resume on any member to the full fold's digest", () => {
    const { log, late, seal } = scenario()
    const onA = makeMempool(clusterConfig(a))
    const onB = makeMempool(clusterConfig(b))
    const full = fold(onA, log.records)
    expect(batchOf(full, 1)?.sealId).toBe(seal.id)
    expect(HashMap.get(full.outcomes, late.id).pipe(Option.map((o) => o.reason))).toEqual(Option.some("only the current term's leader may author this event"))
    for (let cut = 0; cut <= log.records.length; cut++) {
      const at = fold(onA, log.records.slice(0, cut))
      const text = serialize(onA, at)
      for (const p of [onA, onB]) {
        const back = resume(p, text)
        expect(serialize(p, back)).toBe(text)
        expect(back.authority).toEqual(at.authority)
        expect(digestOf(p, fold(p, log.records.slice(cut), back))).toBe(digestOf(onA, full))
      }
    }
    expect(JSON.parse(serialize(onA, full)).authority).toMatchObject({ admin: admin.publicKey, instance: null, term: 2, leader: b.publicKey })
  })

  it("of the mempool in a deployment of one round-trip too", () => {
    const { log } = scenario()
    const p = makeMempool(soloConfig(a))
    const full = fold(p, log.records)
    const text = serialize(p, full)
    expect(serialize(p, resume(p, text))).toBe(text)
    expect(JSON.parse(text).authority).toMatchObject({ admin: null, instance: a.publicKey })
  })

  const makers: ReadonlyArray<readonly [string, (c: AuthorityConfig) => AnyProjection]> = [
    ["mempool", (cfg) => makeMempool(cfg) as AnyProjection],
    ["operators", (cfg) => makeOperators(cfg) as AnyProjection],
    ["chain-state", (cfg) => makeChainState(cfg) as AnyProjection],
    ["chain-watches", (cfg) => makeChainWatches(cfg) as AnyProjection],
    ["cluster", (cfg) => makeCluster(cfg) as AnyProjection],
    ["assets", (cfg) => makeAssets(cfg) as AnyProjection],
    ["registers", (cfg) => makeRegisters(cfg) as AnyProjection],
    ["sequences", (cfg) => makeSequences(cfg) as AnyProjection],
    ["proofs", (cfg) => makeProofs(cfg) as AnyProjection]
  ]
  const otherAdmin = { instanceKey: a.publicKey, clusterAdmin: alice.publicKey }

  it.each(makers)("of %s refuse to decode under another admin, another instance of one, or the other kind of deployment", (_name, make) => {
    const { log } = scenario()
    const cases: ReadonlyArray<readonly [AuthorityConfig, ReadonlyArray<AuthorityConfig>, ReadonlyArray<AuthorityConfig>]> = [
      // folded under, decodes under, refuses under
      [clusterConfig(a), [clusterConfig(a), clusterConfig(c)], [otherAdmin, soloConfig(a), soloConfig(admin)]],
      [soloConfig(a), [soloConfig(a)], [soloConfig(b), clusterConfig(a), { instanceKey: a.publicKey, clusterAdmin: a.publicKey }]]
    ]
    for (const [under, accepts, refuses] of cases) {
      const folded = make(under)
      const text = serialize(folded, fold(folded, log.records))
      for (const cfg of accepts) expect(serialize(make(cfg), resume(make(cfg), text))).toBe(text)
      for (const cfg of refuses) expect(() => resume(make(cfg), text)).toThrow(/folded under another authority/)
    }
  })

  it("without an authority, or with one that has unknown fields, do not decode", () => {
    const { log } = scenario()
    const p = makeMempool(clusterConfig())
    const json = JSON.parse(serialize(p, fold(p, log.records))) as Record<string, Json>
    const { authority, ...bare } = json
    expect(() => p.decode(bare)).toThrow()
    expect(() => p.decode({ ...json, authority: { ...(authority as Record<string, Json>), extra: 1 } })).toThrow()
    expect(() => p.decode([])).toThrow(/must be a JSON object/)
  })
})

describe("the runner", () => {
  const storage = Layer.mergeAll(MemoryCausalLog.layerMemory, SqliteProjectionStore.layerMemory)

  it.effect("rebuilds from offset 0 rather than resume a snapshot folded under another authority", () =>
    Effect.gen(function*() {
      const log = yield* CausalLog
      const store = yield* ProjectionStore
      const { log: records } = scenario()
      yield* log.append(records.records.map(({ offset: _o, ...r }) => r))
      const solo = makeMempool(soloConfig(a))
      yield* Effect.scoped(ProjectionRunner.make([solo]).pipe(Effect.flatMap((p) => p.awaitOffset(records.records.length))))
      const snapshot = Option.getOrThrow(yield* store.load(solo.name))
      expect(snapshot.offset).toBe(records.records.length)

      const cluster = makeMempool(clusterConfig(a))
      let calls = 0
      const counting: typeof cluster = { ...cluster, evolve: (s, r) => (calls++, cluster.evolve(s, r)) }
      const expected = digestOf(cluster, fold(cluster, records.records))
      expect(expected).not.toBe(snapshot.digest)
      yield* Effect.scoped(Effect.gen(function*() {
        const p = yield* ProjectionRunner.make([counting])
        yield* p.awaitOffset(records.records.length)
        const [status] = yield* p.status
        expect(status?.digest).toBe(expected)
      }))
      expect(calls).toBe(records.records.length)
    }).pipe(Effect.provide(storage)))
})
