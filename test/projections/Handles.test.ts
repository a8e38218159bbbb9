/**
 * The types a projection declares it handles (`handles`, emmett's canHandle) are all it reads:
 * the runner and replay skip every other record, which is only right if `evolve` leaves the
 * state unchanged for them. Each projection is given a record of every other known type (and
 * an unknown one), signed by the instance's own key (so decisions would count), with a valid
 * payload where the test has one (orders, seals, health reports: types other projections
 * fold) and a placeholder otherwise, and must return its state unchanged; a record of a type
 * it handles is still folded.
 */
import { describe, expect, it } from "vitest"
import { canonicalize } from "../../src/domain/CanonicalJson.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { messageTypes } from "../../src/domain/MessageTypes.ts"
import { projections } from "../../src/main.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { foldPage, serialize } from "../../src/projections/Projection.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { order } from "../mempool/support.ts"

const instance = testKey("handles-instance")
const recordOf = (type: string, payload: unknown, offset: number): LogRecord => {
  const env = envelope(instance, { type, payload, nonce: offset + 1, lamport: offset + 1 })
  return { offset, id: idOf(env), lamport: offset + 1, type, sender: instance.publicKey, nonce: offset + 1, deps: [], body: canonicalize(env as never) }
}
const valid: Record<string, unknown> = {
  UserOrder: order(1),
  BatchSealed: { batch: 0, sealedAt: 1_700_000_000_000, beaconRound: null },
  NetworkHealth: { component: "relayer", status: "ok", latencyMs: 5 }
}
const all = projections({ instanceKey: instance.publicKey, clusterAdmin: undefined })

describe("projections read only the types they handle", () => {
  for (const p of all.filter((q) => q.handles !== undefined)) {
    it(`${p.name}: every other type leaves the state unchanged`, () => {
      const handles = p.handles as ReadonlySet<string>
      const others = [...messageTypes, "NoSuchType"].filter((t) => !handles.has(t))
      expect(others.length).toBeGreaterThan(0)
      for (const [i, type] of others.entries()) {
        const state = p.initialState
        expect(p.evolve(state, recordOf(type, valid[type] ?? { anything: i }, i)), type).toBe(state)
      }
    })
  }

  it("a handled type is still folded through foldPage", () => {
    const mempool = all.find((p) => p.name === "mempool")
    expect(mempool?.handles?.has("UserOrder")).toBe(true)
    // The seal and the order the other projections were given change the mempool.
    expect(mempool!.evolve(mempool!.initialState, recordOf("BatchSealed", valid["BatchSealed"], 0))).not.toBe(mempool!.initialState)
    const folded = foldPage(mempool!, mempool!.initialState, [recordOf("NetworkHealth", { component: "x", status: "ok", latencyMs: 1 }, 0), recordOf("UserOrder", order(1), 1)])
    expect(serialize(mempool!, folded)).not.toBe(serialize(mempool!, mempool!.initialState))
  })
})
