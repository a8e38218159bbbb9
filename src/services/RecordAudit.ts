/**
 * Every record of a log checked again from its bytes (`checkRecord` and the signature): what
 * `causeway replay --verify-records` runs over a data directory, so a log file edited behind
 * the service's back (a record's body, id, headers or signature changed) is found. The log
 * is read page by page; signatures go to the verifier a page at a time (node:crypto: on the
 * thread pool).
 */
import { hash } from "node:crypto"
import { Effect, Result } from "effect"
import { badSignature, checkRecord, type RecordRefused, type SignatureToCheck } from "../domain/RecordCheck.ts"
import type { CausalLogError, CausalLogService, LogRecord } from "../ports/CausalLog.ts"
import type { SignatureVerifierService } from "../ports/SignatureVerifier.ts"

/** A record that failed its check. */
export interface RefusedRecord {
  readonly offset: number
  readonly id: string
  readonly kind: RecordRefused["kind"]
  readonly reason: string
}

/** What an audit found. */
export interface AuditResult {
  readonly checked: number
  /** How many records failed, all told. */
  readonly refusedCount: number
  /** The first of them (at most `keep`), in log order. */
  readonly refused: ReadonlyArray<RefusedRecord>
}

const sha256Text = (text: string): Uint8Array => hash("sha256", text, "buffer")

/** Check every record of `log` (offsets 0 to its end); `keep` bounds the refusals listed. */
export const auditRecords = (
  log: CausalLogService,
  verifier: SignatureVerifierService,
  options: { readonly pageSize?: number; readonly keep?: number; readonly onProgress?: (done: number, total: number) => void } = {}
): Effect.Effect<AuditResult, CausalLogError> =>
  Effect.gen(function*() {
    const pageSize = options.pageSize ?? 4096
    const keep = options.keep ?? 100
    const end = yield* log.endOffset
    const refused: Array<RefusedRecord> = []
    let refusedCount = 0
    const note = (r: LogRecord, failure: RecordRefused) => {
      refusedCount++
      if (refused.length < keep) refused.push({ offset: r.offset, id: r.id, kind: failure.kind, reason: failure.reason })
    }
    let checked = 0
    for (let from = 0; from < end; from += pageSize) {
      const page = yield* log.read(from, Math.min(end, from + pageSize))
      const pending: Array<{ readonly record: LogRecord; readonly check: SignatureToCheck }> = []
      for (const r of page) {
        const c = checkRecord(r, sha256Text)
        if (Result.isSuccess(c)) pending.push({ record: r, check: c.success })
        else note(r, c.failure)
      }
      const verdicts = yield* verifier.verifyMany(pending.map((p) => p.check))
      pending.forEach((p, i) => {
        if (verdicts[i] !== true) note(p.record, badSignature(p.record))
      })
      checked += page.length
      options.onProgress?.(checked, end)
      if (page.length === 0) break
    }
    // Within a page, signature refusals are noted after the others: list them in log order.
    refused.sort((a, b) => a.offset - b.offset)
    return { checked, refusedCount, refused }
  })
