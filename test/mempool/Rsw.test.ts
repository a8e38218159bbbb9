/**
 * RSW time-locked orders: a sender registers its modulus with the modulus proof (checked by the
 * instance off the event loop, which publishes RswModulusVerified; a bad proof charges the
 * sender; test/mempool/RswModulusCheck.test.ts covers the check itself), locks an order in a puzzle over it (its form checked
 * when folded), the order takes its position unread, and after the seal the instance solves
 * the puzzle on a worker thread and publishes y with its Wesolowski proof. The projection
 * checks the proof and opens the ciphertext itself: a forged or negated solution changes
 * nothing, a proven one that opens to no order refuses the entry and charges its creator, and
 * replay (which has no solver) folds to the live digest.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap, Option, Result } from "effect"
import { TestClock } from "effect/testing"
import { type MempoolState, PENDING_MODULUS_CHECK, debtOf, defaultRules, entryOf, statusOf, visibleOrder } from "../../src/domain/mempool/MempoolFold.ts"
import { orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import { lockOf, registrationOf, solvedOf } from "../../src/domain/mempool/RswOrders.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { createPuzzle, type ModulusProof, type RswPuzzle, solvePuzzle, verifyModulus } from "../../src/domain/timelock/Rsw.ts"
import { makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import { serialize } from "../../src/projections/Projection.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import type { LogRecord } from "../../src/ports/CausalLog.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import * as Sealer from "../../src/services/Sealer.ts"
import { testKey } from "../support/fixtures.ts"
import { instance, stack, submit } from "./stack.ts"
import { handLog, order, rswKey, seededRandom, testRswLimits } from "./support.ts"

const alice = testKey("rsw-alice")
const bob = testKey("rsw-bob")
const mallory = testKey("rsw-mallory")
const ruleSet = { rsw: testRswLimits, maxModuliPerSender: 2 }
const rules = { ...defaultRules, ...ruleSet }
const mempool = makeMempool({ instanceKey: instance.publicKey }, ruleSet)
const T = 4096

const puzzleOf = (label: string, plaintext: Uint8Array, t = T): RswPuzzle => createPuzzle(rswKey("alice").key, t, plaintext, seededRandom(`seed:${label}`)(32))

/** Fold records onto a state. */
const foldOnto = (state: typeof mempool.initialState, records: ReadonlyArray<LogRecord>): typeof mempool.initialState => records.reduce(mempool.evolve, state)

/** The instance's verdict on a registration, as its checker would give it. */
const verdictOn = (registration: LogRecord, n: bigint, proof: ModulusProof) => {
  const checked = verifyModulus(n, proof, testRswLimits.modulusBits)
  return Result.isSuccess(checked)
    ? { registrationId: registration.id, ok: true }
    : { registrationId: registration.id, ok: false, reason: checked.failure.reason }
}

const outcome = (s: MempoolState, id: string) => Option.getOrUndefined(HashMap.get(s.outcomes, id))

