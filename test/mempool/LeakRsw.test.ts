/**
 * Leak test for RSW time-locked orders (the capture machinery of test/mempool/Leak.test.ts,
 * shared in leakCapture.ts): a real server with the production mempool rules — a 2,048-bit
 * modulus, registered only through the instance's RswModulusVerified verdict from its worker
 * checker, and a puzzle of 2¹⁶ squarings — takes a plain order and an RSW-locked one.
 * Everything a searcher can read before the seal (API responses, the log stream, the
 * order's own stream, log lines, metrics) is searched for the locked order's content and
 * for the puzzle's secret: its solution y, which only the seal's solve discloses, and the
 * modulus' factors, which nobody but the creator ever holds. After the seal and the
 * instance's solve, the mempool API and the order's stream serve the content and the log
 * stream carries y: the search is not blind.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Result } from "effect"
import { PENDING_MODULUS_CHECK } from "../../src/domain/mempool/MempoolFold.ts"
import type { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import { orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import { lockOf, registrationOf, solutionOf } from "../../src/domain/mempool/RswOrders.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { createPuzzle, defaultLimits, generateKey, modPow, proveModulus, puzzleBase, verifySolution } from "../../src/domain/timelock/Rsw.ts"
import { testKey } from "../support/fixtures.ts"
import { events, leakBeacon, leaksOf, searcherPaths, startLeakServer, tap } from "./leakCapture.ts"
import { seededRandom } from "./support.ts"

const instance = testKey("leak-rsw-instance")
const alice = testKey("leak-rsw-alice")
const dave = testKey("leak-rsw-dave")

const locked: UserOrder = {
  chain: "eth",
  market: "SECRET-RSW-MKT",
  side: "buy",
  amountIn: "616161616161",
  minAmountOut: "272727272727",
  limitPrice: "3000"
} as UserOrder
const plain: UserOrder = { chain: "eth", market: "PLAIN-MKT", side: "sell", amountIn: "515151515151", minAmountOut: "1", limitPrice: "1" } as UserOrder

// The creator's key at the production size (2,048 bits) with its modulus proof, made once for
// the file from a seed (~1.6 s here), and its puzzle at the production floor of squarings.
const creatorRandom = seededRandom("leak-rsw-key")
const creatorKey = generateKey(defaultLimits.modulusBits, creatorRandom)
const creatorProof = proveModulus(creatorKey, creatorRandom)
const puzzle = createPuzzle(creatorKey, defaultLimits.minSquarings, orderBytes(locked), seededRandom("leak-rsw-seed")(32))

// The puzzle's secret y = x^(2^t) (up to sign), as its creator knows it through the trapdoor φ(N).
const phi = (creatorKey.p - 1n) * (creatorKey.q - 1n)
const yFull = modPow(puzzleBase(puzzle.n, puzzle.t, puzzle.seed), modPow(2n, BigInt(puzzle.t), phi), puzzle.n)
const y = (yFull > puzzle.n >> 1n ? puzzle.n - yFull : yFull).toString(16)

const content = [locked.market, locked.amountIn, locked.minAmountOut]
const factors = [creatorKey.p.toString(16), creatorKey.q.toString(16)]
const leaks = leaksOf([...content, y, ...factors])

/** A log record as the API and the log stream serve it (the fields read here). */
interface LoggedRecord {
  readonly offset: number
  readonly type: string
  readonly sender: string
  readonly envelope: { readonly payload: { readonly scheme?: string; readonly results?: ReadonlyArray<{ readonly orderId: string; readonly y: string; readonly proof: string }> } & { readonly [k: string]: unknown } }
}

