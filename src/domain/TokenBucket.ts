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

/** Take one token from `bucket` (a missing bucket is full) at time `now`. */
export const take = (bucket: TokenBucket | undefined, now: number, policy: TokenBucketPolicy): Take => {
  const elapsed = bucket === undefined ? 0 : Math.max(0, now - bucket.updatedAt)
  const tokens = bucket === undefined
    ? policy.burst
    : Math.min(policy.burst, bucket.tokens + (elapsed * policy.ratePerSec) / 1000)
  if (tokens >= 1) return { ok: true, bucket: { tokens: tokens - 1, updatedAt: now } }
  return {
    ok: false,
    bucket: { tokens, updatedAt: now },
    retryAfterMs: Math.ceil(((1 - tokens) * 1000) / policy.ratePerSec)
  }
}
