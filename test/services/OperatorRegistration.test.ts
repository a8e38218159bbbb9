/**
 * OperatorRegistration publishes a registration or removal only where it would count: on the
 * instance of a deployment of one, or on the cluster's current leader; a member that does not
 * lead, or a cluster without a leader, is refused (NotOperatorAuthority) and publishes nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { type AuthorityConfig, type AuthorityState, initialAuthority } from "../../src/domain/cluster/Authority.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { registerOperator, removeOperator } from "../../src/services/OperatorRegistration.ts"
import { keys } from "../cluster/support.ts"

const setup = (config: AuthorityConfig, authority: AuthorityState) => {
  const published: Array<unknown> = []
  const awaited: Array<number> = []
  const deps = {
    author: {
      publicKey: config.instanceKey,
      publish: (type: string, p: unknown) =>
        Effect.sync(() => {
          published.push([type, p])
          return { id: "ab".repeat(32) as MessageId, offset: 7, lamport: 9 }
        })
    },
    runner: { awaitOffset: (offset: number) => Effect.sync(() => void awaited.push(offset)) },
    operators: { state: Effect.succeed({ authority }) }
  }
  return { register: registerOperator(deps), remove: removeOperator(deps), published, awaited }
}

describe("OperatorRegistration", () => {
  it.effect("a deployment of one publishes, then waits until the message is folded", () =>
    Effect.gen(function*() {
      const config = { instanceKey: keys.a.publicKey }
      const { register, remove, published, awaited } = setup(config, initialAuthority(config))
      expect(yield* register({ operator: keys.b.publicKey, name: "b" })).toMatchObject({ offset: 7 })
      yield* remove({ operator: keys.b.publicKey })
      expect(published).toEqual([["OperatorRegistered", { operator: keys.b.publicKey, name: "b" }], ["OperatorRemoved", { operator: keys.b.publicKey }]])
      expect(awaited).toEqual([8, 8])
    }))

  it.effect("a cluster member that does not lead, or a cluster without a leader, is refused and publishes nothing", () =>
    Effect.gen(function*() {
      const config = { instanceKey: keys.a.publicKey, clusterAdmin: keys.admin.publicKey }
      const leaderless = setup(config, { ...initialAuthority(config), members: [keys.a.publicKey, keys.b.publicKey] })
      expect(yield* Effect.flip(leaderless.register({ operator: keys.b.publicKey }))).toMatchObject({ _tag: "NotOperatorAuthority", leader: null })
      const led = setup(config, { ...initialAuthority(config), members: [keys.a.publicKey, keys.b.publicKey], term: 1, leader: keys.b.publicKey })
      expect(yield* Effect.flip(led.remove({ operator: keys.b.publicKey }))).toMatchObject({ _tag: "NotOperatorAuthority", leader: keys.b.publicKey, reason: expect.stringMatching(/does not lead/) })
      expect([...leaderless.published, ...led.published]).toEqual([])
    }))
})
