/** A token bucket as a pure value: the per-sender rate limit of the ingest pipeline. */

/** Tokens left and when they were last counted. */
export interface TokenBucket {
  readonly tokens: number
  readonly updatedAt: number
}

/** Rate (tokens per second) and burst (bucket size). */
export interface TokenBucketPolicy {
  readonly ratePerSec: number
  readonly burst: number
}

/** The outcome of asking for one token at `now` (ms). */
export type Take =
  | { readonly ok: true; readonly bucket: TokenBucket }
  | { readonly ok: false; readonly bucket: TokenBucket; readonly retryAfterMs: number }

/** The tokens `bucket` holds at `now` (a missing bucket is full). */
const refill = (bucket: TokenBucket | undefined, now: number, policy: TokenBucketPolicy): number =>
  bucket === undefined
    ? policy.burst
    : Math.min(policy.burst, bucket.tokens + (Math.max(0, now - bucket.updatedAt) * policy.ratePerSec) / 1000)

/** How long until a bucket holding `tokens` holds one again, ms. */
const untilNext = (tokens: number, policy: TokenBucketPolicy): number => Math.ceil(((1 - tokens) * 1000) / policy.ratePerSec)

/** Take one token from `bucket` (a missing bucket is full) at time `now`. */
export const take = (bucket: TokenBucket | undefined, now: number, policy: TokenBucketPolicy): Take => {
  const tokens = refill(bucket, now, policy)
  if (tokens >= 1) return { ok: true, bucket: { tokens: tokens - 1, updatedAt: now } }
  return { ok: false, bucket: { tokens, updatedAt: now }, retryAfterMs: untilNext(tokens, policy) }
}

/** The outcome of asking for several tokens at once: how many were granted (the first ones asked for). */
export interface TakeMany {
  readonly granted: number
  readonly bucket: TokenBucket
  /** When the next token is due, ms; 0 when every token asked for was granted. */
  readonly retryAfterMs: number
}

/** Take up to `count` tokens from `bucket` at `now`: as many as it holds. */
export const takeUpTo = (bucket: TokenBucket | undefined, count: number, now: number, policy: TokenBucketPolicy): TakeMany => {
  const tokens = refill(bucket, now, policy)
  const granted = Math.max(0, Math.min(count, Math.floor(tokens)))
  const left = tokens - granted
  return { granted, bucket: { tokens: left, updatedAt: now }, retryAfterMs: granted === count ? 0 : untilNext(left, policy) }
}
