/**
 * CometBFT adjacent light-block verification against its lower bound, in one run.
 *
 * For 100 and 150 validators (real Ed25519 keys, equal power, all signing): height H is
 * trusted, H+1 is verified with `verifyLightBlock` and the node:crypto verifier
 * (src/adapters/NodeCryptoSignatureVerifier.ts, KeyObjects cached). The bound is
 * `signaturesChecked × t`, where t is one bare `crypto.verify(null, msg, keyObject, sig)` on
 * pre-parsed KeyObjects over the very sign bytes and signatures of that commit; verification
 * stops at > 2/3 of the power, so 67 of 100 and 101 of 150 signatures are checked.
 * Everything else verifyLightBlock does (parsing the RPC JSON, validator-set and header
 * hashing, address checks, CanonicalVote encoding, tallies) is the overhead the ratio shows.
 *
 * The two are measured in adjacent pairs (alternating which goes first) so that load from
 * other processes hits both alike. ms is the median verifyLightBlock time, boundMs the
 * signatures checked times the median bare time per signature, and ratio the median over
 * pairs of (verifyLightBlock time / that pair's bound), which load bursts disturb least.
 * Also printed: median/median, min/min, and a block whose next validator set differs from
 * its validator set (so both sets are hashed), for information.
 * The last line is one JSON object: {"v100":{"ms","boundMs","ratio"},"v150":{...}}.
 *
 * Env: BENCH_PAIRS (measured pairs per size, default 200).
 */
import { createPublicKey, type KeyObject, verify as cryptoVerify } from "node:crypto"
import { Result } from "effect"
import * as NodeCryptoSignatureVerifier from "../src/adapters/NodeCryptoSignatureVerifier.ts"
import { type VerifySignature, verifyLightBlock } from "../src/domain/verify/cometbft/CometBftLightClient.ts"
import type { LightBlock } from "../src/domain/verify/cometbft/LightBlock.ts"
import { buildLightBlock, makeValidators, seconds, trustedOf, withPower } from "../test/verify/cometbft/ChainBuilder.ts"

const PAIRS = Number(process.env.BENCH_PAIRS ?? 200)
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

const run = (n: number) => {
  const adapter = NodeCryptoSignatureVerifier.make()
  const verifier: VerifySignature = (pk, msg, sig) => adapter.verify("ed25519", Buffer.from(pk.buffer, pk.byteOffset, pk.length).toString("hex"), msg, sig)
  // Record what the verifier checks, once, for the bare-verify bound.
  const checked: Array<{ key: KeyObject; msg: Uint8Array; sig: Uint8Array }> = []
  const recorder: VerifySignature = (pk, msg, sig) => {
    checked.push({ key: createPublicKey({ key: Buffer.concat([ED25519_SPKI, pk]), format: "der", type: "spki" }), msg, sig })
    return verifier(pk, msg, sig)
  }
  const same = scenario(n, false)
  const changed = scenario(n, true)
  const verifyOnce = (s: Scenario, v: VerifySignature) =>
    verifyLightBlock({ trusted: s.trusted, untrusted: s.untrusted, now: NOW, trustingPeriod: TRUSTING_PERIOD, maxClockDrift: "10000000000" }, v)
  const first = verifyOnce(same, recorder)
  if (Result.isFailure(first)) throw new Error(`bench block does not verify: ${first.failure.message}`)
  const sigs = first.success.signaturesChecked
  if (Result.isFailure(verifyOnce(changed, verifier))) throw new Error("changed-set bench block does not verify")

  const bare = () => {
    for (const c of checked) if (!cryptoVerify(null, c.msg, c.key, c.sig)) throw new Error("bare verify failed")
  }
  // Warm up both paths (JIT, key cache).
  for (let i = 0; i < 20; i++) {
    verifyOnce(same, verifier)
    verifyOnce(changed, verifier)
    bare()
  }
  // Pairs of (one verifyLightBlock, one bare pass over its signatures), alternating which goes
  // first, so a burst of load from other processes lands on both halves of a pair alike.
  const ms: Array<number> = []
  const bareMs: Array<number> = []
  const msChanged: Array<number> = []
  const time = (f: () => unknown): number => {
    const t = performance.now()
    f()
    return performance.now() - t
  }
  for (let i = 0; i < PAIRS; i++) {
    if (i % 2 === 0) {
      ms.push(time(() => verifyOnce(same, verifier)))
      bareMs.push(time(bare))
    } else {
      bareMs.push(time(bare))
      ms.push(time(() => verifyOnce(same, verifier)))
    }
    if (i % 4 === 0) msChanged.push(time(() => verifyOnce(changed, verifier)))
  }
  const perVerify = median(bareMs) / checked.length
  const bound = sigs * perVerify
  // Each pair's bound is its bare pass scaled to the signatures verifyLightBlock checked.
  const pairRatios = ms.map((m, i) => m / (((bareMs[i] ?? m) / checked.length) * sigs))
  const result = { ms: round3(median(ms)), boundMs: round3(bound), ratio: round3(median(pairRatios)) }
  console.log(
    `v${n}: ${sigs} signatures checked; bare verify ${round3(perVerify * 1000)} us; verifyLightBlock median ${result.ms} ms ` +
      `(min ${round3(Math.min(...ms))}, p90 ${round3(quantile(ms, 0.9))}); bound ${result.boundMs} ms; ratio ${result.ratio} ` +
      `(median/median ${round3(median(ms) / bound)}, min/min ${round3(Math.min(...ms) / ((Math.min(...bareMs) / checked.length) * sigs))}); ` +
      `next validator set differs: ${round3(median(msChanged))} ms, ratio ${round3(median(msChanged) / bound)}`
  )
  return result
}

const v100 = run(100)
const v150 = run(150)
console.log(JSON.stringify({ v100, v150 }))
