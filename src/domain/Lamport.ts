/**
 * Lamport clock rules, as pure functions over numbers. The instance owns one clock; senders
 * stamp the messages they sign, the instance stamps the events it authors.
 */

/** The stamp for a new message: one past the local clock and every dependency. */
export const stamp = (local: number, depLamports: Iterable<number>): number => {
  let max = local
  for (const l of depLamports) if (l > max) max = l
  return max + 1
}

/** The local clock after receiving a message stamped `received`. */
export const receive = (local: number, received: number): number => (received > local ? received : local) + 1

/** A message is causally valid only when stamped strictly above each dependency. */
export const isAboveDependencies = (lamport: number, depLamports: Iterable<number>): boolean => {
  for (const l of depLamports) if (lamport <= l) return false
  return true
}

/**
 * Is `lamport` more than `maxAhead` past the local clock? Such messages are refused: were
 * they accepted, one sender could push every instance's clock (and every later stamp) to
 * near 2^53 and exhaust the clock for everyone.
 */
export const isTooFarAhead = (lamport: number, local: number, maxAhead: number): boolean => lamport > local + maxAhead

/** What happenedBefore needs to know of a message. */
export interface CausalNode {
  readonly id: string
  readonly lamport: number
  readonly deps: ReadonlyArray<string>
}

/**
 * Did `a` happen before `b`, i.e. is `a` reachable from `b` through dependencies? The
 * Lamport stamps prune the walk: nothing stamped at or below `a` can lead back to `a`
 * except `a` itself. `lookup` returns undefined for ids it does not know.
 */
export const happenedBefore = (a: CausalNode, b: CausalNode, lookup: (id: string) => CausalNode | undefined): boolean => {
  if (a.lamport >= b.lamport) return false
  const seen = new Set<string>()
  const stack: Array<string> = [...b.deps]
  while (stack.length > 0) {
    const id = stack.pop() as string
    if (id === a.id) return true
    if (seen.has(id)) continue
    seen.add(id)
    const node = lookup(id)
    if (node === undefined || node.lamport <= a.lamport) continue
    for (const d of node.deps) stack.push(d)
  }
  return false
}
