/**
 * The record check of the events the Kafka log consumes (docs/adr/0002): each is checked from
 * its bytes before the merge may apply it; a refused one is offered as undecodable, so the
 * merge drops it and skips a sequence record naming it, at the same point of the log on every
 * instance. Refusals are counted by kind (and in a metric), and logged one by one up to a
 * point, then in summary lines (a writer flooding the topics with junk must not flood the log
 * too).
 */
import { hash } from "node:crypto"
import { Effect, Metric, Result } from "effect"
import { badSignature, checkRecord, type RecordRefused, type SignatureToCheck } from "../../domain/RecordCheck.ts"
import type { SignatureVerifierService } from "../../ports/SignatureVerifier.ts"
import type { EventRecord } from "./KafkaRecordCodec.ts"
import type { Offered } from "./SequenceMerger.ts"

const refusedRecords = Metric.counter("causeway_log_records_refused_total", {
  description: "Records read from the log's storage that failed the record check (never applied), by kind"
})

// Ids through node:crypto (OpenSSL), as ingest computes them.
const sha256Text = (text: string): Uint8Array => hash("sha256", text, "buffer")

// Refusals logged one by one; past this many, one line per REFUSALS_LINE_EVERY.
const REFUSAL_LINES = 100
const REFUSALS_LINE_EVERY = 1000

/** The checker of one log's consumed events, and its refusal counts. */
export class EventChecker {
  private readonly verifier: SignatureVerifierService
  /** The events topic, as log lines name it. */
  private readonly topic: string
  private readonly counts: Record<string, number> = {}
  private total = 0

  constructor(verifier: SignatureVerifierService, topic: string) {
    this.verifier = verifier
    this.topic = topic
  }

  /** Events refused since start, by kind. */
  get refused(): Readonly<Record<string, number>> {
    return { ...this.counts }
  }

  /**
   * `offered` (one partition's batch) with every refused event made undecodable. Redeliveries
   * (below `from`) and events the index already holds (`known`) are left as they are: the
   * merge ignores them. Signatures are verified in one request.
   */
  check(
    partition: number,
    offered: ReadonlyArray<Offered<EventRecord>>,
    from: number,
    known: ReadonlySet<string> | undefined
  ): Effect.Effect<ReadonlyArray<Offered<EventRecord>>> {
    return Effect.gen({ self: this }, function*() {
      const out: Array<Offered<EventRecord>> = offered.slice()
      const pending: Array<{ readonly i: number; readonly check: SignatureToCheck }> = []
      for (let i = 0; i < offered.length; i++) {
        const o = offered[i] as Offered<EventRecord>
        if (o.offset < from) continue
        if (Result.isFailure(o.value)) {
          yield* this.refuse(partition, o.offset, "header", o.value.failure)
          continue
        }
        if (known?.has(o.value.success.record.id) === true) continue
        const checked = checkRecord(o.value.success.record, sha256Text)
        if (Result.isSuccess(checked)) pending.push({ i, check: checked.success })
        else {
          out[i] = { offset: o.offset, value: Result.fail(`refused: ${checked.failure.reason}`) }
          yield* this.refuse(partition, o.offset, checked.failure.kind, checked.failure.reason)
        }
      }
      if (pending.length === 0) return out
      const verdicts = yield* this.verifier.verifyMany(pending.map((p) => p.check))
      for (let k = 0; k < pending.length; k++) {
        if (verdicts[k] === true) continue
        const { i } = pending[k] as { readonly i: number }
        const o = offered[i] as Offered<EventRecord>
        const refusal: RecordRefused = badSignature(Result.getOrThrow(o.value).record)
        out[i] = { offset: o.offset, value: Result.fail(`refused: ${refusal.reason}`) }
        yield* this.refuse(partition, o.offset, refusal.kind, refusal.reason)
      }
      return out
    })
  }

  private refuse(partition: number, offset: number, kind: string, reason: string): Effect.Effect<void> {
    return Effect.gen({ self: this }, function*() {
      this.counts[kind] = (this.counts[kind] ?? 0) + 1
      this.total++
      yield* Metric.update(Metric.withAttributes(refusedRecords, { kind }), 1)
      if (this.total <= REFUSAL_LINES) {
        yield* Effect.logWarning(`kafka log: event ${this.topic}[${partition}]@${offset} refused (${kind}): ${reason}`)
      } else if (this.total % REFUSALS_LINE_EVERY === 0) {
        yield* Effect.logWarning(
          `kafka log: ${this.total} events refused so far (${JSON.stringify(this.counts)}); latest ${this.topic}[${partition}]@${offset}: ${reason}`
        )
      }
    })
  }
}
