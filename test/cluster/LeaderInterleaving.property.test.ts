/**
 * Any interleaving of two leaders' decisions around a term change folds to the same state on
 * every instance. The admin names {a, b, c}; `a` claims term 1; users send orders; `b` claims
 * term 2 somewhere (and sometimes `a` races it with its own claim of term 2). Each member
 * decides from what it has seen: `a` seals the batch open in its view of the log (it has not
 * seen `b`'s claim or decisions), `b` and `c` the batch open in the whole log; each may also
 * expire an order, and now and then a decision names the wrong batch.
 *
 * (a) every instance's mempool and operators projections fold the log to the same digest;
 * (b) that state is the fold of the log without the decisions of whoever did not lead at
 *     their place (a deposed leader's late ones, a claimant's early ones, a non-leader's),
 *     except that each of those leaves one outcome saying it was not the leader's;
 * (c) a snapshot taken at any cut on one instance, resumed on another, folds on to the same digest.
 */
import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import type { Json } from "../../src/domain/CanonicalJson.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import { makeOperators } from "../../src/projections/Operators/Operators.ts"
import { type Projection, digestOf, serialize } from "../../src/projections/Projection.ts"
import { order } from "../mempool/support.ts"
import { clusterConfig, clusterLog, keys, sealPayload } from "./support.ts"

const { a, b, c, alice, bob } = keys
const members = { a, b, c } as const
const users = [alice, bob] as const

type Who = keyof typeof members
type Step =
  | { readonly kind: "order"; readonly user: 0 | 1 }
  | { readonly kind: "decide"; readonly who: Who; readonly what: "seal" | "expire"; readonly target: number; readonly skew: -1 | 0 | 1 }
type Event = Step | { readonly kind: "claim"; readonly who: "a" | "b" }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("order" as const), user: fc.constantFrom(0 as const, 1 as const) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("decide" as const),
      who: fc.constantFrom<Who>("a", "a", "a", "b", "b", "b", "c"),
      what: fc.constantFrom("seal" as const, "seal" as const, "seal" as const, "expire" as const),
      target: fc.nat({ max: 20 }),
      skew: fc.constantFrom<-1 | 0 | 1>(0, 0, 0, 0, 0, 0, -1, 1)
    })
  }
)

/** The steps with `b`'s claim of term 2 spliced in, and `a`'s rival claim of it when `race` is set. */
const history = fc.record({ steps: fc.array(step, { maxLength: 24 }), claimAt: fc.nat(), race: fc.option(fc.nat(), { freq: 3 }) }).map(({ steps, claimAt, race }) => {
  const events: Array<Event> = [...steps]
  events.splice(claimAt % (events.length + 1), 0, { kind: "claim", who: "b" })
  if (race !== null) events.splice(race % (events.length + 1), 0, { kind: "claim", who: "a" })
  return events
})

const instances = [a, b, c].map((k) => ({ mempool: makeMempool(clusterConfig(k)), operators: makeOperators(clusterConfig(k)) }))
const [onA, onB] = instances as [(typeof instances)[number], (typeof instances)[number]]

const fold = <S>(p: Projection<S>, records: ReadonlyArray<LogRecord>, from: S = p.initialState): S => records.reduce((s, r) => p.evolve(s, r), from)

interface Built {
  readonly records: ReadonlyArray<LogRecord>
  /** Ids of the decisions whose author did not lead at their place in the log. */
  readonly unheeded: ReadonlySet<string>
}

