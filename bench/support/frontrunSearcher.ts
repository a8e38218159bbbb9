/**
 * The searcher of the frontrun simulation. It gets exactly these inputs, the same in every
 * mode, and nothing of the victims' secrets:
 *
 * - the public network's gossip: every broadcast message (signed envelope) the moment it is
 *   broadcast, before it reaches the sequencer;
 * - the causeway server over HTTP: the global log stream (GET /v1/stream from 0), the status
 *   stream of every order it tracks (GET /v1/mempool/orders/{id}/events), and a poll every
 *   `pollMs` of the log pages, the pending-orders query, each tracked order's view and
 *   receipt, the latest batch's receipts, the processing order, the projections and /metrics;
 * - every line the server logs (Trace level);
 * - the public beacon: a round's signature once the round is out (with it, anyone opens a
 *   ciphertext locked to that round; the searcher tries every time-locked order it saw);
 * - public facts: the pool (market, reference reserves, fee) and the instance's public key.
 *
 * It acts through the same network, with a shorter propagation delay than the victims
 * (`delayMs`). Its strategy, one code path for all modes:
 *
 * - every JSON value it receives on any channel is searched for an order (anything that
 *   decodes as a UserOrder) and the message id it belongs to (the nearest enclosing
 *   `commitmentId`, `orderId` or `id`: a plain order's record, a reveal, a decryption, an
 *   order view);
 * - **informed sandwich**: as soon as it can read a victim's order while that order's batch
 *   is not sealed (as far as the log stream shows), it plans the most profitable sandwich
 *   (`planSandwich`), states the victim's order to the referee, broadcasts the front leg, and
 *   broadcasts the back leg once the victim's record appears in the log stream (so it is
 *   sequenced after the victim). Content it can read only after the seal is useless to it:
 *   the victim's position is final and no leg can precede it;
 * - **blind sandwich** (optional): for a victim message it cannot read (a commitment, a
 *   ciphertext), it races a front buy of a fixed size in ahead of it and a back sell after,
 *   guessing that the hidden order is a large buy on the pool. It states nothing.
 */
import { Result, Schema } from "effect"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { UserOrder } from "../../src/domain/mempool/MempoolMessages.ts"
import { orderFromBytes } from "../../src/domain/mempool/OrderBytes.ts"
import { decryptWithSignature } from "../../src/domain/timelock/Tlock.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import { type PoolSpec, planSandwich, poolOrder, sandwichOrders, swap } from "./frontrunAmm.ts"
import { type Broadcast, Participant, type PublicNetwork } from "./frontrunNetwork.ts"
import type { Referee } from "./frontrunReferee.ts"
import type { LogTap } from "./frontrunServer.ts"

/** What the searcher is given. */
export interface SearcherOptions {
  readonly base: string
  readonly network: PublicNetwork
  readonly logs: LogTap
  readonly referee: Referee
  readonly pool: PoolSpec
  readonly instanceKey: string
  readonly key: KeyFile
  /** Its propagation delay to the sequencer. */
  readonly delayMs: number
  /** Interval of its API poll. */
  readonly pollMs: number
  /** The public beacon: a round's signature once it is out, else null. */
  readonly beacon: (round: number) => string | null
  /** Front-leg size of a blind sandwich (quote units), or null for no blind sandwiches. */
  readonly blindQuoteIn: bigint | null
}

/** What the searcher did about one victim message. */
export interface TargetReport {
  readonly id: string
  readonly type: string
  /** When it saw the message in the gossip. */
  readonly seenAt: number
  /** When and where it first read the order's content (null: never). */
  readonly contentAt: number | null
  readonly contentChannel: string | null
  /** When the log stream showed the message's batch sealed. */
  readonly sealSeenAt: number | null
  readonly frontId: string | null
  readonly backId: string | null
  readonly blind: boolean
  /** Why it did not attack (when it did not). */
  readonly note: string | null
}

/** The searcher's account of its run. */
export interface SearcherReport {
  readonly targets: ReadonlyArray<TargetReport>
  /** Observations read, per channel. */
  readonly observations: Readonly<Record<string, number>>
  /** Order contents found, per channel (any order, the searcher's own included). */
  readonly contentsFound: Readonly<Record<string, number>>
}

