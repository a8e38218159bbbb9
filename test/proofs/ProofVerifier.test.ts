/**
 * The ProofVerifier port on a worker thread answers exactly the pure verdicts (the typed
 * failure survives the thread boundary), and refuses at once as busy beyond its bound.
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import * as InlineProofVerifier from "../../src/adapters/proofs/InlineProofVerifier.ts"
import * as WorkerProofVerifier from "../../src/adapters/proofs/WorkerProofVerifier.ts"
import { verifyProof } from "../../src/domain/proofs/ProofSystems.ts"
import { ProofVerifier, ProofVerifierBusy } from "../../src/ports/ProofVerifier.ts"

interface Groth16Case {
  readonly name: string
  readonly vk: unknown
  readonly proof: unknown
  readonly publicSignals: unknown
  readonly valid: boolean
}
const cases = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../vectors/groth16/cases.json"), "utf8")) as ReadonlyArray<Groth16Case>
const byName = (name: string): Groth16Case => {
  const c = cases.find((x) => x.name === name)
  if (c === undefined) throw new Error(`no case ${name}`)
  return c
}
const picked = [
  "co-snarks/bn254-multiplier2",
  "groth16-solana/9-publics",
  "co-snarks/bn254-multiplier2/tamper/public0-plus-1",
  "co-snarks/bn254-multiplier2/tamper/pi_b-not-in-subgroup",
  "co-snarks/bn254-multiplier2/tamper/public0-eq-r",
  "co-snarks/bls12-381-multiplier2",
  "shape/vk-ic-extra-point",
  "shape/proof-null"
].map(byName)

const sameVerdicts = Effect.gen(function*() {
  const verifier = yield* ProofVerifier
  for (const c of picked) {
    const verdict = yield* verifier.verify("groth16", c.vk, c.proof, c.publicSignals)
    expect(verdict._tag, c.name).toBe(c.valid ? "Success" : "Failure")
    // Same value and same classes (toStrictEqual compares prototypes): the failure is the typed error.
    expect(verdict, c.name).toStrictEqual(verifyProof("groth16", c.vk, c.proof, c.publicSignals))
  }
  const [valid] = picked
  const other = yield* verifier.verify("plonk", valid?.vk, valid?.proof, valid?.publicSignals)
  expect(other).toMatchObject({ _tag: "Failure", failure: { _tag: "UnsupportedProofSystem", proofSystem: "plonk" } })
})

describe("ProofVerifier", () => {
  it.effect("on a worker thread: the pure function's verdicts, typed", () => sameVerdicts.pipe(Effect.provide(WorkerProofVerifier.layer)), { timeout: 120_000 })

  it.effect("in process: the pure function's verdicts", () => sameVerdicts.pipe(Effect.provide(InlineProofVerifier.layer)), { timeout: 120_000 })

  it.effect("one running and maxWaiting behind it: beyond that, busy at once; room again once answered", () =>
    Effect.gen(function*() {
      const verifier = WorkerProofVerifier.make({ maxWaiting: 2 })
      const c = byName("co-snarks/bn254-multiplier2")
      // All asked for in the same turn of the event loop: the worker cannot have answered any.
      const exits = yield* Effect.all(Array.from({ length: 5 }, () => Effect.exit(verifier.verify("groth16", c.vk, c.proof, c.publicSignals))), { concurrency: "unbounded" })
      const busy = exits.filter(Exit.isFailure)
      expect(busy).toHaveLength(2)
      for (const e of busy) expect(Cause.squash(e.cause)).toBeInstanceOf(ProofVerifierBusy)
      for (const e of exits.filter(Exit.isSuccess)) expect(e.value._tag).toBe("Success")
      expect((yield* verifier.verify("groth16", c.vk, c.proof, c.publicSignals))._tag).toBe("Success")
      yield* Effect.promise(verifier.close)
    }), { timeout: 120_000 })
})
