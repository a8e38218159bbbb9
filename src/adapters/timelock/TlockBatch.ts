/**
 * The work of one batch slice, shared by the in-process and the worker-thread decrypters,
 * and the plain-object form its results cross a thread boundary in.
 */
import { Result } from "effect"
import type { IbeOps } from "../../domain/timelock/Ibe.ts"
import { DecryptionFailed, decryptWithSignature, MalformedCiphertext, type TlockError, WrongChainHash, WrongRound } from "../../domain/timelock/Tlock.ts"
import type { DecryptItem } from "../../ports/TlockDecrypter.ts"

/** A result as structured-clone data. */
export type WireResult =
  | { readonly ok: true; readonly plaintext: Uint8Array }
  | { readonly ok: false; readonly error: { readonly _tag: TlockError["_tag"]; readonly reason: string; readonly expected?: string | number; readonly actual?: string | number } }

/** Decrypt a slice with the given curve backend. */
export const decryptSlice = (ops: IbeOps, items: ReadonlyArray<DecryptItem>, chainHash: string): Array<WireResult> =>
  items.map((item) => {
    const r = decryptWithSignature(item.ciphertext, item.signature, { chainHash, ops })
    if (Result.isSuccess(r)) return { ok: true, plaintext: r.success }
    const e = r.failure
    return { ok: false, error: { _tag: e._tag, reason: e.reason, ...("expected" in e ? { expected: e.expected, actual: e.actual } : {}) } }
  })

/** Rebuild the typed result. */
export const fromWire = (w: WireResult): Result.Result<Uint8Array, TlockError> => {
  if (w.ok) return Result.succeed(w.plaintext)
  const { _tag, reason } = w.error
  switch (_tag) {
    case "MalformedCiphertext":
      return Result.fail(new MalformedCiphertext({ reason }))
    case "DecryptionFailed":
      return Result.fail(new DecryptionFailed({ reason }))
    case "WrongChainHash":
      return Result.fail(new WrongChainHash({ reason, expected: String(w.error.expected), actual: String(w.error.actual) }))
    case "WrongRound":
      return Result.fail(new WrongRound({ reason, expected: Number(w.error.expected), actual: Number(w.error.actual) }))
  }
}