/** A running searcher. */
export interface Searcher {
  /** Has it read the order of message `id` yet? */
  readonly hasRead: (id: string) => boolean
  /** Stop observing; what it did. */
  readonly stop: () => Promise<SearcherReport>
}

interface Target {
  readonly id: string
  readonly type: string
  readonly seenAt: number
  contentAt: number | null
  contentChannel: string | null
  offset: number | null
  sealSeenAt: number | null
  frontId: string | null
  backId: string | null
  back: UserOrder | null
  blind: boolean
  note: string | null
  streaming: boolean
  /** A time-locked order's round and ciphertext, from its broadcast. */
  lock: { readonly round: number; readonly ciphertext: string } | null
}

const isUserOrder = Schema.is(UserOrder)
const ID = /^[0-9a-f]{64}$/
const ID_KEYS = ["commitmentId", "orderId", "id"] as const

/** The id an order found under `ancestors` (nearest first) belongs to. */
const idFrom = (ancestors: ReadonlyArray<Record<string, unknown>>): string | undefined => {
  for (const a of ancestors) {
    for (const k of ID_KEYS) {
      const v = a[k]
      if (typeof v === "string" && ID.test(v)) return v
    }
  }
  return undefined
}

/** Every (id, order) pair inside a JSON value; strings holding JSON are opened too. */
export const ordersIn = (value: unknown): Array<{ readonly id: string; readonly order: UserOrder }> => {
  const out: Array<{ id: string; order: UserOrder }> = []
  const walk = (node: unknown, ancestors: ReadonlyArray<Record<string, unknown>>, depth: number): void => {
    if (depth > 32) return
    if (typeof node === "string") {
      if (/^\s*[[{]/.test(node)) {
        try {
          walk(JSON.parse(node), ancestors, depth + 1)
        } catch {
          // not JSON after all
        }
      }
      return
    }
    if (Array.isArray(node)) {
      for (const x of node) walk(x, ancestors, depth + 1)
      return
    }
    if (node !== null && typeof node === "object") {
      const o = node as Record<string, unknown>
      if (isUserOrder(o)) {
        const id = idFrom(ancestors)
        if (id !== undefined) out.push({ id, order: o })
      }
      const inner = [o, ...ancestors]
      for (const v of Object.values(o)) walk(v, inner, depth + 1)
    }
  }
  walk(value, [], 0)
  return out
}

/** Every (id, order) pair in a text: as JSON if it is, otherwise in each embedded {...} that parses. */
export const ordersInText = (text: string): Array<{ readonly id: string; readonly order: UserOrder }> => {
  try {
    return ordersIn(JSON.parse(text))
  } catch {
    const found: Array<{ id: string; order: UserOrder }> = []
    for (const m of text.matchAll(/\{[^\n]*\}/g)) found.push(...ordersIn(m[0]))
    return found
  }
}

/** Follow a Server-Sent Events URL, calling `onEvent` with each event's fields, until aborted or ended. */
const followSse = async (url: string, signal: AbortSignal, onEvent: (fields: Record<string, string>, raw: string) => void): Promise<void> => {
  try {
    const response = await fetch(url, { headers: { accept: "text/event-stream" }, signal })
    if (response.status !== 200 || response.body === null) return
    const reader = response.body.getReader()
    const decoder = new TextDecoder()
    let buffer = ""
    for (;;) {
      const chunk = await reader.read()
      if (chunk.done) return
      buffer += decoder.decode(chunk.value, { stream: true })
      let end = buffer.indexOf("\n\n")
      while (end !== -1) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        end = buffer.indexOf("\n\n")
        if (block.startsWith(":")) continue
        const fields: Record<string, string> = {}
        for (const line of block.split("\n")) {
          const colon = line.indexOf(":")
          if (colon > 0) fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "")
        }
        onEvent(fields, block)
      }
    }
  } catch {
    // aborted, or the server went away
  }
}

/** A TimelockedOrder payload's round and ciphertext. */
const lockOf = (payload: unknown): { readonly round: number; readonly ciphertext: string } | null => {
  const p = payload as { round?: unknown; ciphertext?: unknown } | null
  return typeof p?.round === "number" && typeof p.ciphertext === "string" ? { round: p.round, ciphertext: p.ciphertext } : null
}

const ORDER_TYPES = new Set(["UserOrder", "OrderCommitment", "TimelockedOrder"])

