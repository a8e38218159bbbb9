/**
 * The leader's verdicts on shared proofs (issue #15, docs/proofs.md). It watches the proofs
 * projection: each announcement whose every share has arrived is reassembled from the shares'
 * messages in the log (src/domain/proofs/ProofShares.ts), its size and hash checked against
 * the announcement, then verified on the ProofVerifier (a worker thread), and the verdict is
 * published as ProofVerified naming the announcement. An announcement still gathering shares
 * `deadlineMs` after this instance first saw it is published as incomplete (ProofVerified,
 * ok false, reason `SharesMissing: …`). Only the leader publishes; its verdicts are events,
 * so every instance and every replay folds the same ones and never re-runs a pairing. A
 * proof whose claim already has a verdict gets it in the fold (content addressing) and is
 * never handed to the verifier. Announcements are decided one at a time, each verdict folded
 * before the next, oldest first.
 *
 * The deadline is the leader's clock: a leader that restarts, or a new leader, counts it from
 * when it first saw the announcement.
 */
import { Clock, Context, Effect, Layer, Option, Result, Schedule } from "effect"
import { isLeader } from "../domain/cluster/Authority.ts"
import { type AnnouncementEntry, announcementOf, keyOf, pendingOf, verdictReason } from "../domain/proofs/ProofFold.ts"
import { type ProofSharesError, reassembleProof } from "../domain/proofs/ProofShares.ts"
import type { ProofVerificationError } from "../domain/proofs/ProofSystems.ts"
import type { PayloadInput } from "../domain/MessageTypes.ts"
import type { MessageId } from "../domain/Primitives.ts"
import { CausalLog, type CausalLogError } from "../ports/CausalLog.ts"
import { ProofVerifier } from "../ports/ProofVerifier.ts"
import { Projections } from "../projections/ProjectionRunner.ts"
import { payloadOf } from "../projections/RecordEvents.ts"
import { ProofsView } from "../projections/Views.ts"
import { Author } from "./Author.ts"

/** How long an announcement may gather its shares by default (the leader's clock). */
export const DEFAULT_DEADLINE_MS = 60_000

/** The service's knobs. */
export interface ProofVerdictOptions {
  /** An announcement whose shares are not all in this long after the leader saw it is incomplete. */
  readonly deadlineMs: number
  /** How often the projection is looked at for work. */
  readonly tickMs: number
}

/** Defaults: one minute to gather, a look every 100 ms. */
export const defaultProofVerdictOptions: ProofVerdictOptions = { deadlineMs: DEFAULT_DEADLINE_MS, tickMs: 100 }

/** The verdict service: what it has done, for logs and tests. */
export interface ProofVerdictsService {
  /** Proofs the verifier answered since start (each verified once: replay and reused verdicts add none). */
  readonly verifications: Effect.Effect<number>
}

/** The verdict service tag. */
export class ProofVerdicts extends Context.Service<ProofVerdicts, ProofVerdictsService>()("causeway/ProofVerdicts") {}

/** The announced proof's bytes, read back from its shares' messages: every share present, joined in index order, hash checked. */
export const proofBytesOf = (
  log: { readonly get: (typeof CausalLog.Service)["get"] },
  a: AnnouncementEntry
): Effect.Effect<Result.Result<Uint8Array, ProofSharesError>, CausalLogError> =>
  Effect.gen(function*() {
    const shares: Array<{ readonly index: number; readonly data: string }> = []
    for (const [index, id] of a.shareIds.entries()) {
      if (id === null) continue
      const record = yield* log.get(id)
      const share = Option.isSome(record) ? payloadOf(record.value, "ProofShare") : undefined
      // The log holds only decoded payloads: a share that is not there is a corrupt record, and the gap says so.
      if (share !== undefined) shares.push({ index, data: Buffer.from(share.data, "base64").toString("hex") })
    }
    return reassembleProof({ shares: a.shares, commitment: a.commitment }, shares)
  })

const shareFailure = (e: ProofSharesError): string => {
  switch (e._tag) {
    case "SharesMissing":
      return verdictReason(e._tag, `${e.count} shares missing (${e.missing.join(", ")})`)
    case "CommitmentMismatch":
      return verdictReason(e._tag, `the shares hash to ${e.actual}, not the announced ${e.expected}`)
    case "InvalidShare":
    case "InvalidAnnouncement":
      return verdictReason(e._tag, e.reason)
    case "ShareIndexOutOfRange":
      return verdictReason(e._tag, `share ${e.index} of ${e.shares}`)
  }
}

/** A proof system's failure as a verdict's reason: its tag, then its message or its fields. */
export const failureReason = (e: ProofVerificationError): string => {
  const { _tag, ...fields } = e as unknown as { readonly _tag: string } & Record<string, unknown>
  const detail = e.message !== "" ? e.message : Object.keys(fields).length > 0 ? JSON.stringify(fields) : "the proof does not verify under the key with these public inputs"
  return verdictReason(_tag, detail)
}

