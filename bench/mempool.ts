/**
 * bench:mempool — orders/s admitted in each privacy mode, through ingest (decode, checks,
 * ed25519 signature, SQLite append with synchronous=FULL) and the mempool projection's fold,
 * timed from the first submission until the projection has folded the last record:
 *
 *   plain          UserOrder
 *   commitReveal   OrderCommitment, the instance's BatchSealed, then the OrderReveal naming it
 *                  (an order costs two messages; the rate counts orders)
 *   tlock          TimelockedOrder with a tlock ciphertext (drand quicknet scheme, ~780 B)
 *   rsw            TimelockedOrder with an RSW puzzle over its sender's registered 2,048-bit
 *                  modulus (the fold checks each puzzle's form; registrations, once per key,
 *                  are made, their proofs checked on a worker thread as the instance does,
 *                  and registered with the instance's verdicts before the timed part;
 *                  reported apart, with this thread's event-loop delay during the checks)
 *
 * Envelopes are built and signed before the clock starts (node:crypto ed25519; the tlock
 * ciphertexts and RSW puzzles are the clients' work, their cost printed). Batches of
 * BENCH_BATCH go to `Ingest.submitMany` one at a time, as HTTP batch POSTs would. Opening is
 * not admission: the decryption rates are bench:timelock's; this bench adds the RSW squaring
 * rate and the cost of checking a published solution, which the load docs/mempool.md quotes rests on.
 *
 * Each mode runs BENCH_ROUNDS times (default 3) on a fresh log after one untimed warm-up run;
 * its figure is the median round.
 *
 * Env: BENCH_N (plain and commit-reveal orders, default 5000), BENCH_TLOCK_N (2000),
 * BENCH_RSW_N (1000), BENCH_RSW_SENDERS (2), BENCH_BATCH (512), BENCH_SENDERS (256), BENCH_ROUNDS (3).
 * Last line: {"admittedPerSec":{"plain","commitReveal","tlock","rsw"}, ...}.
 */