/** Start the searcher: it follows every channel until stopped. */
export const startSearcher = (options: SearcherOptions): Searcher => {
  const { pool } = options
  const self = new Participant(options.key, options.network, () => options.delayMs)
  const reference = { base: pool.base, quote: pool.quote }
  const targets = new Map<string, Target>()
  const contents = new Map<string, { order: UserOrder; at: number; channel: string }>()
  const observations: Record<string, number> = {}
  const contentsFound: Record<string, number> = {}
  const abort = new AbortController()
  const running: Array<Promise<unknown>> = []
  let lamportSeen = 0
  let latestBatch = 0

  const observed = (channel: string) => {
    observations[channel] = (observations[channel] ?? 0) + 1
  }

  const sealed = (t: Target) => t.sealSeenAt !== null

  const send = (order: UserOrder) => {
    const envelope = self.message("UserOrder", order)
    running.push(self.send(envelope))
    return { envelope, id: idOf(envelope) }
  }

  const sendBack = (t: Target) => {
    if (t.back === null || t.backId !== null || sealed(t)) return
    t.backId = send(t.back).id
  }

  // The informed sandwich: only with the victim's content, only while its batch is open.
  const informed = (t: Target) => {
    const c = contents.get(t.id)
    if (c === undefined || t.frontId !== null) return
    if (sealed(t)) {
      t.note = "content readable only after the victim's batch was sealed"
      return
    }
    const budget = (c.order.side === "buy" ? pool.quote : pool.base) / 10n
    const plan = planSandwich(pool, reference, c.order, budget)
    if (plan === undefined) {
      t.note = "no profitable sandwich on this order"
      return
    }
    const legs = sandwichOrders(pool, plan)
    const envelope = self.message("UserOrder", legs.front)
    const frontId = idOf(envelope)
    options.referee.claim(t.id, frontId, c.order)
    t.frontId = frontId
    t.back = legs.back
    running.push(self.send(envelope))
    if (t.offset !== null) sendBack(t)
  }

  // The blind sandwich: a guess, no content, no statement.
  const blind = (t: Target) => {
    if (options.blindQuoteIn === null || t.frontId !== null || contents.has(t.id)) return
    const x = options.blindQuoteIn
    const out = swap(reference, "buy", x, pool.feeBps).out
    t.blind = true
    t.frontId = send(poolOrder(pool, "buy", x, out)).id
    t.back = poolOrder(pool, "sell", out, x + 1n)
    if (t.offset !== null) sendBack(t)
  }

  const learn = (value: unknown, channel: string) => {
    observed(channel)
    found(ordersIn(value), channel)
  }

  const found = (pairs: ReadonlyArray<{ readonly id: string; readonly order: UserOrder }>, channel: string) => {
    for (const { id, order } of pairs) {
      contentsFound[channel] = (contentsFound[channel] ?? 0) + 1
      if (contents.has(id)) continue
      contents.set(id, { order, at: Date.now(), channel })
      const t = targets.get(id)
      if (t !== undefined) {
        t.contentAt = Date.now()
        t.contentChannel = channel
        informed(t)
      }
    }
  }

  const learnText = (text: string, channel: string) => {
    observed(channel)
    found(ordersInText(text), channel)
  }

  // A time-locked order whose round is out opens with the round's public signature.
  const openLock = (t: Target) => {
    if (t.lock === null || contents.has(t.id)) return
    const signature = options.beacon(t.lock.round)
    if (signature === null) return
    observed("public beacon")
    const plaintext = decryptWithSignature(t.lock.ciphertext, signature)
    if (Result.isFailure(plaintext)) return
    const order = orderFromBytes(plaintext.success)
    if (Result.isSuccess(order)) found([{ id: t.id, order: order.success }], "public beacon")
  }

  // Channel 1: the public network's gossip.
  const unsubscribeGossip = options.network.subscribe((b: Broadcast) => {
    if (b.envelope.sender === options.key.publicKey) return
    if (ORDER_TYPES.has(b.envelope.type) && !targets.has(b.id)) {
      targets.set(b.id, {
        id: b.id,
        type: b.envelope.type,
        seenAt: Date.now(),
        contentAt: null,
        contentChannel: null,
        offset: null,
        sealSeenAt: null,
        frontId: null,
        backId: null,
        back: null,
        blind: false,
        note: null,
        streaming: false,
        lock: lockOf(b.envelope.payload)
      })
    }
    learn({ id: b.id, envelope: b.envelope }, "gossip")
    const t = targets.get(b.id)
    if (t === undefined) return
    openLock(t)
    if (t.frontId === null && !contents.has(t.id)) blind(t)
  })

  // Channel 2: each tracked order's status stream.
  const followOrder = (t: Target) => {
    if (t.streaming) return
    t.streaming = true
    running.push(followSse(`${options.base}/v1/mempool/orders/${t.id}/events`, abort.signal, (fields) => {
      if (fields.data !== undefined) learn(fields.data, "order status stream")
    }))
  }

  // Channel 3: the global log stream, in log order.
  running.push(followSse(`${options.base}/v1/stream?from=0`, abort.signal, (fields) => {
    if (fields.data === undefined) return
    learn(fields.data, "log stream")
    let record: { offset: number; id: string; lamport: number; type: string; sender: string; envelope?: { payload?: { batch?: number } } }
    try {
      record = JSON.parse(fields.data)
    } catch {
      return
    }
    lamportSeen = Math.max(lamportSeen, record.lamport)
    const t = targets.get(record.id)
    if (t !== undefined && t.offset === null) {
      t.offset = record.offset
      followOrder(t)
      sendBack(t)
    }
    if (record.type === "BatchSealed" && record.sender === options.instanceKey) {
      latestBatch = Math.max(latestBatch, record.envelope?.payload?.batch ?? 0)
      for (const x of targets.values()) {
        if (x.offset !== null && x.offset < record.offset && x.sealSeenAt === null) x.sealSeenAt = Date.now()
      }
    }
  }))

  // Channel 4: the server's log lines.
  const unsubscribeLogs = options.logs.follow((line) => learnText(line, "log lines"))

  // Channel 5: polling every API.
  const get = async (path: string, channel: string) => {
    try {
      const r = await fetch(options.base + path, { signal: abort.signal })
      learnText(await r.text(), channel)
    } catch {
      // stopped
    }
  }
  // Channel 6: the public beacon, for every time-locked order not read yet.
  const openLocks = () => {
    for (const t of targets.values()) openLock(t)
  }
  const poll = async () => {
    while (!abort.signal.aborted) {
      openLocks()
      await get(`/v1/messages?fromLamport=${Math.max(0, lamportSeen - 64)}&limit=1000`, "GET /v1/messages")
      await get("/v1/mempool/orders?limit=1000", "GET /v1/mempool/orders")
      await get(`/v1/mempool/orders?chain=${pool.chain}&market=${pool.market}&limit=1000`, "GET /v1/mempool/orders")
      const unread = [...targets.values()].filter((t) => !contents.has(t.id) && t.offset !== null).slice(-8)
      for (const t of unread) {
        await get(`/v1/mempool/orders/${t.id}`, "GET /v1/mempool/orders/{id}")
        await get(`/v1/mempool/orders/${t.id}/receipt`, "GET /v1/mempool/orders/{id}/receipt")
        await get(`/v1/messages/${t.id}`, "GET /v1/messages/{id}")
        await get(`/v1/messages/${t.id}/dependents`, "GET /v1/messages/{id}/dependents")
      }
      await get(`/v1/mempool/batches/${latestBatch}/receipts?limit=1000`, "GET /v1/mempool/batches/{n}/receipts")
      await get(`/v1/mempool/batches/${latestBatch + 1}`, "GET /v1/mempool/batches/{n}")
      await get("/v1/mempool/processing?limit=1000", "GET /v1/mempool/processing")
      await get("/v1/projections", "GET /v1/projections")
      await get("/metrics", "GET /metrics")
      await new Promise((resolve) => setTimeout(resolve, options.pollMs))
    }
  }
  running.push(poll())

  return {
    hasRead: (id) => contents.has(id),
    stop: async () => {
      abort.abort()
      unsubscribeGossip()
      unsubscribeLogs()
      await Promise.allSettled(running)
      return {
        targets: [...targets.values()].map((t) => ({
          id: t.id,
          type: t.type,
          seenAt: t.seenAt,
          contentAt: t.contentAt,
          contentChannel: t.contentChannel,
          sealSeenAt: t.sealSeenAt,
          frontId: t.frontId,
          backId: t.backId,
          blind: t.blind,
          note: t.note
        })),
        observations,
        contentsFound
      }
    }
  }
}
