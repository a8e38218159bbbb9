/**
 * What an IBC acknowledgement says about the receiving application's execution, read only from
 * the formats ibc-go itself writes:
 *
 * - v1 (04-channel/types/acknowledgement.go): `channeltypes.Acknowledgement` as sorted, compact
 *   proto JSON, exactly one of `{"result":"<base64, non-empty>"}` (NewResultAcknowledgement;
 *   ICS-20's success is `{"result":"AQ=="}`) or `{"error":"<string>"}` (NewErrorAcknowledgement:
 *   `ABCI code: N: error handling packet: see events for details`). Anything else is an app's own
 *   format: "unknown".
 * - v2 (04-channel/v2/types/acknowledgement.go): the app acknowledgements of a packet; a single
 *   `ErrorAcknowledgement` = sha256("UNIVERSAL_ERROR_ACKNOWLEDGEMENT") is the core's error ack
 *   (a payload's app failed); otherwise each app ack is read as a v1 ack: any error makes the
 *   packet's result "error", all ok make it "ok", anything else "unknown".
 *
 * The bytes count only when bound to a proven acknowledgement commitment (the folds check
 * that with IbcCommitments.ts before calling these). Results are bounded: an error string is
 * cut to MAX_ERROR_CHARS, ack bytes are kept only up to MAX_KEPT_ACK_HEX.
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { Result } from "effect"
import type { IbcExecution } from "../effects/EffectShapes.ts"
import { acknowledgementCommitmentV1Bytes, acknowledgementCommitmentV2Bytes } from "./IbcCommitments.ts"

/** Most characters of an error ack's string kept. */
export const MAX_ERROR_CHARS = 256
/** Most hex characters of ack bytes kept in a packet's state (the evidence message holds them all). */
export const MAX_KEPT_ACK_HEX = 512

/** ibc-go v2's ErrorAcknowledgement: sha256("UNIVERSAL_ERROR_ACKNOWLEDGEMENT"), hex. */
export const UNIVERSAL_ERROR_ACKNOWLEDGEMENT = bytesToHex(sha256(utf8ToBytes("UNIVERSAL_ERROR_ACKNOWLEDGEMENT")))

// Standard base64 with padding (proto JSON's bytes), at least one byte.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)$/u
const RESULT = /^\{"result":"([^"\\]*)"\}$/u
// A JSON string body (Go's encoder escapes <, >, & and controls as \uXXXX).
const ERROR = /^\{"error":"((?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*)"\}$/u

const utf8 = new TextDecoder("utf-8", { fatal: true })

const textOf = (hex: string): string | undefined => {
  try {
    return utf8.decode(hexToBytes(hex))
  } catch {
    return undefined
  }
}

/** A v1 ack's (hex) result alone: ok, error (with its string) or unknown. */
export const readAcknowledgementV1 = (ack: string): Pick<IbcExecution, "result" | "error"> => {
  const text = textOf(ack)
  if (text === undefined) return { result: "unknown" }
  const ok = RESULT.exec(text)
  if (ok !== null) return BASE64.test(ok[1] as string) ? { result: "ok" } : { result: "unknown" }
  const error = ERROR.exec(text)
  if (error === null) return { result: "unknown" }
  const message = JSON.parse(`"${error[1] as string}"`) as string
  // ValidateBasic refuses a blank error; ibc-go never writes one.
  return message.trim() === "" ? { result: "unknown" } : { result: "error", error: message.slice(0, MAX_ERROR_CHARS) }
}

/** A v2 packet's result from its apps' acks (hex). */
export const readAcknowledgementV2 = (acks: ReadonlyArray<string>): Pick<IbcExecution, "result" | "error"> => {
  if (acks.length === 1 && acks[0] === UNIVERSAL_ERROR_ACKNOWLEDGEMENT) return { result: "error", error: "UNIVERSAL_ERROR_ACKNOWLEDGEMENT" }
  const read = acks.map(readAcknowledgementV1)
  const failed = read.find((r) => r.result === "error")
  if (failed !== undefined) return failed
  return read.length > 0 && read.every((r) => r.result === "ok") ? { result: "ok" } : { result: "unknown" }
}

/** The execution a v1 ack leg gives: the ack read when it hashes to the proven commitment (hex), else unknown. */
export const executionOfV1 = (ack: string | undefined, commitment: string): IbcExecution => {
  if (ack === undefined) return { result: "unknown" }
  const bound = acknowledgementCommitmentV1Bytes(ack)
  if (Result.isFailure(bound) || bytesToHex(bound.success) !== commitment) return { result: "unknown" }
  return { ...readAcknowledgementV1(ack), ...(ack.length <= MAX_KEPT_ACK_HEX ? { acknowledgement: ack } : {}) }
}

/** The execution a v2 ack leg gives: the apps' acks read when they hash to the proven v2 commitment (hex), else unknown. */
export const executionOfV2 = (acks: ReadonlyArray<string> | undefined, commitment: string): IbcExecution => {
  if (acks === undefined || acks.length === 0) return { result: "unknown" }
  const bound = acknowledgementCommitmentV2Bytes(acks)
  if (Result.isFailure(bound) || bytesToHex(bound.success) !== commitment) return { result: "unknown" }
  const kept = acks.reduce((n, a) => n + a.length, 0) <= MAX_KEPT_ACK_HEX
  return { ...readAcknowledgementV2(acks), ...(kept ? { appAcknowledgements: acks } : {}) }
}
