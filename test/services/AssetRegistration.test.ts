/**
 * AssetRegistration publishes a registration only where it would count: on the instance of a
 * deployment of one, or on the cluster's current leader; a member that does not lead, or a
 * cluster without a leader, is refused (NotAssetAuthority) and publishes nothing.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap } from "effect"
import { type AuthorityConfig, type AuthorityState, initialAuthority } from "../../src/domain/cluster/Authority.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { registerMappings } from "../../src/services/AssetRegistration.ts"
import { keys } from "../cluster/support.ts"

const payload = { mappings: [{ canonical: { chain: "cosmos:cosmoshub-4", id: "slip44:118" }, chain: "cosmos:cosmoshub-4", local: "uatom", provider: "native" }] }

const setup = (config: AuthorityConfig, authority: AuthorityState) => {
  const published: Array<unknown> = []
  const awaited: Array<number> = []
  const register = registerMappings({
    author: {
      publicKey: config.instanceKey,
      publish: (type, p) =>
        Effect.sync(() => {
          published.push([type, p])
          return { id: "ab".repeat(32) as MessageId, offset: 7, lamport: 9 }
        })
    },
    runner: { awaitOffset: (offset) => Effect.sync(() => void awaited.push(offset)) },
    assets: { state: Effect.succeed({ mappings: HashMap.empty(), replaced: 0, authority }) }
  })
  return { register, published, awaited }
}

describe("AssetRegistration", () => {
  it.effect("a deployment of one publishes, then waits until the message is folded", () =>
    Effect.gen(function*() {
      const config = { instanceKey: keys.a.publicKey }
      const { register, published, awaited } = setup(config, initialAuthority(config))
      expect(yield* register(payload)).toMatchObject({ offset: 7 })
      expect(published).toEqual([["AssetMappingRegistered", payload]])
      expect(awaited).toEqual([8])
    }))

  it.effect("a cluster member that does not lead, or a cluster without a leader, is refused and publishes nothing", () =>
    Effect.gen(function*() {
      const config = { instanceKey: keys.a.publicKey, clusterAdmin: keys.admin.publicKey }
      const leaderless = setup(config, { ...initialAuthority(config), members: [keys.a.publicKey, keys.b.publicKey] })
      const none = yield* Effect.flip(leaderless.register(payload))
      expect(none).toMatchObject({ _tag: "NotAssetAuthority", leader: null })
      const led = setup(config, { ...initialAuthority(config), members: [keys.a.publicKey, keys.b.publicKey], term: 1, leader: keys.b.publicKey })
      const other = yield* Effect.flip(led.register(payload))
      expect(other).toMatchObject({ _tag: "NotAssetAuthority", leader: keys.b.publicKey, reason: expect.stringMatching(/does not lead/) })
      expect([...leaderless.published, ...led.published]).toEqual([])
      const leading = setup(config, { ...initialAuthority(config), members: [keys.a.publicKey, keys.b.publicKey], term: 1, leader: keys.a.publicKey })
      yield* leading.register(payload)
      expect(leading.published).toHaveLength(1)
    }))
})
