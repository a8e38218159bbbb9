/**
 * The sealer: the instance's hand in the mempool. On every tick it
 * 1. closes the open batch (BatchSealed) once `windowMs` has passed since the last seal and
 *    the batch holds something, stamping the beacon's current round;
 * 2. expires sealed commitments not revealed within `revealWindowMs` of their seal
 *    (CommitmentExpired), and orders (OrderExpired) past their envelope's expiry, disclosed
 *    ones unfilled `maxOrderLifetimeMs` after their seal, and the oldest sealed ones beyond
 *    `maxOpenOrders` open at once (the mempool's bounds: its memory stays flat under a flood);
 * 3. decrypts the time-locked orders of sealed batches whose round is out: fetches the
 *    verified round signature from the Beacon, opens the ciphertexts through the
 *    TlockDecrypter, and publishes the plaintexts (BatchDecrypted), earliest deadline first;
 * 4. starts solving the RSW puzzles of sealed batches on the RswSolver (worker threads, as
 *    many at once as it has), earliest deadline first, and publishes each solution with its
 *    Wesolowski proof (BatchDecrypted, scheme rsw) when it is done; ticks go on meanwhile;
 * 5. checks the modulus proofs of pending RSW modulus registrations on the RswModulusChecker
 *    (a worker thread: ~1 s each at 2,048 bits, never on the event loop), in log order, and
 *    publishes each verdict (RswModulusVerified) when it is done.
 *
 * Every decision is an event published through Author, so replay reproduces it; the
 * sealer reads the mempool projection and waits for it to fold each of its own events
 * before deciding again, so it never decides twice on a stale view. It logs counts, never
 * content.
 */
import { isLeader } from "../domain/cluster/Authority.ts"
import { Clock, Context, Duration, Effect, FiberSet, HashMap, Layer, Metric, Option, Result, Schedule } from "effect"
import {
  type Entry,
  type MempoolState,
  batchOf,
  entryOf,
  isSealed,
  puzzleOf,
  statusOf
} from "../domain/mempool/MempoolFold.ts"
import { type DecryptedOrder, MAX_IDS_PER_EVENT } from "../domain/mempool/MempoolMessages.ts"
import { orderFromBytes } from "../domain/mempool/OrderBytes.ts"
import { modulusOfRegistration, solvedOf } from "../domain/mempool/RswOrders.ts"
import type { MessageType, PayloadInput } from "../domain/MessageTypes.ts"
import type { MessageId } from "../domain/Primitives.ts"
import { Beacon } from "../ports/Beacon.ts"
import { CausalLog } from "../ports/CausalLog.ts"
import { RswModulusChecker } from "../ports/RswModulusChecker.ts"
import { RswSolver } from "../ports/RswSolver.ts"
import { TlockDecrypter } from "../ports/TlockDecrypter.ts"
import { mempoolEventOf } from "../projections/Mempool/Mempool.ts"
import { MempoolView } from "../projections/Views.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { Author } from "./Author.ts"

/** Tunables of the sealer. */
export interface SealerOptions {
  /** A batch is sealed this long after the previous seal (if it holds anything). */
  readonly windowMs: number
  /** A sealed commitment must be revealed within this long of its seal. */
  readonly revealWindowMs: number
  /** How often the sealer looks at the mempool. */
  readonly tickMs: number
  /** A disclosed order (revealed) still open this long after its batch's seal is expired; 0: never. */
  readonly maxOrderLifetimeMs: number
  /** Most open orders (committed or revealed, not matched) at once: the oldest sealed ones beyond it are expired; 0: no bound. */
  readonly maxOpenOrders: number
  /** Largest BatchDecrypted payload, in bytes of JSON (the message cap is 64 KiB). */
  readonly maxDecryptedBytes: number
  /** Run the loop in the background (false: callers drive `tick`, as tests do). */
  readonly background: boolean
}

/** Defaults: 12 s batches, a 24 s reveal window, orders open at most 2 min (ten batches) and 20,000 at once, a tick per second. */
export const defaultSealerOptions: SealerOptions = {
  windowMs: 12_000,
  revealWindowMs: 24_000,
  maxOrderLifetimeMs: 120_000,
  maxOpenOrders: 20_000,
  tickMs: 1000,
  maxDecryptedBytes: 48_000,
  background: true
}

