/**
 * Admission budgets of clients, beside the senders' (src/domain/AdmissionDecider.ts): a
 * token bucket per client, where a client is its address (src/domain/ClientAddress.ts) or an
 * API token that carries a budget. Keys cost nothing, so a budget per sender alone lets one
 * client submit without limit under fresh keys; this one counts every message a client sends,
 * before its signature is checked.
 *
 * The table is an LRU of at most `maxClients` buckets: a client pushed out comes back with a
 * full bucket, so the bound must exceed the clients active within a burst's refill time
 * (2 s by default) for the budget to hold. Time comes from Effect's Clock.
 */
import { Clock, Effect } from "effect"
import { LRUCache } from "lru-cache"
import { RateLimited } from "../domain/Rejection.ts"
import { type TokenBucket, type TokenBucketPolicy, takeUpTo } from "../domain/TokenBucket.ts"

/** A client as it is charged: the key of its bucket, its budget, and what a refusal calls it. */
export interface Client {
  /** `address:<clientAddressKey>` or `token:<name>`: the bucket's key. */
  readonly key: string
  readonly policy: TokenBucketPolicy
  /** e.g. "client address 192.0.2.1", "token relayer". */
  readonly label: string
}

/** The outcome of charging a client for messages: how many of them (the first ones) may go on. */
export interface Charged {
  readonly granted: number
  /** Why the rest may not (undefined when all may). */
  readonly refusal: RateLimited | undefined
}

/** Tunables of the table. */
export interface ClientBudgetOptions {
  /** The budget of an address's anonymous clients (and of tokens without their own). */
  readonly address: TokenBucketPolicy
  /** Most clients' buckets kept (least recently charged dropped first). */
  readonly maxClients: number
}

/** Defaults: an address gets one sender's budget (1,000 messages/s, burst 2,000); 100,000 clients kept. */
export const defaultOptions: ClientBudgetOptions = {
  address: { ratePerSec: 1000, burst: 2000 },
  maxClients: 100_000
}

/**
 * A client's weight in the held buffer (src/domain/AdmissionDecider.ts `pendingPerClient`):
 * a token with a budget of its own (a relayer) holds as many shares as its sustained rate is
 * multiple of an address's, at least one; an address holds one.
 */
export const heldWeight = (client: Client, options: ClientBudgetOptions): number =>
  Math.max(1, client.policy.ratePerSec / options.address.ratePerSec)

/** The clients' budgets. */
export interface ClientBudgetsService {
  readonly options: ClientBudgetOptions
  /** Charge `client` for `count` messages now. */
  readonly charge: (client: Client, count: number) => Effect.Effect<Charged>
}

/** A table of at most `options.maxClients` buckets. */
export const make = (options: ClientBudgetOptions = defaultOptions): ClientBudgetsService => {
  const buckets = new LRUCache<string, TokenBucket>({ max: options.maxClients })
  return {
    options,
    charge: (client, count) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        const t = takeUpTo(buckets.get(client.key), count, now, client.policy)
        buckets.set(client.key, t.bucket)
        return {
          granted: t.granted,
          refusal: t.granted === count ? undefined : new RateLimited({
            reason: `${client.label} exceeds ${client.policy.ratePerSec} messages/s (burst ${client.policy.burst})`,
            retryAfterMs: t.retryAfterMs
          })
        }
      })
  }
}
