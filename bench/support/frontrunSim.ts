/**
 * The frontrun simulation (docs/frontrun.md): victims trade on a constant-product pool
 * through a real causeway server; a searcher who sees every broadcast and everything the
 * server shows tries to sandwich them; the pool executes each sealed batch in its processing
 * order (batch, position, from the instance's signed receipts); the referee counts the
 * sandwiches that used a victim's content and made a profit.
 *
 * One run per mode, each on a fresh server, the same searcher and network in all three:
 * - baseline: victims broadcast plain `UserOrder`s (a plain FIFO mempool: content public at
 *   broadcast, positions by arrival);
 * - commitReveal: victims broadcast an `OrderCommitment`, then, once its batch is sealed, the
 *   `OrderReveal` (naming the seal, as the mempool requires);
 * - timelock: victims broadcast a `TimelockedOrder` locked to a beacon round after the
 *   seal; the sealer publishes the plaintext once the batch is sealed and the round is out.
 *
 * Attempts run one after another, one victim per batch: a victim is broadcast once the
 * previous victim's batch is sealed. Between batches the pool returns to its reference
 * reserves (arbitrage against the outside market), so attempts are independent and the
 * searcher knows the state each victim meets.
 */
import { randomBytes } from "node:crypto"
import { bytesToHex } from "@noble/hashes/utils.js"
import { generateKey } from "../../src/domain/Keys.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import { commitmentOf, orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { encryptToRound } from "../../src/domain/timelock/Tlock.ts"
import { type Execution, type PoolSpec, defaultPool, executeBatch, planSandwich, poolOrder, swap } from "./frontrunAmm.ts"
import { type Delivery, Participant, PublicNetwork } from "./frontrunNetwork.ts"
import { type Processed, Referee, judge } from "./frontrunReferee.ts"
import { startSearcher, type SearcherReport } from "./frontrunSearcher.ts"
import { startServer } from "./frontrunServer.ts"

/** The three mempools compared. */
export const modes = ["baseline", "commitReveal", "timelock"] as const
export type Mode = (typeof modes)[number]

/** Knobs of a run. */
export interface SimOptions {
  /** Victims (= attack attempts) per mode. */
  readonly attempts: number
  /** The sealer's batch window and tick. */
  readonly windowMs: number
  readonly tickMs: number
  /** The local beacon's round period, seconds. */
  readonly beaconPeriod: number
  /** A victim's propagation delay to the sequencer: uniform in [min, max] ms. */
  readonly victimDelayMs: readonly [number, number]
  /** The searcher's propagation delay to the sequencer, ms. */
  readonly searcherDelayMs: number
  /** The searcher's API poll interval. */
  readonly pollMs: number
  /** Front-leg size of the searcher's blind sandwiches (fraction of the quote reserve, in basis points); 0 for none. */
  readonly blindBps: number
  /** Decryption worker threads. */
  readonly workers: number
  /**
   * Time-lock victims lock to a round out only after their batch's seal (what a client must
   * do), or, as a faulty client would, to a round already out when they broadcast.
   */
  readonly lockTo: "roundAfterSeal" | "roundAlreadyOut"
  readonly pool: PoolSpec
  /** Progress lines. */
  readonly log: (line: string) => void
}

/** Defaults of the benchmark. */
export const defaultSimOptions: SimOptions = {
  attempts: 40,
  windowMs: 1000,
  tickMs: 25,
  beaconPeriod: 1,
  victimDelayMs: [150, 250],
  searcherDelayMs: 5,
  pollMs: 100,
  blindBps: 50,
  workers: 2,
  lockTo: "roundAfterSeal",
  pool: defaultPool,
  log: () => undefined
}

