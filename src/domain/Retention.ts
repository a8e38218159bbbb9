/**
 * Retention by the authority's seals (docs/mempool.md, "Retention"), for folds that drop what
 * is done with: ids that became final while the open batch was open start aging at that
 * batch's seal, and leave at the first later seal whose `sealedAt` is at least the retention
 * window past it. Time is the instance's, as its seals carry it in the log, never a clock read
 * in a fold, so every instance and every replay drops the same ids at the same record.
 */

/**
 * A snapshot's state records the retention it was folded under: one folded under another
 * dropped other entries, so decoding it throws and the runner rebuilds it from the log.
 */
export const requireRetention = (recorded: number, retentionMs: number): void => {
  if (recorded !== retentionMs) throw new Error(`the snapshot was folded with a retention of ${recorded} ms, not ${retentionMs} ms`)
}

/** Ids that became final while one batch was open, and that batch's seal time (the instance's, in the log). */
export interface RetiringGroup {
  readonly sealedAt: number
  readonly ids: ReadonlyArray<string>
}

/**
 * A seal at `sealedAt`: the open batch's final ids (`open`) start aging from it, and every
 * group sealed at least `retentionMs` before it is due. Returns the groups still aging, in
 * seal order, and the ids due, group by group in seal order.
 */
export const ageAtSeal = (
  open: ReadonlyArray<string>,
  retiring: ReadonlyArray<RetiringGroup>,
  sealedAt: number,
  retentionMs: number
): { readonly retiring: ReadonlyArray<RetiringGroup>; readonly due: ReadonlyArray<string> } => {
  const groups = open.length === 0 ? retiring : [...retiring, { sealedAt, ids: open }]
  const horizon = sealedAt - retentionMs
  if (!groups.some((g) => g.sealedAt <= horizon)) return { retiring: groups, due: [] }
  return { retiring: groups.filter((g) => g.sealedAt > horizon), due: groups.filter((g) => g.sealedAt <= horizon).flatMap((g) => g.ids) }
}