import { threadPoolSize } from "../src/cli/ThreadPool.ts"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { availableParallelism, loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { Effect, HashMap, Layer, ManagedRuntime, Result } from "effect"
import * as LocalBeacon from "../src/adapters/beacon/LocalBeacon.ts"
import * as NodeCryptoSignatureVerifier from "../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteCausalLog from "../src/adapters/storage/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "../src/adapters/storage/SqliteProjectionStore.ts"
import * as MclIbeOps from "../src/adapters/timelock/MclIbeOps.ts"
import * as WorkerRswModulusChecker from "../src/adapters/timelock/WorkerRswModulusChecker.ts"
import * as WorkerRswSolver from "../src/adapters/timelock/WorkerRswSolver.ts"
import type { MempoolState } from "../src/domain/mempool/MempoolFold.ts"
import { commitmentOf, orderBytes } from "../src/domain/mempool/OrderBytes.ts"
import type { UserOrder } from "../src/domain/mempool/MempoolMessages.ts"
import { lockOf, registrationOf } from "../src/domain/mempool/RswOrders.ts"
import type { MessageType } from "../src/domain/MessageTypes.ts"
import type { MessageId } from "../src/domain/Primitives.ts"
import { roundAt } from "../src/domain/timelock/ChainInfo.ts"
import * as Rsw from "../src/domain/timelock/Rsw.ts"
import { roundEncrypter } from "../src/domain/timelock/Tlock.ts"
import { makeMempool } from "../src/projections/Mempool/Mempool.ts"
import * as ProjectionRunner from "../src/projections/ProjectionRunner.ts"
import * as Ingest from "../src/services/Ingest.ts"
import { type BenchSender, type SignedEnvelope, benchSender, orderPayload, signWith } from "./support/signedEnvelopes.ts"
import { fmt, median } from "./support/stats.ts"

const N = Number(process.env.BENCH_N ?? 5000)
const TLOCK_N = Number(process.env.BENCH_TLOCK_N ?? 2000)
const RSW_N = Number(process.env.BENCH_RSW_N ?? 1000)
const RSW_SENDERS = Number(process.env.BENCH_RSW_SENDERS ?? 2)
const BATCH = Number(process.env.BENCH_BATCH ?? 512)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const SENDERS = Number(process.env.BENCH_SENDERS ?? 256)
// The puzzles' T (their creation cost does not depend on it; admission checks only their form).
// 2^22 is ~3.2 s of squarings through OpenSSL (~1.3 M/s per core, bench:timelock): a 12 s lock
// needs T of about 15.6 M (docs/mempool.md, "The load RSW supports").
const RSW_T = 1 << 22
const seconds = (t0: number) => (performance.now() - t0) / 1000
const rnd = (n: number) => new Uint8Array(randomBytes(n))

console.log(`cores ${availableParallelism()}, libuv threads ${threadPoolSize}, load average ${loadavg().map((l) => l.toFixed(2)).join(" ")} (shared machine: figures are noisy)`)

const instance = benchSender(1_000_000)
const senders = Array.from({ length: SENDERS }, (_, i) => benchSender(i))
const mempool = makeMempool({ instanceKey: instance.publicHex })

// One signer per sender: nonce and Lamport time count up per sender; no deps unless given.
const makeSigner = () => {
  const counters = new Map<BenchSender, number>()
  return (sender: BenchSender, type: MessageType, payload: unknown, deps: ReadonlyArray<MessageId> = [], lamportFloor = 0): SignedEnvelope => {
    const k = (counters.get(sender) ?? 0) + 1
    counters.set(sender, k)
    return signWith(sender, { v: 1, flags: 0, type, nonce: k, lamport: Math.max(k, lamportFloor), deps: [...deps].sort(), expiry: null, payload })
  }
}

const order = (n: number) => orderPayload(n) as unknown as UserOrder

/** A fresh service (SQLite log in a temp dir, ingest, the mempool projection alone) for one mode. */
const service = () => {
  const dir = mkdtempSync(join(tmpdir(), "causeway-bench-mempool-"))
  const storage = Layer.mergeAll(
    SqliteCausalLog.layer({ path: join(dir, "log.sqlite"), synchronous: "FULL" }),
    SqliteProjectionStore.layerMemory,
    NodeCryptoSignatureVerifier.layer
  )
  const core = Layer.mergeAll(
    Ingest.layer({ ...Ingest.defaultOptions, exemptSenders: [instance.publicHex] }),
    ProjectionRunner.layer([mempool], { snapshotEvery: 1_000_000, pageSize: 4096 })
  ).pipe(Layer.provideMerge(storage))
  const rt = ManagedRuntime.make(core)
  return { rt, close: async () => (await rt.dispose(), rmSync(dir, { recursive: true, force: true })) }
}

type Rt = ReturnType<typeof service>["rt"]

/** Envelopes as a client's JSON decodes to (parsed before any clock starts). */
const parsed = (envelopes: ReadonlyArray<SignedEnvelope>): Array<unknown> => envelopes.map((e) => JSON.parse(JSON.stringify(e.envelope)) as unknown)

/** Submit values in batches, one batch at a time; every one must be accepted. The last offset. */
const submitAll = (rt: Rt, values: ReadonlyArray<unknown>) =>
  rt.runPromise(Effect.gen(function*() {
    const ingest = yield* Ingest.Ingest
    let last = -1
    for (let i = 0; i < values.length; i += BATCH) {
      const results = yield* ingest.submitMany(values.slice(i, i + BATCH))
      for (const r of results) {
        if (Result.isFailure(r)) return yield* Effect.die(new Error(`rejected: ${r.failure._tag}: ${"reason" in r.failure ? r.failure.reason : ""}`))
        last = Math.max(last, r.success.offset)
      }
    }
    return last
  }))

/** Submit the phases in order and wait for the fold of the last record: the wall seconds. */
const timedSubmit = async (rt: Rt, phases: ReadonlyArray<ReadonlyArray<SignedEnvelope>>) => {
  const values = phases.map(parsed)
  const t0 = performance.now()
  let last = -1
  for (const phase of values) last = await submitAll(rt, phase)
  await rt.runPromise(Effect.flatMap(ProjectionRunner.Projections, (r) => r.awaitOffset(last + 1)))
  return seconds(t0)
}

const mempoolState = (rt: Rt) =>
  rt.runPromise(Effect.flatMap(ProjectionRunner.Projections, (r) => Effect.orDie(r.state(mempool)))).then((s) => s.state as MempoolState)

const entriesBy = (s: MempoolState, mode: string, status: string) => {
  let n = 0
  for (const e of HashMap.values(s.entries)) if (e.mode === mode && e.status === status) n++
  return n
}

/**
 * Run a mode ROUNDS times, each on a fresh service: `prepare` (untimed, e.g. registrations),
 * the timed phases, then `check` the folded state. The median rate.
 */
const measure = async (
  phases: ReadonlyArray<ReadonlyArray<SignedEnvelope>>,
  check: (s: MempoolState) => string | undefined,
  prepare: (rt: Rt) => Promise<void> = async () => {}
): Promise<Array<number>> => {
  const out: Array<number> = []
  for (let r = 0; r < ROUNDS; r++) {
    const { rt, close } = service()
    await prepare(rt)
    const secs = await timedSubmit(rt, phases)
    const problem = check(await mempoolState(rt))
    await close()
    if (problem !== undefined) throw new Error(problem)
    out.push(secs)
  }
  return out
}

const rates: Record<string, number> = {}
const report = (mode: string, count: number, rounds: ReadonlyArray<number>, extra = "") => {
  const perSec = rounds.map((secs) => count / secs)
  rates[mode] = Math.round(median(perSec))
  console.log(`${mode}: ${fmt(count)} orders admitted and folded per round: median ${fmt(median(perSec))} orders/s (rounds ${perSec.map(fmt).join(", ")})${extra}`)
}

// Warm-up (untimed): JIT, SQLite, libuv's threads.
{
  const sign = makeSigner()
  const { rt, close } = service()
  await timedSubmit(rt, [Array.from({ length: 2048 }, (_, i) => sign(senders[i % SENDERS] as BenchSender, "UserOrder", order(i)))])
  await close()
}

// --- plain -----------------------------------------------------------------------------------
{
  const sign = makeSigner()
  const orders = Array.from({ length: N }, (_, i) => sign(senders[i % SENDERS] as BenchSender, "UserOrder", order(i)))
  const rounds = await measure([orders], (s) => (entriesBy(s, "plain", "committed") === N ? undefined : "plain: not every order was folded into the open batch"))
  report("plain", N, rounds)
}

// --- commit-reveal ---------------------------------------------------------------------------
{
  const sign = makeSigner()
  const salts = Array.from({ length: N }, () => Buffer.from(rnd(32)).toString("hex"))
  const commitments = Array.from({ length: N }, (_, i) => sign(senders[i % SENDERS] as BenchSender, "OrderCommitment", { commitment: commitmentOf(order(i), salts[i] as string) }))
  const seal = sign(instance, "BatchSealed", { batch: 0, sealedAt: Date.now(), beaconRound: null }, [], N + 1)
  const reveals = commitments.map((c, i) =>
    sign(c.sender, "OrderReveal", { commitmentId: c.id, order: order(i), salt: salts[i] }, [seal.id], N + 2))
  const rounds = await measure([commitments, [seal], reveals], (s) => (entriesBy(s, "commit", "revealed") === N ? undefined : "commit-reveal: not every commitment was revealed"))
  report("commitReveal", N, rounds, ` (${fmt(2 * N + 1)} messages: commitments, one seal, reveals naming it)`)
}

// --- tlock -----------------------------------------------------------------------------------
{
  const chain = LocalBeacon.chainInfoOf({ secretKey: LocalBeacon.randomSecretKey(), genesisTime: Math.floor(Date.now() / 1000) })
  const round = roundAt(chain, Date.now()) + 1000
  const mcl = await MclIbeOps.make()
  const t0 = performance.now()
  const encrypt = roundEncrypter(chain, round, mcl)
  const ciphertexts = Array.from({ length: TLOCK_N }, (_, i) => encrypt(orderBytes(order(i))))
  const encryptSecs = seconds(t0)
  const sign = makeSigner()
  const orders = ciphertexts.map((ciphertext, i) => sign(senders[i % SENDERS] as BenchSender, "TimelockedOrder", { scheme: "tlock", round, ciphertext }))
  const rounds = await measure([orders], (s) => (entriesBy(s, "tlock", "committed") === TLOCK_N ? undefined : "tlock: not every order was folded"))
  const avg = ciphertexts.reduce((a, c) => a + c.length, 0) / TLOCK_N
  report("tlock", TLOCK_N, rounds, ` (clients' side: ${fmt(TLOCK_N / encryptSecs)} encryptions/s on one thread, ${fmt(avg)} B armored)`)
}

// --- RSW -------------------------------------------------------------------------------------
let rswCheckMs = 0
let squaringsPerSec = 0
let registrationFoldMs = 0
let registrationCheckMs = 0
let checkLoopDelayMs = 0
{
  const rswSenders = Array.from({ length: RSW_SENDERS }, (_, i) => benchSender(2_000_000 + i))
  let t0 = performance.now()
  const keys = rswSenders.map(() => Rsw.generateKey(2048, rnd))
  const proofs = keys.map((k) => Rsw.proveModulus(k, rnd))
  const keySecs = seconds(t0)
  const sign = makeSigner()
  const registrations = rswSenders.map((sender, i) => sign(sender, "RswModulusRegistration", registrationOf((keys[i] as Rsw.RswKey).n, proofs[i] as Rsw.ModulusProof)))
  const size = Math.max(...registrations.map((r) => Buffer.byteLength(JSON.stringify(r.envelope))))
  t0 = performance.now()
  const puzzles = Array.from({ length: RSW_N }, (_, i) => Rsw.createPuzzle(keys[i % RSW_SENDERS] as Rsw.RswKey, RSW_T, orderBytes(order(i)), rnd(32)))
  const createSecs = seconds(t0)
  const orders = puzzles.map((p, i) => sign(rswSenders[i % RSW_SENDERS] as BenchSender, "TimelockedOrder", lockOf(p, (registrations[i % RSW_SENDERS] as SignedEnvelope).id)))
  // The instance's side of a registration: its proof checked on a worker thread (as the
  // sealer does), while this thread's event-loop delay is sampled; then its verdict.
  const checker = await Effect.runPromise(WorkerRswModulusChecker.make({ concurrency: 1 }))
  const checkMs: Array<number> = []
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  for (let i = 0; i < RSW_SENDERS; i++) {
    const t = performance.now()
    const verdict = await Effect.runPromise(checker.check((keys[i] as Rsw.RswKey).n, proofs[i] as Rsw.ModulusProof, 2048))
    checkMs.push(performance.now() - t)
    if (Result.isFailure(verdict)) throw new Error(`rsw: modulus proof refused: ${verdict.failure.reason}`)
  }
  loop.disable()
  registrationCheckMs = median(checkMs)
  checkLoopDelayMs = loop.max / 1e6
  const verdicts = registrations.map((r) => sign(instance, "RswModulusVerified", { registrationId: r.id, ok: true }, [r.id], 2))
  // Registrations (once per key) and the verdicts before the clock: reported apart.
  const registrationMs: Array<number> = []
  const register = async (rt: Rt) => {
    const t = performance.now()
    const lastReg = await submitAll(rt, parsed(registrations))
    await rt.runPromise(Effect.flatMap(ProjectionRunner.Projections, (r) => r.awaitOffset(lastReg + 1)))
    registrationMs.push((performance.now() - t) / RSW_SENDERS)
    const lastVerdict = await submitAll(rt, parsed(verdicts))
    await rt.runPromise(Effect.flatMap(ProjectionRunner.Projections, (r) => r.awaitOffset(lastVerdict + 1)))
    if (HashMap.size((await mempoolState(rt)).moduli) !== RSW_SENDERS) throw new Error("rsw: a registration was refused")
  }
  const rounds = await measure([orders], (s) => (entriesBy(s, "rsw", "committed") === RSW_N ? undefined : "rsw: not every puzzle order was folded"), register)
  registrationFoldMs = median(registrationMs)
  console.log(
    `rsw set-up: ${RSW_SENDERS} 2048-bit keys with modulus proofs in ${keySecs.toFixed(1)} s; registration message ${fmt(size)} B ` +
      `(cap 65,536), admitted and folded (queued for its check) in ${registrationFoldMs.toFixed(1)} ms each; ` +
      `its proof checked on a worker thread in ${registrationCheckMs.toFixed(0)} ms each, this thread's event loop delayed ${checkLoopDelayMs.toFixed(1)} ms at most meanwhile`
  )
  report("rsw", RSW_N, rounds, ` (clients' side: ${fmt(RSW_N / createSecs)} puzzles/s created, T = ${fmt(RSW_T)})`)

  // The instance's side: squarings/s (what sizes T), and checking a published solution (what the fold pays).
  const key = keys[0] as Rsw.RswKey
  const SQ = 1 << 18
  let v = Rsw.puzzleBase(key.n, 1, rnd(32))
  t0 = performance.now()
  for (let i = 0; i < SQ; i++) v = (v * v) % key.n
  squaringsPerSec = SQ / seconds(t0)
  const small = Rsw.createPuzzle(key, 1 << 16, orderBytes(order(1)), rnd(32))
  const solver = await Effect.runPromise(WorkerRswSolver.make({ concurrency: 1 }))
  t0 = performance.now()
  const solution = await Effect.runPromise(solver.solve(small))
  const solveSecs = seconds(t0)
  t0 = performance.now()
  for (let i = 0; i < 20; i++) if (Result.isFailure(Rsw.verifySolution(small, solution))) throw new Error("rsw: solution does not verify")
  rswCheckMs = (performance.now() - t0) / 20
  console.log(
    `rsw instance side: ${fmt(squaringsPerSec)} squarings/s (2048-bit, one thread); a puzzle of T = 2^16 solved with its proof on a worker thread in ` +
      `${solveSecs.toFixed(2)} s; a published solution checked and opened in ${rswCheckMs.toFixed(1)} ms; ` +
      `a lock of 12 s at this speed is T = ${fmt(12 * squaringsPerSec)}, one core-batch per puzzle: ${availableParallelism()} such puzzles per 12 s batch on ${availableParallelism()} cores`
  )
}

console.log(JSON.stringify({
  admittedPerSec: { plain: rates["plain"], commitReveal: rates["commitReveal"], tlock: rates["tlock"], rsw: rates["rsw"] },
  orders: { plain: N, commitReveal: N, tlock: TLOCK_N, rsw: RSW_N },
  rswSquaringsPerSec: Math.round(squaringsPerSec),
  rswSolutionCheckMs: Math.round(rswCheckMs * 100) / 100,
  rswRegistrationFoldMs: Math.round(registrationFoldMs * 10) / 10,
  rswRegistrationCheckMs: Math.round(registrationCheckMs),
  rswCheckEventLoopDelayMaxMs: Math.round(checkLoopDelayMs * 10) / 10
}))
