/**
 * CometBFT adjacent light-block verification against its lower bound, in one run.
 *
 * For 100 and 150 validators (real Ed25519 keys, equal power, all signing): height H is
 * trusted, H+1 is verified two ways: `verifyLightBlock` with node:crypto on the calling
 * thread (the sync path, as `causeway/verify` runs it), and `verifyLightBlockBatch` with
 * src/adapters/cosmos/NodeCryptoCommitVerifier.ts, which checks the selected signatures on
 * both cores (the calling thread and a helper thread take them from one shared counter; the
 * cosmos observer's path). t is one
 * bare `crypto.verify(null, msg, keyObject, sig)` on pre-parsed KeyObjects over the very sign
 * bytes and signatures of that commit, on one thread. Both paths stop at > 2/3 of the power,
 * as CometBFT's light verification does, so 67 of 100 and 101 of 150 signatures are checked.
 *
 * Three (path, bare pass) measurements rotate their order in each round so that load from
 * other processes hits all alike; each ratio is a median over rounds of (path time / that
 * round's bound). Per size, the last line's fields:
 * - `ms`, `boundMs`, `ratio`: the sync path's median; signatures checked × t; their ratio
 *   (the fields this bench always printed, same meaning);
 * - `allBoundMs`, `ratioAll`: every signature of the commit × t (the sum of all signature
 *   verifies), and the sync path over it;
 * - `batchMs`, `batchRatio`, `batchRatioAll`: the both-cores path's median, over the
 *   checked-signature bound and over the all-signature bound;
 * - `validators`, `signaturesChecked`; `helperShare`, the share of the batch path's signatures
 *   its helper thread checked (near 0.5 and no gain means the other core was busy elsewhere).
 * - `twoThreadProbe`: before and after the runs, the time of a fixed CPU load on two threads
 *   at once over its time on one (1 = a free second core; 2 = the machine's other load took
 *   it, and then the batch path cannot beat the one-thread path).
 * Also printed: min/min, p90, and a block whose next validator set differs from its
 * validator set (so both sets are hashed), for information.
 *
 * Env: BENCH_PAIRS (measured rounds per size, default 200); BENCH_HELPERS (helper threads of
 * the batch path, default the adapter's: cores available minus one, at most 3).
 */
import { createPublicKey, type KeyObject, verify as cryptoVerify } from "node:crypto"
import { availableParallelism } from "node:os"
import { Worker } from "node:worker_threads"
import { Effect, Result } from "effect"
import * as NodeCryptoCommitVerifier from "../src/adapters/cosmos/NodeCryptoCommitVerifier.ts"
import * as NodeCryptoSignatureVerifier from "../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import { type VerifySignature, verifyLightBlock, verifyLightBlockBatch } from "../src/domain/verify/cometbft/CometBftLightClient.ts"
import type { LightBlock } from "../src/domain/verify/cometbft/LightBlock.ts"
import { buildLightBlock, makeValidators, seconds, trustedOf, withPower } from "../test/verify/cometbft/ChainBuilder.ts"

const PAIRS = Number(process.env.BENCH_PAIRS ?? 200)
const HELPERS = process.env.BENCH_HELPERS === undefined ? undefined : Number(process.env.BENCH_HELPERS)
const ED25519_SPKI = Buffer.from("302a300506032b6570032100", "hex")

const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0
}
const median = (xs: ReadonlyArray<number>): number => quantile(xs, 0.5)

const round3 = (x: number): number => Math.round(x * 1000) / 1000

interface Scenario {
  readonly trusted: ReturnType<typeof trustedOf>
  readonly untrusted: LightBlock
}

const scenario = (n: number, changeNext: boolean): Scenario => {
  const vals = makeValidators(n, `bench${n}-`)
  const next = changeNext ? vals.map((v, i) => (i === 0 ? withPower(v, 51n) : v)) : vals
  const t0 = seconds(1_700_000_000)
  const trusted = buildLightBlock({ chainId: "bench-chain", height: 1000, timeNanos: t0, validators: vals, nextValidators: vals })
  const untrusted = buildLightBlock({ chainId: "bench-chain", height: 1001, timeNanos: t0 + seconds(6), validators: vals, nextValidators: next })
  return { trusted: trustedOf(trusted), untrusted }
}

const NOW = "2023-11-14T22:20:00Z" // a few minutes after the blocks
const TRUSTING_PERIOD = String(14n * 24n * 3600n * 1_000_000_000n)

