/**
 * A valid Groth16 case from the third-party vectors (test/vectors/groth16/cases.json) made into
 * a shared proof: its proof.json padded with JSON whitespace to `bytes` (the same proof), cut
 * into ProofShare payloads of at most 32 KiB (base64), with its announcement.
 */
import { readFileSync } from "node:fs"
import path from "node:path"
import { proofCommitment } from "../../../src/domain/proofs/ProofShares.ts"
import { MAX_SHARE_BYTES } from "../../../src/domain/proofs/ProofShares.ts"
import { vkIdOf } from "../../../src/domain/proofs/ProofMessages.ts"

interface Groth16Case {
  readonly name: string
  readonly vk: Record<string, unknown>
  readonly proof: unknown
  readonly publicSignals: ReadonlyArray<string>
  readonly valid: boolean
}

const cases = JSON.parse(readFileSync(path.resolve(import.meta.dirname, "../../vectors/groth16/cases.json"), "utf8")) as ReadonlyArray<Groth16Case>

/** A case by name. */
export const groth16Case = (name: string): Groth16Case => {
  const c = cases.find((x) => x.name === name)
  if (c === undefined) throw new Error(`no case ${name}`)
  return c
}

/** The proof.json text padded with spaces after its opening brace to exactly `bytes` bytes (JSON whitespace: the same proof). */
export const paddedProof = (proof: unknown, bytes: number): Uint8Array => {
  const text = JSON.stringify(proof)
  if (bytes < text.length) throw new Error("the proof is larger than asked")
  return new TextEncoder().encode(`{${" ".repeat(bytes - text.length)}${text.slice(1)}`)
}

/** A shared proof: the key to register, the announcement and the share payloads in index order. */
export const sharedProof = (c: Groth16Case, bytes: number, options: { readonly computationId?: string; readonly publicInputs?: ReadonlyArray<string> } = {}) => {
  const proof = paddedProof(c.proof, bytes)
  const shares: Array<{ readonly index: number; readonly data: string }> = []
  for (let at = 0, index = 0; at < proof.length; at += MAX_SHARE_BYTES, index++) {
    shares.push({ index, data: Buffer.from(proof.subarray(at, at + MAX_SHARE_BYTES)).toString("base64") })
  }
  return {
    proof,
    key: { proofSystem: "groth16", vk: c.vk },
    vkId: vkIdOf(c.vk),
    announcement: {
      computationId: options.computationId ?? "batch-1",
      proofSystem: "groth16",
      vkId: vkIdOf(c.vk),
      commitment: proofCommitment(proof),
      publicInputs: [...(options.publicInputs ?? c.publicSignals)],
      shares: shares.length,
      bytes: proof.length
    },
    shares
  }
}

/** A deterministic shuffle (xorshift32 Fisher-Yates). */
export const shuffled = <A>(xs: ReadonlyArray<A>, seed: number): Array<A> => {
  const out = [...xs]
  let s = seed >>> 0 || 1
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    const j = (s >>> 0) % (i + 1)
    const t = out[i] as A
    out[i] = out[j] as A
    out[j] = t
  }
  return out
}

/** One byte of a base64 share changed (its first character), so the share decodes to other bytes. */
export const changedShare = (data: string): string => `${data[0] === "A" ? "B" : "A"}${data.slice(1)}`