describe("mempool leak test (RSW puzzles)", () => {
  it.live("no response, SSE event, log line or metric carries an RSW-locked order's content or its puzzle's secret before its batch is sealed", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const { base, call, post, until, readAll } = yield* startLeakServer({ instance, beacon: leakBeacon(11), lines })
      const global = tap(`${base}/v1/stream?from=0`)

      // The modulus is usable only once the instance's worker checker has published its verdict.
      const regId = yield* post(dave, "RswModulusRegistration", registrationOf(creatorKey.n, creatorProof))
      const verdict = yield* until(`/v1/mempool/orders/${regId}`, (r) => JSON.parse(r.text).reason !== PENDING_MODULUS_CHECK, 400)
      expect(JSON.parse(verdict.text)).toMatchObject({ kind: "message", type: "RswModulusRegistration", accepted: true, reason: null })
      const logged = JSON.parse((yield* call("/v1/messages?limit=1000")).text) as ReadonlyArray<LoggedRecord>
      expect(logged.filter((r) => r.type === "RswModulusVerified").map((r) => [r.sender, r.envelope.payload])).toEqual([
        [instance.publicKey, { registrationId: regId, ok: true }]
      ])

      const plainId = yield* post(alice, "UserOrder", plain)
      const lockedId = yield* post(dave, "TimelockedOrder", lockOf(puzzle, regId as MessageId))
      const lockedEvents = tap(`${base}/v1/mempool/orders/${lockedId}/events`)

      // Everything a searcher can read before the seal.
      const before = yield* readAll(searcherPaths({ plain: plainId, protected: [regId, lockedId] }, locked.market), locked.market)
      yield* Effect.sleep("300 millis") // let the streams deliver what they have
      const batch0 = yield* call("/v1/mempool/batches/0")
      expect(batch0.status, "the window must outlast the observations").toBe(404)
      const preSeal = [...before, global.text(), lockedEvents.text(), lines.join("\n")]
      expect(preSeal.flatMap((t) => leaks(t).map((m) => `${m.slice(0, 40)} in ${t.slice(0, 300)}`))).toEqual([])
      // The search sees what is there: the puzzle was accepted and holds a position unread, the
      // lock itself is in the log and the log stream, and so is the plain order's content at once.
      expect(JSON.parse((yield* call(`/v1/mempool/orders/${lockedId}`)).text)).toMatchObject({ kind: "order", mode: "rsw", status: "committed", batch: 0, order: null })
      const ciphertext = lockOf(puzzle, regId as MessageId).ciphertext
      expect(before[0]).toContain(ciphertext)
      expect(global.text()).toContain(ciphertext)
      expect(global.text()).toContain(plain.amountIn)

      // The seal, then the instance's solve on a worker thread.
      const sealed = yield* until("/v1/mempool/batches/0", (r) => r.status === 200)
      expect(sealed.status).toBe(200)
      const view = yield* until(`/v1/mempool/orders/${lockedId}`, (r) => JSON.parse(r.text).status === "revealed", 600)
      expect(JSON.parse(view.text)).toMatchObject({ mode: "rsw", status: "revealed", order: locked })
      yield* Effect.sleep("300 millis")
      yield* Effect.promise(() => Promise.all([global.close(), lockedEvents.close()]))

      // The log stream: nothing before the seal's record; after it y, never the content (the
      // projection opens the puzzle itself, no event carries the plaintext) nor the factors.
      const datas = events(global.text()).filter((e) => e.event === "record").map((e) => e.data ?? "")
      const records = datas.map((d) => JSON.parse(d) as LoggedRecord)
      const sealAt = records.findIndex((r) => r.type === "BatchSealed")
      expect(sealAt).toBeGreaterThan(0)
      expect(datas.slice(0, sealAt).flatMap(leaks)).toEqual([])
      expect(leaks(datas.slice(sealAt).join("\n")).sort()).toEqual([y])
      // The instance published the puzzle's secret: y, which opens the ciphertext to the order.
      const solutions = records.filter((r) => r.type === "BatchDecrypted" && r.envelope.payload.scheme === "rsw")
      expect(solutions.map((r) => r.sender)).toEqual([instance.publicKey])
      const solved = solutions.flatMap((r) => r.envelope.payload.results ?? [])
      expect(solved.map((s) => s.orderId)).toEqual([lockedId])
      const [solution] = solved
      if (solution === undefined) return expect.unreachable("no solution")
      const opened = verifySolution(puzzle, solutionOf(solution))
      expect(Result.isSuccess(opened) && Buffer.from(opened.success).equals(Buffer.from(orderBytes(locked)))).toBe(true)
      expect(solution.y).toBe(y)

      // The order's stream: nothing until "sequenced", the content once solved.
      const statuses = events(lockedEvents.text()).map((e) => JSON.parse(e.data ?? "{}") as { status: string; order: unknown })
      const seq = statuses.findIndex((s) => s.status === "sequenced")
      expect(seq).toBeGreaterThan(0)
      expect(statuses.slice(0, seq + 1).every((s) => s.order === null)).toBe(true)
      expect(statuses.at(-1)).toMatchObject({ status: "revealed", order: locked })
      const pending = yield* call(`/v1/mempool/orders?market=${locked.market}&revealedOnly=true`)
      expect(JSON.parse(pending.text).orders.map((o: { id: string }) => o.id)).toEqual([lockedId])
      // Log lines and metrics never carry content or the puzzle's secret, not even after the solve.
      expect(lines.some((l) => l.includes("sealed batch 0"))).toBe(true)
      expect(lines.some((l) => l.includes("solving 1 RSW puzzles"))).toBe(true)
      expect(lines.flatMap(leaks)).toEqual([])
      expect(leaks((yield* call("/metrics")).text)).toEqual([])
    }).pipe(Effect.scoped), 30_000)
})