const run = async (n: number) => {
  const adapter = NodeCryptoSignatureVerifier.make()
  const verifier: VerifySignature = (pk, msg, sig) => adapter.verify("ed25519", Buffer.from(pk.buffer, pk.byteOffset, pk.length).toString("hex"), msg, sig)
  const commitVerifier = NodeCryptoCommitVerifier.make(HELPERS === undefined ? {} : { helpers: HELPERS })
  // Record what the verifier checks, once, for the bare-verify bound.
  const checked: Array<{ key: KeyObject; msg: Uint8Array; sig: Uint8Array }> = []
  const recorder: VerifySignature = (pk, msg, sig) => {
    checked.push({ key: createPublicKey({ key: Buffer.concat([ED25519_SPKI, pk]), format: "der", type: "spki" }), msg, sig })
    return verifier(pk, msg, sig)
  }
  const same = scenario(n, false)
  const changed = scenario(n, true)
  const optionsOf = (s: Scenario) => ({ trusted: s.trusted, untrusted: s.untrusted, now: NOW, trustingPeriod: TRUSTING_PERIOD, maxClockDrift: "10000000000" })
  const verifyOnce = (s: Scenario, v: VerifySignature) => verifyLightBlock(optionsOf(s), v)
  const verifyBatch = (s: Scenario) => Effect.runPromise(verifyLightBlockBatch(optionsOf(s), commitVerifier.verifyMany))
  const first = verifyOnce(same, recorder)
  if (Result.isFailure(first)) throw new Error(`bench block does not verify: ${first.failure.message}`)
  const sigs = first.success.signaturesChecked
  if (Result.isFailure(verifyOnce(changed, verifier))) throw new Error("changed-set bench block does not verify")
  const batchFirst = await verifyBatch(same)
  if (batchFirst.signaturesChecked !== sigs) throw new Error("the batch path checked other signatures than the sync path")

  const bare = () => {
    for (const c of checked) if (!cryptoVerify(null, c.msg, c.key, c.sig)) throw new Error("bare verify failed")
  }
  // Warm up all paths (JIT, key caches, the thread pool).
  for (let i = 0; i < 20; i++) {
    verifyOnce(same, verifier)
    verifyOnce(changed, verifier)
    await verifyBatch(same)
    bare()
  }
  const helpedBefore = commitVerifier.helperChecks()
  const ms: Array<number> = []
  const batchMs: Array<number> = []
  const bareMs: Array<number> = []
  const msChanged: Array<number> = []
  const time = async (f: () => unknown): Promise<number> => {
    const t = performance.now()
    await f()
    return performance.now() - t
  }
  // Rounds of (sync path, batch path, bare pass), rotating the order, so a burst of load from
  // other processes lands on all three alike.
  const parts: Array<[Array<number>, () => unknown]> = [
    [ms, () => verifyOnce(same, verifier)],
    [batchMs, () => verifyBatch(same)],
    [bareMs, bare]
  ]
  for (let i = 0; i < PAIRS; i++) {
    for (let k = 0; k < parts.length; k++) {
      const part = parts[(i + k) % parts.length]
      if (part !== undefined) part[0].push(await time(part[1]))
    }
    if (i % 4 === 0) msChanged.push(await time(() => verifyOnce(changed, verifier)))
  }
  const perVerify = median(bareMs) / checked.length
  const bound = sigs * perVerify
  const allBound = n * perVerify
  // Each round's bound is its bare pass, per signature, times the signatures counted.
  const roundRatios = (xs: ReadonlyArray<number>, count: number) => xs.map((m, i) => m / (((bareMs[i] ?? m) / checked.length) * count))
  const helperShare = (commitVerifier.helperChecks() - helpedBefore) / (PAIRS * sigs)
  const result = {
    ms: round3(median(ms)),
    boundMs: round3(bound),
    ratio: round3(median(roundRatios(ms, sigs))),
    allBoundMs: round3(allBound),
    ratioAll: round3(median(roundRatios(ms, n))),
    batchMs: round3(median(batchMs)),
    batchRatio: round3(median(roundRatios(batchMs, sigs))),
    batchRatioAll: round3(median(roundRatios(batchMs, n))),
    validators: n,
    signaturesChecked: sigs,
    helperShare: round3(helperShare)
  }
  const minBare = Math.min(...bareMs) / checked.length
  console.log(
    `v${n}: ${sigs} of ${n} signatures checked; bare verify ${round3(perVerify * 1000)} us; all-signature bound ${result.allBoundMs} ms, checked-signature bound ${result.boundMs} ms\n` +
      `  sync  verifyLightBlock      median ${result.ms} ms (min ${round3(Math.min(...ms))}, p90 ${round3(quantile(ms, 0.9))}); ratio ${result.ratio} of checked, ${result.ratioAll} of all (min/min ${round3(Math.min(...ms) / (minBare * n))})\n` +
      `  batch verifyLightBlockBatch median ${result.batchMs} ms (min ${round3(Math.min(...batchMs))}, p90 ${round3(quantile(batchMs, 0.9))}); ratio ${result.batchRatio} of checked, ${result.batchRatioAll} of all (min/min ${round3(Math.min(...batchMs) / (minBare * n))}); the helper thread checked ${round3(helperShare * 100)}% of its signatures\n` +
      `  sync, next validator set differs: ${round3(median(msChanged))} ms, ${round3(median(msChanged) / allBound)} of all`
  )
  return result
}

// How much of a second core this process gets: the same fixed CPU work on one thread, then on
// two at once. 1 means two free cores; 2 means the threads share one (other load), and the
// batch path cannot gain.
const PROBE_SOURCE = `const { parentPort } = require("node:worker_threads")
parentPort.on("message", (n) => { let x = 0; for (let i = 0; i < n; i++) x = (x * 31 + i) | 0; parentPort.postMessage(x) })`
const probeTwoThreads = async (): Promise<number> => {
  const workers = [new Worker(PROBE_SOURCE, { eval: true }), new Worker(PROBE_SOURCE, { eval: true })]
  const spin = (ws: ReadonlyArray<Worker>) =>
    Promise.all(ws.map((w) => new Promise((resolve) => { w.once("message", resolve); w.postMessage(1e8) })))
  await spin(workers)
  let t = performance.now()
  await spin(workers.slice(0, 1))
  const one = performance.now() - t
  t = performance.now()
  await spin(workers)
  const two = performance.now() - t
  await Promise.all(workers.map((w) => w.terminate()))
  return round3(two / one)
}

const probeBefore = await probeTwoThreads()
console.log(`batch path helper threads: ${HELPERS ?? `default (${Math.min(3, availableParallelism() - 1)})`}; cores available ${availableParallelism()}`)
const v100 = await run(100)
const v150 = await run(150)
const probeAfter = await probeTwoThreads()
console.log(`two threads' time over one thread's for the same work (1 = a free second core, 2 = none): ${probeBefore} before, ${probeAfter} after`)
console.log(JSON.stringify({ v100, v150, twoThreadProbe: { before: probeBefore, after: probeAfter } }))