/** What one mode's run measured. */
export interface ModeResult {
  readonly mode: Mode
  readonly attempts: number
  readonly successes: number
  /** Sandwiches that met every condition but the statement of the victim's order (luck). */
  readonly blindProfitable: number
  /** Attempts with a blind front leg. */
  readonly blindAttempts: number
  /** Attempts with an informed front leg (the searcher read the order first). */
  readonly informedAttempts: number
  /** Victims whose order the searcher read before their batch's seal (instance clock). */
  readonly contentBeforeSeal: number
  /** For orders read only after the seal: how long after (ms), median. */
  readonly contentAfterSealMs: number | null
  /** Where the searcher first read each victim's order. */
  readonly contentChannels: Readonly<Record<string, number>>
  /** Why attempts failed. */
  readonly failures: Readonly<Record<string, number>>
  /** Victims whose order executed at the pool. */
  readonly victimsExecuted: number
  /**
   * The searcher's net result over every leg that executed, valued at the reference price
   * (the pool returns to it after each batch), in quote units (decimal strings): its informed
   * legs and its blind legs apart. A blind front leg whose back leg did not execute leaves it
   * holding base bought above the reference price: a loss.
   */
  readonly pnl: { readonly informed: string; readonly blind: string }
  readonly batches: number
  /** Every batch's processing order passed POST /v1/mempool/verify-ordering. */
  readonly fair: boolean
  readonly observations: Readonly<Record<string, number>>
  readonly seconds: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const randomBelow = (n: bigint): bigint => BigInt(`0x${randomBytes(48).toString("hex")}`) % n
const randomInt = (lo: number, hi: number): number => lo + Number(randomBelow(BigInt(hi - lo + 1)))

/**
 * A victim's order: a random side; amountIn uniform over 0.3%–1.5% of the reserve it pays
 * into, to the unit (the buy range spans about 3.6·10^22 units, the sell range 1.2·10^19);
 * a slippage tolerance of 1%–3% below the output it expects now. Only orders a sandwich can
 * profit from are kept (an attempt is an opportunity).
 */
export const victimOrder = (pool: PoolSpec): UserOrder => {
  const reference = { base: pool.base, quote: pool.quote }
  for (;;) {
    const side = randomBelow(2n) === 0n ? "buy" : "sell"
    const reserveIn = side === "buy" ? pool.quote : pool.base
    const amountIn = (reserveIn * 3n) / 1000n + randomBelow((reserveIn * 12n) / 1000n)
    const toleranceBps = BigInt(randomInt(100, 300))
    const expected = swap(reference, side, amountIn, pool.feeBps).out
    const order = poolOrder(pool, side, amountIn, (expected * (10_000n - toleranceBps)) / 10_000n)
    if (planSandwich(pool, reference, order, reserveIn / 10n) !== undefined) return order
  }
}

interface HttpReply {
  readonly status: number
  readonly json: any
  readonly text: string
}

const http = async (base: string, path: string, init: RequestInit = {}): Promise<HttpReply> => {
  const r = await fetch(base + path, init)
  const text = await r.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: r.status, json, text }
}

/** Poll `f` until it returns a value (every `everyMs`), or fail after `ms`. */
const until = async <A>(what: string, f: () => Promise<A | undefined>, ms: number, everyMs = 25): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    const a = await f()
    if (a !== undefined) return a
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(everyMs)
  }
}

const accepted = (d: Delivery, what: string): Delivery => {
  if (d.status !== 201) throw new Error(`${what} was refused: ${d.status} ${d.text}`)
  return d
}

const FINAL = new Set(["expired", "cancelled", "refused"])

/**
 * The pool executes every sealed batch: its entries in position order (the signed receipts),
 * each once disclosed (plain: at the seal; commitment: at its reveal; time-locked: at its
 * decryption), starting from the reference reserves. The processing order is checked with the
 * server's verify-ordering endpoint.
 */