/** What one tick did. */
export interface TickReport {
  readonly sealed: number | null
  readonly expiredCommitments: number
  readonly expiredOrders: number
  readonly decrypted: number
  /** RSW puzzles whose solve started (their solutions are published when done). */
  readonly solving: number
  /** RSW modulus registrations whose proof check started (their verdicts are published when done). */
  readonly checking: number
}

/** The sealer service. */
export interface SealerService {
  /** Seal, expire and decrypt as due now. */
  readonly tick: Effect.Effect<TickReport>
  /** Seal the open batch now if it holds anything (ignores the window); its number. */
  readonly sealNow: Effect.Effect<Option.Option<number>>
  /** Wait until every RSW solve started so far has published its solution (or failed). */
  readonly solved: Effect.Effect<void>
  /** Wait until every modulus check started so far has published its verdict (or failed). */
  readonly checked: Effect.Effect<void>
}

/** The sealer tag. */
export class Sealer extends Context.Service<Sealer, SealerService>()("causeway/Sealer") {}

const sealedBatches = Metric.counter("causeway_mempool_batches_sealed_total", { description: "Batches the instance sealed" })
const expiredCommitments = Metric.counter("causeway_mempool_commitments_expired_total", { description: "Commitments expired unrevealed" })
const expiredOrders = Metric.counter("causeway_mempool_orders_expired_total", { description: "Orders expired unfilled" })
const decryptedOrders = Metric.counter("causeway_mempool_orders_decrypted_total", { description: "Time-locked orders decrypted (opened or failed)" })
const solvedPuzzles = Metric.counter("causeway_mempool_puzzles_solved_total", { description: "RSW puzzles solved and published" })
const checkedModuli = Metric.counter("causeway_mempool_moduli_checked_total", { description: "RSW modulus proofs checked and their verdicts published" })

/** A scan of the live entries yields once every SCAN_STEP + 1 of them. */
const SCAN_STEP = 1023

const chunks = <A>(xs: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size))
  return out
}

/**
 * The near-expiry rule (docs/mempool.md): work that does not decide a position is done
 * earliest deadline first — by envelope expiry (none last), then batch, then position.
 */
export const byDeadline = (a: Entry, b: Entry): number =>
  (a.expiry ?? Number.MAX_SAFE_INTEGER) - (b.expiry ?? Number.MAX_SAFE_INTEGER) || a.batch - b.batch || a.position - b.position

const idle: TickReport = { sealed: null, expiredCommitments: 0, expiredOrders: 0, decrypted: 0, solving: 0, checking: 0 }

