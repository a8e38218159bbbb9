/**
 * What a fold that waits on proofs keeps of them (the registers and sequences projections):
 * each ProofAnnouncement's commitment, key and the public inputs the bindings read
 * (src/domain/proofs/ProofBinding.ts), and the authority's first ProofVerified on it whose
 * commitment matches. The fold decides who the authority is; this module only records.
 */
import { HashMap, Option } from "effect"
import { BOUND_INPUTS } from "./ProofBinding.ts"

/** An announced proof as a waiting fold knows it. */
export interface KnownProof {
  /** The ProofAnnouncement's message id (the proof's name). */
  readonly id: string
  readonly vkId: string
  readonly commitment: string
  /** The first BOUND_INPUTS public inputs (what the bindings read). */
  readonly inputs: ReadonlyArray<string>
  /** The authority's verdict, once given. */
  readonly verdict: { readonly ok: boolean; readonly reason: string | null } | null
}

/** Announced proofs, by announcement id. */
export type KnownProofs = HashMap.HashMap<string, KnownProof>

/** Record an announcement (the first of an id counts; ids are unique in a log anyway). */
export const announceProof = (
  proofs: KnownProofs,
  input: { readonly id: string; readonly vkId: string; readonly commitment: string; readonly publicInputs: ReadonlyArray<string> }
): KnownProofs =>
  HashMap.has(proofs, input.id)
    ? proofs
    : HashMap.set(proofs, input.id, { id: input.id, vkId: input.vkId, commitment: input.commitment, inputs: input.publicInputs.slice(0, BOUND_INPUTS), verdict: null })

/**
 * Record the authority's verdict (already known to come from it): only on a known proof, only
 * with its commitment, only the first. Returns the proof with its verdict when it was recorded.
 */
export const recordVerdict = (
  proofs: KnownProofs,
  input: { readonly announcementId: string; readonly commitment: string; readonly ok: boolean; readonly reason: string | undefined }
): { readonly proofs: KnownProofs; readonly decided: KnownProof | undefined } => {
  const known = Option.getOrUndefined(HashMap.get(proofs, input.announcementId))
  if (known === undefined || known.verdict !== null || known.commitment !== input.commitment) return { proofs, decided: undefined }
  const decided: KnownProof = { ...known, verdict: { ok: input.ok, reason: input.reason ?? null } }
  return { proofs: HashMap.set(proofs, known.id, decided), decided }
}

/** A known proof by announcement id. */
export const knownProof = (proofs: KnownProofs, id: string): KnownProof | undefined => Option.getOrUndefined(HashMap.get(proofs, id))
