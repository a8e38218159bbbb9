/**
 * The RSW modulus proof never runs on the thread that folds the log and serves HTTP: the
 * instance checks each registration on a worker thread (WorkerRswModulusChecker) and publishes
 * its verdict (RswModulusVerified); the projection only folds verdicts. `verifyModulus` is
 * wrapped in a counter for this process, so a call from the fold, the sealer or a replay on
 * this thread is seen (the in-process checker's calls are, which shows the counter works);
 * the worker threads load the real module and are not counted.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Option } from "effect"
import { vi } from "vitest"
import * as InlineRswModulusChecker from "../../src/adapters/timelock/InlineRswModulusChecker.ts"
import { type MempoolState, PENDING_MODULUS_CHECK, debtOf, defaultRules, entryOf } from "../../src/domain/mempool/MempoolFold.ts"
import { orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import { lockOf, registrationOf } from "../../src/domain/mempool/RswOrders.ts"
import * as Rsw from "../../src/domain/timelock/Rsw.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as Sealer from "../../src/services/Sealer.ts"
import { testKey } from "../support/fixtures.ts"
import { instance, stack, submit } from "./stack.ts"
import { order, rswKey, seededRandom, testRswLimits } from "./support.ts"

vi.mock("../../src/domain/timelock/Rsw.ts", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../src/domain/timelock/Rsw.ts")>()
  return { ...actual, verifyModulus: vi.fn(actual.verifyModulus) }
})
const verifyModulusCalls = () => vi.mocked(Rsw.verifyModulus).mock.calls.length

const alice = testKey("check-alice")
const mallory = testKey("check-mallory")
const ruleSet = { rsw: testRswLimits }
const rules = { ...defaultRules, ...ruleSet, instanceKey: instance.publicKey }
const mempool = makeMempool({ instanceKey: instance.publicKey }, ruleSet)
const outcome = (s: MempoolState, id: string) => Option.getOrUndefined(HashMap.get(s.outcomes, id))

/** Alice registers a valid modulus, mallory a proof made for another modulus; the sealer has them checked; replay folds the verdicts. */
const scenario = Effect.gen(function*() {
  const sealer = yield* Sealer.Sealer
  const runner = yield* ProjectionRunner.Projections
  const log = yield* CausalLog
  const view = runner.state(mempool).pipe(Effect.orDie, Effect.map((s) => s.state as MempoolState))
  const { key, proof } = rswKey("alice")
  const other = rswKey("other")
  const before = verifyModulusCalls()
  const reg = yield* submit(alice, "RswModulusRegistration", registrationOf(key.n, proof))
  const forged = yield* submit(mallory, "RswModulusRegistration", registrationOf(key.n, other.proof))
  let s = yield* view
  expect(outcome(s, reg.id)?.reason).toBe(PENDING_MODULUS_CHECK)
  expect(outcome(s, forged.id)?.reason).toBe(PENDING_MODULUS_CHECK)
  expect(verifyModulusCalls() - before).toBe(0) // folding a registration checks nothing

  // As many checks at once as the checker runs; each registration checked once (two verdicts below).
  let started = 0
  for (let i = 0; i < 3; i++) {
    started += (yield* sealer.tick).checking
    yield* sealer.checked
  }
  expect(started).toBe(2)
  s = yield* view
  expect(outcome(s, reg.id)).toMatchObject({ accepted: true, reason: null })
  expect(HashMap.has(s.moduli, reg.id)).toBe(true)
  expect(outcome(s, forged.id)).toMatchObject({ accepted: false, reason: "modulus proof: fourth root 0 does not check" })
  expect(debtOf(s, rules, mallory.publicKey)).toBe(1)
  expect(HashMap.size(s.pendingModuli)).toBe(0)
  const records = yield* log.read(0, yield* log.endOffset)
  const verdicts = records.filter((r) => r.type === "RswModulusVerified")
  expect(verdicts.map((r) => r.sender)).toEqual([instance.publicKey, instance.publicKey])
  expect(verdicts.map((r) => JSON.parse(r.body).payload).sort((a, b) => Number(b.ok) - Number(a.ok))).toEqual([
    { registrationId: reg.id, ok: true },
    { registrationId: forged.id, ok: false, reason: "fourth root 0 does not check" }
  ])
  for (const v of verdicts) expect(v.deps).toHaveLength(1)

  // The registered modulus takes puzzles now.
  const random = seededRandom("check-puzzle")
  const locked = yield* submit(alice, "TimelockedOrder", lockOf(Rsw.createPuzzle(key, 4096, orderBytes(order(3)), random(32)), reg.id))
  expect(entryOf(yield* view, locked.id)).toMatchObject({ mode: "rsw", status: "committed" })

  // Replay folds the verdicts: the live digest, and no proof checked on this thread.
  const afterLive = verifyModulusCalls()
  const status = (yield* runner.status).find((x) => x.name === mempool.name)!
  const replayed = yield* ProjectionRunner.replay(log, [mempool])
  expect(replayed.digests[mempool.name]).toBe(status.digest)
  expect(verifyModulusCalls()).toBe(afterLive)
  return verifyModulusCalls() - before
})

describe("RSW modulus checks off the event loop", () => {
  it.effect("the worker checker decides both registrations and this thread never runs a modulus proof (fold, sealer, replay)", () =>
    Effect.gen(function*() {
      expect(yield* scenario).toBe(0)
    }).pipe(Effect.provide(stack({}, ruleSet))), 30_000)

  it.effect("the in-process checker decides the same, and the counter sees its two checks", () =>
    Effect.gen(function*() {
      expect(yield* scenario).toBe(2)
    }).pipe(Effect.provide(stack({}, ruleSet, InlineRswModulusChecker.layer))), 30_000)
})