const executeSealed = async (base: string, pool: PoolSpec, instanceKey: string, timeoutMs: number) => {
  const processed = new Map<string, Processed>()
  const receipts: Array<unknown> = []
  const processing: Array<string> = []
  let batches = 0
  for (;;) {
    const b = await http(base, `/v1/mempool/batches/${batches}`)
    if (b.status === 404) break
    const rs = await http(base, `/v1/mempool/batches/${batches}/receipts?limit=1000`)
    const seats = rs.json.receipts as Array<{ orderId: string; batch: number; position: number }>
    const orders: Array<{ id: string; position: number; order: UserOrder | null; status: string }> = []
    for (const r of seats) {
      const view = await until(`the disclosure of ${r.orderId}`, async () => {
        const v = (await http(base, `/v1/mempool/orders/${r.orderId}`)).json as { order: UserOrder | null; status: string }
        return v.order !== null || FINAL.has(v.status) ? v : undefined
      }, timeoutMs, 100)
      orders.push({ id: r.orderId, position: r.position, order: view.order, status: view.status })
    }
    const disclosed = orders.filter((o) => o.order !== null)
    const executions = executeBatch(pool, { base: pool.base, quote: pool.quote }, disclosed.map((o) => o.order as UserOrder))
    disclosed.forEach((o, i) => processed.set(o.id, { seat: { batch: batches, position: o.position }, execution: executions[i] as Execution }))
    for (const o of orders) {
      if (o.order === null) processed.set(o.id, { seat: { batch: batches, position: o.position }, execution: { executed: false, reason: o.status } })
    }
    processing.push(...disclosed.map((o) => o.id))
    receipts.push(...rs.json.receipts)
    batches++
  }
  const verdict = await http(base, "/v1/mempool/verify-ordering", {
    method: "POST",
    body: JSON.stringify({ processingOrder: processing, receipts, instanceKey }),
    headers: { "content-type": "application/json" }
  })
  return { processed, batches, fair: verdict.status === 200 && verdict.json?.fair === true, verdict: verdict.text }
}

/** The net token flows of executed legs, valued at the pool's reference price, in quote units. */
const valueOf = (pool: PoolSpec, legs: ReadonlyArray<Execution | undefined>): bigint => {
  let quote = 0n
  let base = 0n
  for (const leg of legs) {
    if (leg?.executed !== true) continue
    if (leg.side === "buy") {
      quote -= leg.amountIn
      base += leg.amountOut
    } else {
      base -= leg.amountIn
      quote += leg.amountOut
    }
  }
  return quote + (base * pool.quote) / pool.base
}

const tally = (record: Record<string, number>, key: string) => {
  record[key] = (record[key] ?? 0) + 1
}

