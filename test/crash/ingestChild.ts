/**
 * The process the crash-safety test kills. Usage:
 *   node test/crash/ingestChild.ts <dataDir> <seed> <snapshotEvery>
 *
 * It opens the service's core (`coreLayer`) on the data directory with synchronous=FULL,
 * waits for the projections to catch up with the whole log and prints
 * `READY <endOffset> <name>=<offset>:<digest> ...` (one entry per projection), then ingests real signed envelopes forever, printing
 * `ACK <id> <offset>` for each acknowledgment before it does anything else. Any rejection is
 * printed as `REJECT <tag> <reason>` (the parent treats it as a failure: every message sent
 * here is valid). Lines go out with a synchronous write, so a line the parent reads was
 * written after the commit it reports and before the next step.
 */
import { writeSync } from "node:fs"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Logger, Result } from "effect"
import { defaultServeConfig, type ServeConfig } from "../../src/Config.ts"
import { admit } from "../../src/domain/Admission.ts"
import { fromHex, idOf, signingBytes } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import { coreLayer } from "../../src/main.ts"
import { CausalLog } from "../../src/ports/CausalLog.ts"
import { SignatureVerifier } from "../../src/ports/SignatureVerifier.ts"
import { Projections } from "../../src/projections/ProjectionRunner.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import { envelope, healthPayload, testKey } from "../support/fixtures.ts"
import { mulberry32 } from "./prng.ts"

const [dataDir, seedArg, snapshotEveryArg] = process.argv.slice(2)
if (dataDir === undefined || seedArg === undefined || snapshotEveryArg === undefined) {
  throw new Error("usage: ingestChild.ts <dataDir> <seed> <snapshotEvery>")
}
const random = mulberry32(Number(seedArg))
const pick = (n: number): number => Math.floor(random() * n)

/** Write all of `text` to a file descriptor now, even if the pipe was made non-blocking. */
const writeAll = (fd: number, text: string): void => {
  const bytes = Buffer.from(text)
  let done = 0
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done)
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "EAGAIN") throw cause
    }
  }
}

// Logs go to stderr synchronously, so the parent sees a "rebuilding" warning or a
// projection failure even if this process is killed right after.
const stderrLogger = Logger.make(({ logLevel, message }) => {
  const parts = Array.isArray(message) ? message : [message]
  writeAll(2, `LOG ${logLevel} ${parts.map((p) => (typeof p === "string" ? p : String(p))).join(" ")}\n`)
})

const config: ServeConfig = {
  ...defaultServeConfig,
  dataDir,
  synchronous: "FULL",
  // Rate limits are not under test here; every message this process sends must be admitted.
  ingest: { ...Ingest.defaultOptions, rate: { ratePerSec: 1_000_000, burst: 1_000_000 } }
}

// Two schemes; each worker owns its senders, so a sender's nonces reach the writer in order.
const s0 = testKey("crash-0")
const s1 = testKey("crash-1", "secp256k1")
const s2 = testKey("crash-2")
const s3 = testKey("crash-3")
const senders = [s0, s1, s2, s3]

interface Known {
  readonly id: MessageId
  readonly lamport: number
}