const decoder = new TextDecoder("utf-8", { fatal: true })

/** The proof's bytes as JSON (UTF-8), if they are. */
const jsonOf = (bytes: Uint8Array): Option.Option<unknown> => {
  try {
    return Option.some(JSON.parse(decoder.decode(bytes)) as unknown)
  } catch {
    return Option.none()
  }
}

/** Build the service over Author, Projections, CausalLog, the proofs view and the ProofVerifier; its loop lives in the layer's scope. */
export const make = (options: ProofVerdictOptions = defaultProofVerdictOptions) =>
  Effect.gen(function*() {
    const author = yield* Author
    const runner = yield* Projections
    const log = yield* CausalLog
    const proofs = yield* ProofsView
    const verifier = yield* ProofVerifier
    // When this instance first saw each announcement still gathering (its deadline's start).
    const seen = new Map<string, number>()
    let verifications = 0

    const publish = (a: AnnouncementEntry, ok: boolean, reason?: string) =>
      Effect.gen(function*() {
        const payload: PayloadInput<"ProofVerified"> = { announcementId: a.id, commitment: a.commitment, ok, ...(reason === undefined ? {} : { reason }) }
        const appended = yield* author.publish("ProofVerified", payload, { deps: [a.id as MessageId] })
        yield* runner.awaitOffset(appended.offset + 1)
        yield* Effect.logInfo(`proofs: ${a.id} ${ok ? "verified" : `refused (${reason ?? ""})`}`)
      })

    // The verdict on a complete announcement, or undefined when the verifier cannot take it now (retried next tick).
    const judge = Effect.fn("ProofVerdicts.judge")(function*(a: AnnouncementEntry) {
      const { state } = yield* proofs.current
      const bytes = yield* proofBytesOf(log, a)
      if (Result.isFailure(bytes)) return { ok: false, reason: shareFailure(bytes.failure) }
      if (bytes.success.length !== a.bytes) return { ok: false, reason: verdictReason("SizeMismatch", `${bytes.success.length} bytes, announced ${a.bytes}`) }
      const key = keyOf(state, a.vkId)
      if (key === undefined) return { ok: false, reason: verdictReason("UnknownKey", `the key ${a.vkId} is not registered`) }
      const proof = jsonOf(bytes.success)
      if (Option.isNone(proof)) return { ok: false, reason: verdictReason("MalformedProof", "the proof's bytes are not UTF-8 JSON") }
      // Busy or a failed thread: no verdict now, the next tick tries again.
      const verdict = yield* verifier.verify(a.proofSystem, key.vk, proof.value, a.publicInputs).pipe(
        Effect.tapError((e) => Effect.logWarning(`proofs: ${a.id} not verified now (${e._tag}); retrying`)),
        Effect.option
      )
      if (Option.isNone(verdict)) return undefined
      verifications += 1
      const v = verdict.value
      return Result.isSuccess(v) ? { ok: true } : { ok: false, reason: failureReason(v.failure) }
    })

    const step = Effect.gen(function*() {
      const { state } = yield* proofs.current
      const now = yield* Clock.currentTimeMillis
      const pending = pendingOf(state)
      const ids = new Set(pending.map((a) => a.id))
      for (const id of seen.keys()) if (!ids.has(id)) seen.delete(id)
      for (const a of pending) if (!seen.has(a.id)) seen.set(a.id, now)
      if (!isLeader(state.authority, author.publicKey)) return
      for (const a of pending) {
        // Each verdict is folded before the next is decided: the fold may have given this one its claim's verdict.
        const latest = announcementOf(yield* proofs.state, a.id)
        if (latest === undefined) continue
        const decided = Effect.gen(function*() {
          if (latest.status === "complete") {
            const verdict = yield* judge(latest)
            if (verdict !== undefined) yield* publish(latest, verdict.ok, verdict.reason)
          } else if (latest.status === "gathering" && now - (seen.get(a.id) ?? now) >= options.deadlineMs) {
            yield* publish(latest, false, verdictReason("SharesMissing", `${latest.shares - latest.received} of ${latest.shares} shares did not arrive within ${options.deadlineMs} ms`))
          }
        })
        // One proof's failure (the log's storage, a refused publication) does not hold up the others.
        yield* decided.pipe(Effect.catchCause((cause) => Effect.logError(`proofs: deciding on ${a.id} failed; retrying`, cause)))
      }
    })

    yield* step.pipe(
      Effect.catchCause((cause) => Effect.logError("proofs: deciding verdicts failed; retrying", cause)),
      Effect.repeat(Schedule.spaced(options.tickMs)),
      Effect.forkScoped
    )

    return { verifications: Effect.sync(() => verifications) } satisfies ProofVerdictsService
  })

/** The verdict service as a layer over Author, Projections, CausalLog, the proofs view and ProofVerifier. */
export const layer = (options: ProofVerdictOptions = defaultProofVerdictOptions) => Layer.effect(ProofVerdicts, make(options))