/** Run one mode: a fresh server, `attempts` victims, the searcher on every channel, the pool, the referee. */
export const runMode = async (mode: Mode, options: SimOptions): Promise<ModeResult> => {
  const t0 = performance.now()
  const { pool } = options
  const server = await startServer({ windowMs: options.windowMs, tickMs: options.tickMs, beaconPeriod: options.beaconPeriod, workers: options.workers })
  const network = new PublicNetwork(server.base)
  const referee = new Referee()
  const searcher = startSearcher({
    base: server.base,
    network,
    logs: server.logs,
    referee,
    pool,
    instanceKey: server.instanceKey,
    key: generateKey("ed25519"),
    delayMs: options.searcherDelayMs,
    pollMs: options.pollMs,
    beacon: server.roundSignature,
    blindQuoteIn: options.blindBps > 0 ? (pool.quote * BigInt(options.blindBps)) / 10_000n : null
  })
  let report: SearcherReport | undefined
  try {
    const victims: Array<{ id: MessageId; order: UserOrder; batch: number; sealedAt: number }> = []
    const reveals: Array<Promise<Delivery>> = []
    const [lo, hi] = options.victimDelayMs
    for (let i = 0; i < options.attempts; i++) {
      const order = victimOrder(pool)
      const victim = new Participant(generateKey("ed25519"), network, () => randomInt(lo, hi))
      let salt = ""
      const envelope = mode === "baseline"
        ? victim.message("UserOrder", order)
        : mode === "commitReveal"
        ? victim.message("OrderCommitment", { commitment: commitmentOf(order, salt = bytesToHex(randomBytes(32))) })
        : (() => {
          // A round out only after the seal: the window, the delay and a round of margin ahead.
          const round = options.lockTo === "roundAfterSeal"
            ? roundAt(server.chain, Date.now() + hi + options.windowMs + 1000 * options.beaconPeriod) + 1
            : roundAt(server.chain, Date.now()) - 1
          return victim.message("TimelockedOrder", { scheme: "tlock", round, ciphertext: encryptToRound(server.chain, round, orderBytes(order)) })
        })()
      const id = idOf(envelope)
      accepted(await victim.send(envelope), `victim ${i}`)
      const view = await until(`the seal of victim ${i}`, async () => {
        const v = (await http(server.base, `/v1/mempool/orders/${id}`)).json as { batch: number; sealId: string | null; sealedAt: number | null }
        return v.sealId !== null ? v : undefined
      }, options.windowMs * 10 + 10_000)
      victims.push({ id, order, batch: view.batch, sealedAt: view.sealedAt as number })
      if (mode === "commitReveal") {
        const seal = (await http(server.base, `/v1/messages/${view.sealId}`)).json as { lamport: number }
        reveals.push(victim.send(victim.message("OrderReveal", { commitmentId: id, order, salt }, { deps: [view.sealId as MessageId], above: seal.lamport })))
      }
      options.log(`${mode}: victim ${i + 1}/${options.attempts} sealed in batch ${view.batch}`)
    }
    for (const r of await Promise.all(reveals)) accepted(r, "a reveal")
    const executed = await executeSealed(server.base, pool, server.instanceKey, 60_000)
    // Every order is disclosed now; give the searcher's channels a moment to deliver it.
    await until("the searcher to read every order", async () => (victims.every((v) => searcher.hasRead(v.id)) ? true : undefined), 3000).catch(() => undefined)
    report = await searcher.stop()

    const byTarget = new Map(report.targets.map((t) => [t.id, t]))
    let successes = 0
    let blindProfitable = 0
    let blindAttempts = 0
    let informedAttempts = 0
    let contentBeforeSeal = 0
    let victimsExecuted = 0
    let pnlInformed = 0n
    let pnlBlind = 0n
    const after: Array<number> = []
    const failures: Record<string, number> = {}
    const contentChannels: Record<string, number> = {}
    for (const v of victims) {
      const t = byTarget.get(v.id)
      const frontId = t?.frontId ?? null
      const claim = referee.claimFor(frontId, v.id)
      if (t?.blind === true) blindAttempts++
      else if (frontId !== null) informedAttempts++
      if (t?.contentAt != null) {
        tally(contentChannels, t.contentChannel ?? "?")
        if (t.contentAt < v.sealedAt) contentBeforeSeal++
        else after.push(t.contentAt - v.sealedAt)
      } else tally(contentChannels, "never")
      if (executed.processed.get(v.id)?.execution.executed === true) victimsExecuted++
      const pnl = valueOf(pool, [frontId, t?.backId ?? null].map((id) => (id === null ? undefined : executed.processed.get(id)?.execution)))
      if (t?.blind === true) pnlBlind += pnl
      else pnlInformed += pnl
      const verdict = judge({ victimId: v.id, victim: v.order, frontId, backId: t?.backId ?? null, claim }, executed.processed)
      if (verdict.outcome === "failed") {
        tally(failures, t?.note ?? verdict.reason)
        continue
      }
      if (verdict.outcome === "success") successes++
      else blindProfitable++
    }
    after.sort((a, b) => a - b)
    return {
      mode,
      attempts: victims.length,
      successes,
      blindProfitable,
      blindAttempts,
      informedAttempts,
      contentBeforeSeal,
      contentAfterSealMs: after.length === 0 ? null : (after[after.length >> 1] as number),
      contentChannels,
      failures,
      victimsExecuted,
      pnl: { informed: pnlInformed.toString(), blind: pnlBlind.toString() },
      batches: executed.batches,
      fair: executed.fair,
      observations: report.observations,
      seconds: (performance.now() - t0) / 1000
    }
  } finally {
    if (report === undefined) await searcher.stop()
    await server.close()
  }
}
