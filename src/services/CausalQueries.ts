/** Causal questions answered from the log: does one message happen before another? */
import { Effect, Option } from "effect"
import type { CausalLogError, CausalLogService } from "../ports/CausalLog.ts"

/**
 * Did message `a` happen before message `b` (is `a` reachable from `b` through
 * dependencies)? Walks `b`'s dependencies, pruning every branch stamped at or below `a`:
 * no such message can depend on `a`. Unknown ids answer false.
 */
export const happenedBefore = (
  log: CausalLogService,
  a: string,
  b: string
): Effect.Effect<boolean, CausalLogError> =>
  Effect.gen(function*() {
    const ra = yield* log.get(a)
    const rb = yield* log.get(b)
    if (Option.isNone(ra) || Option.isNone(rb)) return false
    const target = ra.value
    if (target.lamport >= rb.value.lamport) return false
    const seen = new Set<string>()
    let frontier: Array<string> = [...rb.value.deps]
    while (frontier.length > 0) {
      if (frontier.includes(target.id)) return true
      const fresh = frontier.filter((id) => !seen.has(id))
      for (const id of fresh) seen.add(id)
      const refs = yield* log.lookup(fresh)
      const next: Array<string> = []
      for (const id of fresh) {
        const ref = refs.get(id)
        if (ref === undefined || ref.lamport <= target.lamport) continue
        const rec = yield* log.get(id)
        if (Option.isSome(rec)) next.push(...rec.value.deps)
      }
      frontier = next
    }
    return false
  })