/** Write the log as the members would: each decision from its author's own view of the log. */
const build = (events: ReadonlyArray<Event>): Built => {
  const log = clusterLog()
  const viewOfA = onA.mempool
  const viewOfAll = onB.mempool
  let seenByA = viewOfA.initialState
  let seenByAll = viewOfAll.initialState
  const append = (key: KeyFile, type: string, payload: unknown): LogRecord => {
    const r = log.append(key, type, payload)
    seenByAll = viewOfAll.evolve(seenByAll, r)
    // `a` is cut off from `b`: it never sees `b`'s claim nor its decisions.
    if (r.sender !== b.publicKey) seenByA = viewOfA.evolve(seenByA, r)
    return r
  }
  append(keys.admin, "ClusterMembersSet", { members: [a.publicKey, b.publicKey, c.publicKey] })
  append(a, "LeaderTermClaimed", { term: 1 })
  const orders: Array<string> = []
  const decisions: Array<{ readonly who: Who; readonly offset: number; readonly id: string }> = []
  let term2: { readonly who: "a" | "b"; readonly offset: number } | null = null
  let bClaim = -1
  events.forEach((e, i) => {
    switch (e.kind) {
      case "order":
        orders.push(append(users[e.user], "UserOrder", order(i)).id)
        break
      case "claim": {
        const r = append(members[e.who], "LeaderTermClaimed", { term: 2 })
        if (term2 === null) term2 = { who: e.who, offset: r.offset }
        if (e.who === "b") bClaim = r.offset
        break
      }
      case "decide": {
        const key = members[e.who]
        const believed = (e.who === "a" ? seenByA : seenByAll).batch
        const r = e.what === "expire" && orders.length > 0
          ? append(key, "OrderExpired", { orderIds: [orders[e.target % orders.length]], at: 2_000_000 + i })
          : append(key, "BatchSealed", sealPayload(Math.max(0, believed + e.skew)))
        decisions.push({ who: e.who, offset: r.offset, id: r.id })
        break
      }
    }
  })
  // Who led where, written out for this scenario: `a` until term 2's first claim, then its claimant.
  const t2 = term2 as { readonly who: "a" | "b"; readonly offset: number } | null
  const leaderAt = (offset: number): Who => (t2 === null || offset < t2.offset ? "a" : t2.who)
  expect(bClaim).toBeGreaterThanOrEqual(0)
  return { records: log.records, unheeded: new Set(decisions.filter((d) => leaderAt(d.offset) !== d.who).map((d) => d.id)) }
}

const NOT_THE_LEADER = "only the current term's leader may author this event"

/** The mempool state's JSON without the outcomes of the given records (nor their places in retention's schedule). */
const withoutOutcomes = (text: string, ids: ReadonlySet<string>): Json => {
  const json = JSON.parse(text) as { outcomes: Record<string, Json>; retiring?: Record<string, Array<string>> }
  for (const id of ids) delete json.outcomes[id]
  for (const [batch, keys] of Object.entries(json.retiring ?? {})) {
    const left = keys.filter((k) => !(k.startsWith("o:") && ids.has(k.slice(2))))
    if (left.length === 0) delete json.retiring![batch]
    else json.retiring![batch] = left
  }
  return json as unknown as Json
}

const params = { numRuns: 150 }

describe("leader decisions around a term change", () => {
  it("(a) fold to the same digests on every instance", () => {
    fc.assert(
      fc.property(history, (events) => {
        const { records } = build(events)
        const digests = instances.map((p) => [digestOf(p.mempool, fold(p.mempool, records)), digestOf(p.operators, fold(p.operators, records))])
        for (const d of digests) expect(d).toEqual(digests[0])
      }),
      params
    )
  })

  it("(b) fold to the state of the log without the decisions of whoever did not lead at their place", () => {
    let dropped = 0
    fc.assert(
      fc.property(history, (events) => {
        const { records, unheeded } = build(events)
        const kept = records.filter((r) => !unheeded.has(r.id))
        dropped += unheeded.size

        const full = fold(onA.mempool, records)
        const text = serialize(onA.mempool, full)
        expect(withoutOutcomes(text, unheeded)).toEqual(JSON.parse(serialize(onA.mempool, fold(onA.mempool, kept))))
        const outcomes = (JSON.parse(text) as { outcomes: Record<string, { reason: string | null }> }).outcomes
        for (const id of unheeded) expect(outcomes[id]?.reason).toBe(NOT_THE_LEADER)
        for (const r of kept) expect(outcomes[r.id]?.reason ?? null).not.toBe(NOT_THE_LEADER)

        expect(digestOf(onA.operators, fold(onA.operators, records))).toBe(digestOf(onA.operators, fold(onA.operators, kept)))
      }),
      params
    )
    expect(dropped).toBeGreaterThan(0)
  })

  it("(c) resume from a snapshot taken at any cut on another instance to the full fold's digest", () => {
    fc.assert(
      fc.property(history, fc.nat(), (events, at) => {
        const { records } = build(events)
        const cut = at % (records.length + 1)
        for (const name of ["mempool", "operators"] as const) {
          const taker = onA[name] as Projection<unknown>
          const resumer = onB[name] as Projection<unknown>
          const text = serialize(taker, fold(taker, records.slice(0, cut)))
          const resumed = resumer.decode(JSON.parse(text) as Json)
          expect(serialize(resumer, resumed)).toBe(text)
          expect(digestOf(resumer, fold(resumer, records.slice(cut), resumed))).toBe(digestOf(taker, fold(taker, records)))
        }
      }),
      params
    )
  })
})