/** Build the sealer over Author, Projections, Beacon, TlockDecrypter, RswSolver, RswModulusChecker and CausalLog. */
export const make = (options: SealerOptions = defaultSealerOptions) =>
  Effect.gen(function*() {
    const author = yield* Author
    const runner = yield* Projections
    const beacon = yield* Beacon
    const decrypter = yield* TlockDecrypter
    const solver = yield* RswSolver
    const checker = yield* RswModulusChecker
    const log = yield* CausalLog
    const mempoolView = yield* MempoolView

    // The projection keeps no ciphertexts (they would bloat every snapshot): read each from the log when due.
    const ciphertextOf = (id: string): Effect.Effect<string | undefined> =>
      log.get(id).pipe(
        Effect.map((found) => {
          if (Option.isNone(found)) return undefined
          const event = mempoolEventOf(found.value)
          return event?.type === "TimelockedOrder" ? event.payload.ciphertext : undefined
        }),
        Effect.orElseSucceed(() => undefined)
      )

    const view = mempoolView.state

    // Publish a decision and wait until the projection has folded it.
    const decide = <T extends MessageType>(type: T, payload: PayloadInput<T>, deps: ReadonlyArray<MessageId> = []) =>
      author.publish(type, payload, { deps }).pipe(
        Effect.tap((r) => runner.awaitOffset(r.offset + 1)),
        Effect.tapError((e) => Effect.logWarning(`sealer: ${type} was not accepted: ${e._tag}`)),
        Effect.option
      )

    const seal = Effect.fn("Sealer.seal")(function*(state: MempoolState, now: number) {
      const sealed = yield* decide("BatchSealed", { batch: state.batch, sealedAt: now, beaconRound: beacon.roundAt(now) })
      if (Option.isNone(sealed)) return Option.none<number>()
      yield* Metric.update(sealedBatches, 1)
      yield* Effect.logInfo(`sealed batch ${state.batch} (${HashMap.size(state.open)} entries)`)
      return Option.some(state.batch)
    })

    // When this sealer first saw the open batch hold something: a batch stays open for a
    // whole window after that and after the previous seal.
    let openSeenAt: number | undefined

    const sealNow = Effect.gen(function*() {
      const state = yield* view
      if (HashMap.size(state.open) === 0 || !isLeader(state.authority, author.publicKey)) return Option.none<number>()
      const sealed = yield* seal(state, yield* Clock.currentTimeMillis)
      if (Option.isSome(sealed)) openSeenAt = undefined
      return sealed
    })

    const sweep = Effect.fn("Sealer.sweep")(function*(state: MempoolState, now: number) {
      const commitments: Array<MessageId> = []
      const orders: Array<MessageId> = []
      // Open orders not expired by this sweep, sealed ones: the oldest go beyond `maxOpenOrders`.
      let open = 0
      const sealedOpen: Array<Entry> = []
      let scanned = 0
      for (const id of HashMap.keys(state.live)) {
        // The state is immutable: the scan gives the event loop back as it goes (20,000 open
        // orders held it for 30 ms in one go).
        if ((++scanned & SCAN_STEP) === 0) yield* Effect.yieldNow
        const e = entryOf(state, id)
        if (e === undefined || (e.status !== "committed" && e.status !== "revealed")) continue
        const batch = isSealed(state, e) ? batchOf(state, e.batch) : undefined
        if (e.expiry !== null && e.expiry <= now) orders.push(e.id as MessageId)
        else if (e.mode === "commit" && e.status === "committed" && batch !== undefined) {
          if (batch.sealedAt + options.revealWindowMs <= now) commitments.push(e.id as MessageId)
          else open++
        } else if (options.maxOrderLifetimeMs > 0 && batch !== undefined && statusOf(state, e) === "revealed" && batch.sealedAt + options.maxOrderLifetimeMs <= now) {
          orders.push(e.id as MessageId)
        } else {
          open++
          if (batch !== undefined && options.maxOpenOrders > 0) sealedOpen.push(e)
        }
      }
      if (options.maxOpenOrders > 0 && open > options.maxOpenOrders) {
        sealedOpen.sort((a, b) => a.batch - b.batch || a.position - b.position)
        for (const e of sealedOpen.slice(0, open - options.maxOpenOrders)) orders.push(e.id as MessageId)
      }
      let c = 0
      let o = 0
      for (const ids of chunks(commitments.sort(), MAX_IDS_PER_EVENT)) {
        if (Option.isSome(yield* decide("CommitmentExpired", { commitmentIds: ids, at: now }))) c += ids.length
      }
      for (const ids of chunks(orders.sort(), MAX_IDS_PER_EVENT)) {
        if (Option.isSome(yield* decide("OrderExpired", { orderIds: ids, at: now }))) o += ids.length
      }
      yield* Metric.update(expiredCommitments, c)
      yield* Metric.update(expiredOrders, o)
      if (c + o > 0) yield* Effect.logInfo(`expired ${c} commitments and ${o} orders`)
      return { commitments: c, orders: o }
    })

    const decryptDue = Effect.fn("Sealer.decryptDue")(function*(state: MempoolState, now: number) {
      const out = beacon.roundAt(now)
      const due: Array<Entry> = []
      let scanned = 0
      for (const id of HashMap.keys(state.live)) {
        // The state is immutable: the scan gives the event loop back as it goes (20,000 open
        // orders held it for 30 ms in one go).
        if ((++scanned & SCAN_STEP) === 0) yield* Effect.yieldNow
        const e = entryOf(state, id)
        if (e?.mode === "tlock" && e.order === null && e.status === "committed" && isSealed(state, e) && (e.round ?? Infinity) <= out) due.push(e)
      }
      if (due.length === 0) return 0
      due.sort(byDeadline)
      let done = 0
      // Consecutive entries of one (batch, round) go in one event, in deadline order.
      let i = 0
      while (i < due.length) {
        const first = due[i] as Entry
        const group: Array<Entry> = []
        while (i < due.length && group.length < MAX_IDS_PER_EVENT && (due[i] as Entry).batch === first.batch && (due[i] as Entry).round === first.round) {
          group.push(due[i] as Entry)
          i++
        }
        const round = first.round as number
        const fetched = yield* Effect.result(beacon.fetchRound(round))
        if (Result.isFailure(fetched)) {
          yield* Effect.logWarning(`sealer: round ${round} unavailable (${fetched.failure._tag}); retrying on the next tick`)
          continue
        }
        const signature = fetched.success.signature
        const items: Array<{ readonly entry: Entry; readonly ciphertext: string | undefined }> = []
        for (const entry of group) items.push({ entry, ciphertext: yield* ciphertextOf(entry.id) })
        const opened = yield* decrypter.decryptBatch(
          items.map((x) => ({ ciphertext: x.ciphertext ?? "", signature })),
          { chainHash: beacon.chainInfo.chainHash }
        ).pipe(Effect.result)
        if (Result.isFailure(opened)) {
          yield* Effect.logWarning(`sealer: decryption failed (${opened.failure.reason}); retrying on the next tick`)
          continue
        }
        const results: Array<DecryptedOrder> = items.map((x, k) => {
          const r = opened.success[k]
          const orderId = x.entry.id as MessageId
          if (r === undefined || Result.isFailure(r)) return { orderId, failure: (r === undefined ? "no result" : `${r.failure._tag}: ${r.failure.reason}`).slice(0, 256) }
          const order = orderFromBytes(r.success)
          return Result.isSuccess(order) ? { orderId, order: order.success } : { orderId, failure: order.failure }
        })
        // Split by size: the message cap is 64 KiB.
        let part: Array<DecryptedOrder> = []
        let bytes = 0
        const flush = Effect.gen(function*() {
          if (part.length === 0) return
          const payload = { batch: first.batch, scheme: "tlock" as const, round, signature, results: part }
          if (Option.isSome(yield* decide("BatchDecrypted", payload))) done += part.length
          part = []
          bytes = 0
        })
        for (const r of results) {
          const size = JSON.stringify(r).length + 1
          if (bytes + size > options.maxDecryptedBytes) yield* flush
          part.push(r)
          bytes += size
        }
        yield* flush
      }
      yield* Metric.update(decryptedOrders, done)
      if (done > 0) yield* Effect.logInfo(`published the decryption of ${done} time-locked orders`)
      return done
    })

    // Solves run beside the ticks (a puzzle takes as long as its creator chose); an id stays
    // in flight until its solution is folded, so no tick starts it twice.
    const solves = yield* FiberSet.make<void, never>()
    const inFlight = new Set<string>()

    const solveDue = Effect.fn("Sealer.solveDue")(function*(state: MempoolState) {
      const due: Array<Entry> = []
      for (const id of HashMap.keys(state.puzzles)) {
        const e = entryOf(state, id)
        if (e?.mode === "rsw" && e.status === "committed" && isSealed(state, e) && !inFlight.has(id)) due.push(e)
      }
      due.sort(byDeadline)
      let started = 0
      for (const entry of due) {
        if (inFlight.size >= solver.concurrency) break
        const puzzle = puzzleOf(state, entry.id)
        if (puzzle === undefined) continue
        inFlight.add(entry.id)
        started++
        const publish = solver.solve(puzzle).pipe(
          Effect.flatMap((solution) =>
            decide("BatchDecrypted", { batch: entry.batch, scheme: "rsw", results: [solvedOf(entry.id as MessageId, solution)] })
          ),
          Effect.flatMap((published) => Option.isSome(published) ? Metric.update(solvedPuzzles, 1) : Effect.void),
          Effect.catch((e) => Effect.logWarning(`sealer: solving ${entry.id} failed (${e.reason}); retrying on the next tick`)),
          Effect.ensuring(Effect.sync(() => inFlight.delete(entry.id)))
        )
        yield* FiberSet.run(solves, publish)
      }
      if (started > 0) yield* Effect.logInfo(`solving ${started} RSW puzzles`)
      return started
    })

    // Modulus checks run beside the ticks, like solves; a registration stays in flight until its
    // verdict is folded (it then leaves `pendingModuli`), so no tick checks it twice.
    const checks = yield* FiberSet.make<void, never>()
    const checking = new Set<string>()

    const registrationOf = (id: string) =>
      log.get(id).pipe(
        Effect.map((found) => {
          const event = Option.isNone(found) ? undefined : mempoolEventOf(found.value)
          return event?.type === "RswModulusRegistration" ? modulusOfRegistration(event.payload) : undefined
        }),
        Effect.orElseSucceed(() => undefined)
      )

    const checkDue = Effect.fn("Sealer.checkDue")(function*(state: MempoolState) {
      const due = [...state.pendingModuli].filter(([id]) => !checking.has(id)).sort(([, a], [, b]) => a.offset - b.offset)
      let started = 0
      for (const [id] of due) {
        if (checking.size >= checker.concurrency) break
        const decoded = yield* registrationOf(id)
        // The fold decoded this registration before queueing it: only a damaged log gets here.
        if (decoded === undefined || Result.isFailure(decoded)) {
          yield* Effect.logWarning(`sealer: registration ${id} could not be read back from the log`)
          continue
        }
        const { n, proof } = decoded.success
        checking.add(id)
        started++
        const publish = checker.check(n, proof, n.toString(2).length).pipe(
          Effect.flatMap((verdict) =>
            decide(
              "RswModulusVerified",
              Result.isSuccess(verdict) ? { registrationId: id, ok: true } : { registrationId: id, ok: false, reason: verdict.failure.reason.slice(0, 256) },
              [id as MessageId]
            )
          ),
          Effect.flatMap((published) => Option.isSome(published) ? Metric.update(checkedModuli, 1) : Effect.void),
          Effect.catch((e) => Effect.logWarning(`sealer: checking modulus ${id} failed (${e.reason}); retrying on the next tick`)),
          Effect.ensuring(Effect.sync(() => checking.delete(id)))
        )
        yield* FiberSet.run(checks, publish)
      }
      if (started > 0) yield* Effect.logInfo(`checking ${started} RSW modulus proofs`)
      return started
    })

    const tick: Effect.Effect<TickReport> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      let state = yield* view
      // Only the leader decides (a deployment of one: always this instance). A member that
      // is not the leader starts the window afresh when it becomes it.
      if (!isLeader(state.authority, author.publicKey)) {
        openSeenAt = undefined
        return idle
      }
      let sealed: number | null = null
      if (HashMap.size(state.open) > 0) {
        openSeenAt ??= now
        const last = state.batch === 0 ? undefined : batchOf(state, state.batch - 1)
        if (now - Math.max(openSeenAt, last?.sealedAt ?? 0) >= options.windowMs) {
          sealed = Option.getOrNull(yield* seal(state, now))
          if (sealed !== null) openSeenAt = undefined
          state = yield* view
        }
      }
      const expired = yield* sweep(state, now)
      const decrypted = yield* decryptDue(yield* view, now)
      const solving = yield* solveDue(yield* view)
      const checking = yield* checkDue(yield* view)
      return { sealed, expiredCommitments: expired.commitments, expiredOrders: expired.orders, decrypted, solving, checking }
    })
    if (options.background) {
      // Decide only on a view that has caught up with the log as it was at start: a stale
      // view would propose a batch number the projection then refuses.
      const caughtUp = log.endOffset.pipe(Effect.orDie, Effect.flatMap((end) => runner.awaitOffset(end)))
      yield* caughtUp.pipe(
        Effect.andThen(tick.pipe(
          Effect.catchCause((cause) => Effect.logError("sealer tick failed", cause)),
          Effect.repeat(Schedule.spaced(Duration.millis(options.tickMs)))
        )),
        Effect.forkScoped
      )
    }
    return { tick, sealNow, solved: FiberSet.awaitEmpty(solves), checked: FiberSet.awaitEmpty(checks) } satisfies SealerService
  })

/** The sealer as a layer over Author, Projections, Beacon, TlockDecrypter, RswSolver, RswModulusChecker and CausalLog; its loop, solves and checks live in the layer's scope. */
export const layer = (options: Partial<SealerOptions> = {}) => Layer.effect(Sealer, make({ ...defaultSealerOptions, ...options }))