const program = Effect.gen(function*() {
  const log = yield* CausalLog
  const ingest = yield* Ingest.Ingest
  const projections = yield* Projections

  // Sign, decode and verify once per key (nothing is submitted), so one-time setup and cold
  // code paths are not paid inside the parent's kill window.
  const verifier = yield* SignatureVerifier
  for (const k of senders) {
    const admitted = admit(envelope(k, { nonce: 0 }), Date.now(), config.ingest)
    if (Result.isSuccess(admitted)) {
      const { envelope: e, idBytes } = admitted.success
      verifier.verify(e.scheme, e.sender, signingBytes(idBytes), fromHex(e.sig))
    }
  }

  const end = yield* log.endOffset
  yield* projections.awaitOffset(end)
  const statuses = yield* projections.status
  const digests = statuses.map((s) => `${s.name}=${s.offset}:${s.digest}`).join(" ")
  writeAll(1, `READY ${end} ${digests}\n`)

  // Nonces continue above what the log holds; Lamport stamps above everything in it.
  const nonce = new Map<string, number>()
  for (const k of senders) {
    const h = yield* log.highestNonce(k.publicKey)
    nonce.set(k.publicKey, h._tag === "Some" ? h.value + 1 : 1)
  }
  let lamport = Math.max(yield* log.maxLamport, yield* ingest.clock)
  // Dependencies are drawn from recent acknowledged messages, starting with the tail of the
  // log as it was before this start (found through the store, not the ingest cache).
  const pool: Array<Known> = (yield* log.read(Math.max(0, end - 64), end)).map((r) => ({ id: r.id, lamport: r.lamport }))

  const sign = (key: KeyFile, deps: ReadonlyArray<Known>) => {
    const ids = [...new Set(deps.map((d) => d.id))].sort()
    const n = nonce.get(key.publicKey) as number
    nonce.set(key.publicKey, n + 1)
    lamport += 1
    return envelope(key, { nonce: n, lamport, deps: ids as Array<MessageId>, payload: healthPayload(pick(1000)) })
  }
  const fromPool = (max: number): Array<Known> =>
    pool.length === 0 ? [] : Array.from({ length: pick(max + 1) }, () => pool[pool.length - 1 - pick(Math.min(pool.length, 64))] as Known)
  const remember = (k: Known) => {
    pool.push(k)
    if (pool.length > 512) pool.splice(0, 256)
  }

  const report = (results: ReadonlyArray<Ingest.SubmitResult>, sent: ReadonlyArray<{ readonly lamport: number; readonly id: MessageId }>) => {
    let out = ""
    results.forEach((r, i) => {
      if (Result.isSuccess(r)) {
        out += `ACK ${r.success.id} ${r.success.offset}\n`
        remember({ id: r.success.id, lamport: (sent[i] as Known).lamport })
      } else {
        out += `REJECT ${r.failure._tag} ${"reason" in r.failure ? r.failure.reason : String(r.failure.cause)}\n`
      }
    })
    writeAll(1, out)
  }

  // Batches from s0 and s1, with deps on recent messages and on earlier ones of the same
  // batch; a quarter end with a message whose dependency comes after it, so it is held and
  // released within the batch.
  const batches = Effect.gen(function*() {
    const size = 1 + pick(32)
    const sent: Array<{ lamport: number; id: MessageId; value: unknown }> = []
    for (let i = 0; i < size; i++) {
      const inBatch = sent.length > 0 && random() < 0.5 ? [sent[pick(sent.length)] as Known] : []
      const e = sign(random() < 0.7 ? s0 : s1, [...fromPool(2), ...inBatch])
      sent.push({ lamport: e.lamport, id: idOf(e), value: e })
    }
    if (random() < 0.25) {
      const later = sign(s0, fromPool(1))
      const held = sign(s1, [{ id: idOf(later), lamport: later.lamport }])
      sent.push({ lamport: held.lamport, id: idOf(held), value: held })
      sent.push({ lamport: later.lamport, id: idOf(later), value: later })
    }
    report(yield* ingest.submitMany(sent.map((s) => s.value)), sent)
  })

  // Single submissions from s2.
  const singles = Effect.gen(function*() {
    const e = sign(s2, fromPool(3))
    const r = yield* Effect.result(ingest.submit(e))
    report([r], [{ lamport: e.lamport, id: idOf(e) }])
  })

  // Short causal chains from s3: each message depends on the one before it.
  const chains = Effect.gen(function*() {
    const size = 1 + pick(12)
    const sent: Array<{ lamport: number; id: MessageId; value: unknown }> = []
    let prev = fromPool(1)
    for (let i = 0; i < size; i++) {
      const e = sign(s3, prev)
      const k = { lamport: e.lamport, id: idOf(e) }
      sent.push({ ...k, value: e })
      prev = [k]
    }
    report(yield* ingest.submitMany(sent.map((s) => s.value)), sent)
  })

  // Singles first: the first commit then does not wait for a whole batch to be signed.
  yield* Effect.all([Effect.forever(singles), Effect.forever(chains), Effect.forever(batches)], {
    concurrency: "unbounded",
    discard: true
  })
})

const snapshotEvery = Number(snapshotEveryArg)
NodeRuntime.runMain(
  program.pipe(
    Effect.provide(coreLayer(config, { snapshotEvery, pageSize: 512 })),
    Effect.provide(Logger.layer([stderrLogger]))
  )
)
