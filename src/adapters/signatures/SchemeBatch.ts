/**
 * A batch of signature checks split by scheme: Ed25519 requests to one engine (with their keys
 * parsed and screened first), the others to another, both at once; the answers back in
 * request order. A request whose key or signature the screen refuses is false without reaching
 * either engine.
 */
import { Effect } from "effect"
import type { VerifyRequest } from "../../ports/SignatureVerifier.ts"

/** Verify `requests`: Ed25519 ones through `ed25519` with the keys `keyOf` parsed, the rest through `others`. */
export const verifyManyByScheme = <K>(
  requests: ReadonlyArray<VerifyRequest>,
  keyOf: (request: VerifyRequest) => K | null,
  ed25519: (requests: ReadonlyArray<VerifyRequest>, keys: ReadonlyArray<K>) => Effect.Effect<ReadonlyArray<boolean>>,
  others: (requests: ReadonlyArray<VerifyRequest>) => Effect.Effect<ReadonlyArray<boolean>>
): Effect.Effect<ReadonlyArray<boolean>> =>
  Effect.suspend(() => {
    const out = new Array<boolean>(requests.length).fill(false)
    const edAt: Array<number> = []
    const edRequests: Array<VerifyRequest> = []
    const edKeys: Array<K> = []
    const otherAt: Array<number> = []
    const otherRequests: Array<VerifyRequest> = []
    requests.forEach((r, i) => {
      if (r.scheme !== "ed25519") {
        otherAt.push(i)
        otherRequests.push(r)
        return
      }
      const key = keyOf(r)
      if (key === null) return // refused before an engine sees it
      edAt.push(i)
      edRequests.push(r)
      edKeys.push(key)
    })
    const answer = (at: ReadonlyArray<number>) => (oks: ReadonlyArray<boolean>) => oks.forEach((ok, k) => (out[at[k] as number] = ok))
    const ed = edRequests.length === 0 ? Effect.void : Effect.map(ed25519(edRequests, edKeys), answer(edAt))
    const rest = otherRequests.length === 0 ? Effect.void : Effect.map(others(otherRequests), answer(otherAt))
    return Effect.all([ed, rest], { concurrency: 2, discard: true }).pipe(Effect.as(out))
  })