describe("RSW time-locked orders (fold)", () => {
  it("registers a modulus only once the instance's verdict says its proof holds, within the sender's limit; a puzzle must be over its sender's modulus and well-formed", () => {
    const log = handLog()
    const { key, proof } = rswKey("alice")
    const other = rswKey("other")
    const reg = log.append(alice, "RswModulusRegistration", registrationOf(key.n, proof))
    // A proof for another modulus: refused by the instance's verdict, and it costs mallory a unit of debt.
    const forged = log.append(mallory, "RswModulusRegistration", registrationOf(key.n, other.proof))
    // Before the verdict, the modulus is not usable; a verdict by anyone but the instance is ignored.
    const tooEarly = log.append(alice, "TimelockedOrder", lockOf(puzzleOf("early", orderBytes(order(1))), reg.id as MessageId))
    const selfCertified = log.append(mallory, "RswModulusVerified", { registrationId: forged.id, ok: true })
    const pending = foldOnto(mempool.initialState, log.records)
    expect(outcome(pending, reg.id)).toMatchObject({ accepted: false, reason: PENDING_MODULUS_CHECK })
    expect(outcome(pending, tooEarly.id)?.reason).toBe("the modulus awaits the instance's check of its proof (RswModulusVerified)")
    expect(outcome(pending, selfCertified.id)?.reason).toBe("only the instance may author this event")
    expect(HashMap.size(pending.moduli)).toBe(0)
    expect([...HashMap.keys(pending.pendingModuli)].sort()).toEqual([reg.id, forged.id].sort())
    const okVerdict = log.append(instance, "RswModulusVerified", verdictOn(reg, key.n, proof), { deps: [reg.id] })
    const noVerdict = log.append(instance, "RswModulusVerified", verdictOn(forged, key.n, other.proof), { deps: [forged.id] })
    const twice = log.append(instance, "RswModulusVerified", { registrationId: reg.id, ok: true })
    const tooSmall = log.append(bob, "RswModulusRegistration", { ...registrationOf(other.key.n, other.proof), n: (other.key.n >> 8n).toString(16) })
    const locked = log.append(alice, "TimelockedOrder", lockOf(puzzleOf("a", orderBytes(order(1))), reg.id as MessageId))
    const foreign = log.append(bob, "TimelockedOrder", lockOf(puzzleOf("b", orderBytes(order(2))), reg.id as MessageId))
    const unknown = log.append(alice, "TimelockedOrder", lockOf(puzzleOf("c", orderBytes(order(3))), "ab".repeat(32) as MessageId))
    const quick = log.append(alice, "TimelockedOrder", lockOf(puzzleOf("d", orderBytes(order(4)), 100), reg.id as MessageId))
    const s = foldOnto(mempool.initialState, log.records)

    expect(outcome(s, reg.id)).toMatchObject({ accepted: true, reason: null })
    expect(outcome(s, okVerdict.id)).toMatchObject({ accepted: true, target: reg.id })
    expect(HashMap.get(s.moduli, reg.id).pipe(Option.map((m) => m.n))).toEqual(Option.some(key.n.toString(16)))
    expect(outcome(s, noVerdict.id)).toMatchObject({ accepted: true, target: forged.id })
    expect(outcome(s, forged.id)).toMatchObject({ accepted: false, reason: expect.stringMatching(/^modulus proof: fourth root 0 does not check/) })
    expect(HashMap.has(s.moduli, forged.id)).toBe(false)
    expect(HashMap.size(s.pendingModuli)).toBe(0)
    expect(outcome(s, twice.id)?.reason).toBe("the modulus is already registered")
    expect(debtOf(s, rules, mallory.publicKey)).toBe(1)
    expect(outcome(s, tooSmall.id)?.reason).toBe("the modulus must have exactly 1024 bits")
    expect(debtOf(s, rules, bob.publicKey)).toBe(0)
    expect(entryOf(s, locked.id)).toMatchObject({ mode: "rsw", status: "committed", batch: 0, position: 0, order: null, round: null })
    expect(outcome(s, foreign.id)?.reason).toBe("a puzzle must be over its sender's own registered modulus")
    expect(outcome(s, unknown.id)?.reason).toBe("no registered RSW modulus with that id")
    expect(outcome(s, quick.id)?.reason).toMatch(/^malformed puzzle: squarings must be in \[1024, /)
    for (const refused of [foreign, unknown, quick]) expect(entryOf(s, refused.id)).toBeUndefined()

    // Two moduli per sender at most, awaiting their check or registered; the third is refused before it is queued.
    const more = handLog()
    const first = more.append(alice, "RswModulusRegistration", registrationOf(key.n, proof))
    more.append(instance, "RswModulusVerified", verdictOn(first, key.n, proof))
    more.append(alice, "RswModulusRegistration", registrationOf(other.key.n, other.proof))
    const third = more.append(alice, "RswModulusRegistration", registrationOf(key.n, proof))
    expect(outcome(foldOnto(mempool.initialState, more.records), third.id)?.reason).toBe("the sender already registered 2 moduli (limit 2)")
  })

  it("bounds the registrations awaiting the instance's check: beyond the limit they are refused without debt, and a verdict frees a place", () => {
    const queue1 = makeMempool({ instanceKey: instance.publicKey }, { ...ruleSet, maxPendingModuli: 1 })
    const log = handLog()
    const { key, proof } = rswKey("alice")
    const first = log.append(alice, "RswModulusRegistration", registrationOf(key.n, proof))
    const full = log.append(bob, "RswModulusRegistration", registrationOf(key.n, proof))
    log.append(instance, "RswModulusVerified", verdictOn(first, key.n, proof))
    const again = log.append(bob, "RswModulusRegistration", registrationOf(key.n, proof))
    const s = log.records.reduce(queue1.evolve, queue1.initialState)
    expect(outcome(s, full.id)?.reason).toBe("1 modulus registrations already await the instance's check (limit 1); resubmit later")
    expect(debtOf(s, rules, bob.publicKey)).toBe(0)
    expect(outcome(s, again.id)?.reason).toBe(PENDING_MODULUS_CHECK)
    expect([...HashMap.keys(s.pendingModuli)]).toEqual([again.id])
    // The queue is in the snapshot: a resumed projection holds the same pending registrations.
    expect(serialize(queue1, queue1.decode(JSON.parse(serialize(queue1, s))))).toBe(serialize(queue1, s))
  })

  it("opens a puzzle only with a solution whose Wesolowski proof verifies; forged, negated and foreign solutions change nothing", () => {
    const log = handLog()
    const { key, proof } = rswKey("alice")
    const reg = log.append(alice, "RswModulusRegistration", registrationOf(key.n, proof))
    log.append(instance, "RswModulusVerified", verdictOn(reg, key.n, proof))
    const puzzle = puzzleOf("open", orderBytes(order(7)))
    const locked = log.append(alice, "TimelockedOrder", lockOf(puzzle, reg.id as MessageId))
    const garbage = log.append(alice, "TimelockedOrder", lockOf(puzzleOf("garbage", new TextEncoder().encode("not an order")), reg.id as MessageId))
    const id = locked.id as MessageId
    const solution = solvePuzzle(puzzle)
    const decrypted = (results: ReadonlyArray<unknown>, batch = 0) => ({ batch, scheme: "rsw", results })
    const early = log.append(instance, "BatchDecrypted", decrypted([solvedOf(id, solution)]))
    let s = foldOnto(mempool.initialState, log.records)
    expect(outcome(s, early.id)?.reason).toBe("batch 0 is not sealed")
    expect(visibleOrder(s, entryOf(s, id)!)).toBeNull()

    const mark = log.records.length
    log.append(instance, "BatchSealed", { batch: 0, sealedAt: 1000, beaconRound: null })
    const otherPuzzle = puzzleOf("other", orderBytes(order(8)))
    const forgeries = [
      solvedOf(id, solvePuzzle(otherPuzzle)), // another puzzle's y with its own valid proof
      solvedOf(id, { y: solution.y, proof: solution.proof + 1n }),
      solvedOf(id, { y: key.n - solution.y, proof: solution.proof }) // −y: outside [1, N/2]
    ].map((r) => log.append(instance, "BatchDecrypted", decrypted([r])))
    const byMallory = log.append(mallory, "BatchDecrypted", decrypted([solvedOf(id, solution)]))
    s = foldOnto(s, log.records.slice(mark))
    expect(forgeries.map((f) => outcome(s, f.id)?.reason)).toEqual([
      `skipped 1: ${id}: forged solution: Wesolowski proof does not verify`,
      `skipped 1: ${id}: forged solution: Wesolowski proof does not verify`,
      `skipped 1: ${id}: forged solution: y and π must be in [1, N/2]`
    ])
    expect(outcome(s, byMallory.id)?.reason).toBe("only the instance may author this event")
    expect(statusOf(s, entryOf(s, id)!)).toBe("sequenced")
    expect(entryOf(s, id)!.order).toBeNull()
    expect(HashMap.has(s.puzzles, id)).toBe(true)

    const mark2 = log.records.length
    const good = log.append(instance, "BatchDecrypted", decrypted([solvedOf(id, solution), solvedOf(garbage.id as MessageId, solvePuzzle(puzzleOf("garbage", new TextEncoder().encode("not an order"))))]))
    const again = log.append(instance, "BatchDecrypted", decrypted([solvedOf(id, solution)]))
    s = foldOnto(s, log.records.slice(mark2))
    expect(outcome(s, good.id)).toMatchObject({ accepted: true })
    expect(entryOf(s, id)).toMatchObject({ status: "revealed", order: order(7) })
    expect(visibleOrder(s, entryOf(s, id)!)).toEqual(order(7))
    expect(entryOf(s, garbage.id)).toMatchObject({ status: "refused", order: null })
    expect(entryOf(s, garbage.id)!.history.at(-1)?.reason).toBe("undecryptable: the plaintext is not UTF-8 JSON")
    expect(debtOf(s, rules, alice.publicKey)).toBe(1) // the creator sealed something else
    expect(outcome(s, again.id)?.reason).toBe(`skipped 1: ${id}: already opened`)
    expect(HashMap.size(s.puzzles)).toBe(0)
  })
})

const T0 = 4_000_000

describe("RSW time-locked orders (live)", () => {
  it.effect("sequenced unread, solved on a worker thread after the seal, revealed; the log replays to the live digest without solving", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(T0)
      const sealer = yield* Sealer.Sealer
      const runner = yield* ProjectionRunner.Projections
      const log = yield* CausalLog
      const view = runner.state(mempool).pipe(Effect.orDie, Effect.map((s) => s.state as MempoolState))
      const { key, proof } = rswKey("alice")
      const reg = yield* submit(alice, "RswModulusRegistration", registrationOf(key.n, proof))
      // A 2,048-bit registration (the production size) fits the 64 KiB message cap; this deployment refuses its size.
      const random = seededRandom("bogus-2048")
      const big = (bytes: Uint8Array) => ((BigInt(`0x${Buffer.from(bytes).toString("hex")}`) | (1n << 2047n)) | 1n).toString(16)
      const bogus = yield* submit(bob, "RswModulusRegistration", {
        n: big(random(256)),
        w: big(random(256)),
        ab: "0".repeat(80),
        roots: Buffer.from(random(160 * 256)).toString("base64")
      })
      expect(outcome(yield* view, reg.id)?.reason).toBe(PENDING_MODULUS_CHECK)
      // The instance checks the proof on a worker thread and publishes its verdict.
      expect((yield* sealer.tick).checking).toBe(1)
      yield* sealer.checked
      const locked = yield* submit(alice, "TimelockedOrder", lockOf(puzzleOf("live", orderBytes(order(11))), reg.id), { expiry: T0 + 3_600_000 })
      const garbage = yield* submit(alice, "TimelockedOrder", lockOf(puzzleOf("live-garbage", orderBytes(order(12)).subarray(1)), reg.id))
      let s = yield* view
      expect(outcome(s, reg.id)).toMatchObject({ accepted: true })
      expect(outcome(s, bogus.id)?.reason).toBe("the modulus must have exactly 1024 bits")

      // Not readable before the seal, and nothing is solved before it.
      expect((yield* sealer.tick).solving).toBe(0)
      expect(statusOf(s, entryOf(s, locked.id)!)).toBe("committed")
      yield* TestClock.adjust("12 seconds")
      expect(yield* sealer.tick).toMatchObject({ sealed: 0, solving: 2 })
      const midway = yield* runner.state(mempool)
      s = midway.state
      expect(statusOf(s, entryOf(s, locked.id)!)).toBe("sequenced")
      expect(visibleOrder(s, entryOf(s, locked.id)!)).toBeNull()
      // A second tick does not start the same solves again.
      expect((yield* sealer.tick).solving).toBe(0)
      yield* sealer.solved

      s = yield* view
      expect(entryOf(s, locked.id)).toMatchObject({ status: "revealed", order: order(11) })
      expect(entryOf(s, garbage.id)).toMatchObject({ status: "refused" })
      expect(entryOf(s, garbage.id)!.history.at(-1)?.reason).toMatch(/^undecryptable: /)
      const records = yield* log.read(0, yield* log.endOffset)
      const solutions = records.filter((r) => r.type === "BatchDecrypted")
      expect(solutions.map((r) => r.sender)).toEqual([instance.publicKey, instance.publicKey])
      expect(solutions.map((r) => JSON.parse(r.body).payload.results[0].orderId).sort()).toEqual([locked.id, garbage.id].sort())
      for (const r of solutions) expect(JSON.parse(r.body).payload.results[0]).toMatchObject({ y: expect.stringMatching(/^[0-9a-f]+$/), proof: expect.stringMatching(/^[0-9a-f]+$/) })

      // Replay (a pure fold: no solver) and a resume from the snapshot taken before the solutions.
      const status = (yield* runner.status).find((x) => x.name === mempool.name)!
      expect(status.offset).toBe(records.length)
      const replayed = yield* ProjectionRunner.replay(log, [mempool])
      expect(replayed.digests[mempool.name]).toBe(status.digest)
      expect(serialize(mempool, replayed.states[0] as MempoolState)).toBe(serialize(mempool, s))
      const snap = mempool.decode(JSON.parse(serialize(mempool, midway.state)))
      const resumed = yield* ProjectionRunner.replay(log, [mempool], { from: midway.offset, states: [snap] })
      expect(resumed.digests[mempool.name]).toBe(status.digest)
    }).pipe(Effect.provide(stack({}, ruleSet))), 30_000)
})
