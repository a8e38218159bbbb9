/**
 * The age v1 file format (C2SP age spec), which tlock wraps its IBE ciphertext in: a text
 * header of recipient stanzas authenticated by an HMAC under the file key, then a 16-byte
 * nonce and the payload in 64 KiB ChaCha20-Poly1305 STREAM chunks; optionally ASCII-armored.
 *
 * Parsing is strict (canonical base64, 64-column stanza bodies, no missing final chunk) and
 * every failure is a value naming what was wrong, never an exception.
 */
import { chacha20poly1305 } from "@noble/ciphers/chacha.js"
import { equalBytes } from "@noble/curves/utils.js"
import { hkdf } from "@noble/hashes/hkdf.js"
import { hmac } from "@noble/hashes/hmac.js"
import { sha256 } from "@noble/hashes/sha2.js"
import { concatBytes, utf8ToBytes } from "@noble/hashes/utils.js"
import { decodeBase64, encodeBase64 } from "./Base64.ts"

/** A recipient stanza: `-> type arg…` and its body. */
export interface Stanza {
  readonly type: string
  readonly args: ReadonlyArray<string>
  readonly body: Uint8Array
}

/** A parsed age file: stanzas, the MAC and what it covers, the encrypted payload. */
export interface AgeFile {
  readonly stanzas: ReadonlyArray<Stanza>
  /** The header bytes the MAC covers (through `---`). */
  readonly macInput: Uint8Array
  readonly mac: Uint8Array
  /** 16-byte nonce followed by the STREAM chunks. */
  readonly payload: Uint8Array
}

const VERSION_LINE = "age-encryption.org/v1"
const CHUNK = 64 * 1024
const TAG = 16
const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
const ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
const vchars = /^[\x21-\x7e]+$/

const headerKey = (fileKey: Uint8Array) => hkdf(sha256, fileKey, new Uint8Array(0), utf8ToBytes("header"), 32)
const payloadKey = (fileKey: Uint8Array, nonce: Uint8Array) => hkdf(sha256, fileKey, nonce, utf8ToBytes("payload"), 32)

const streamNonce = (counter: number, last: boolean): Uint8Array => {
  const nonce = new Uint8Array(12)
  const view = new DataView(nonce.buffer)
  view.setUint32(3, Math.floor(counter / 2 ** 32))
  view.setUint32(7, counter >>> 0)
  nonce[11] = last ? 1 : 0
  return nonce
}

const wrap64 = (text: string): Array<string> => {
  const lines: Array<string> = []
  for (let i = 0; i < text.length; i += 64) lines.push(text.slice(i, i + 64))
  return lines
}

/** Encrypt `plaintext` under `fileKey` (16 bytes) for the given stanzas; `nonce` is 16 random bytes. */
export const encodeAge = (fileKey: Uint8Array, stanzas: ReadonlyArray<Stanza>, plaintext: Uint8Array, nonce: Uint8Array): Uint8Array => {
  let header = `${VERSION_LINE}\n`
  for (const s of stanzas) {
    header += `-> ${[s.type, ...s.args].join(" ")}\n`
    const lines = wrap64(encodeBase64(s.body, false))
    // The body ends with a line shorter than 64 columns, empty if need be.
    if (lines.length === 0 || (lines[lines.length - 1] as string).length === 64) lines.push("")
    header += lines.join("\n") + "\n"
  }
  header += "---"
  const macInput = utf8ToBytes(header)
  const mac = hmac(sha256, headerKey(fileKey), macInput)
  const key = payloadKey(fileKey, nonce)
  const chunks: Array<Uint8Array> = [utf8ToBytes(` ${encodeBase64(mac, false)}\n`), nonce]
  const count = Math.max(1, Math.ceil(plaintext.length / CHUNK))
  for (let i = 0; i < count; i++) {
    chunks.push(chacha20poly1305(key, streamNonce(i, i === count - 1)).encrypt(plaintext.subarray(i * CHUNK, (i + 1) * CHUNK)))
  }
  return concatBytes(macInput, ...chunks)
}

/** What made an age file unreadable. */
export type AgeFailure = { readonly stage: "format" | "mac" | "payload"; readonly reason: string }
const failure = (stage: AgeFailure["stage"], reason: string): AgeFailure => ({ stage, reason })

/** Find the next "\n" at or after `from`; -1 if none. */
const lineEnd = (bytes: Uint8Array, from: number): number => bytes.indexOf(0x0a, from)

const ascii = (bytes: Uint8Array): string => {
  let s = ""
  for (const b of bytes) s += String.fromCharCode(b)
  return s
}

/** Parse a binary age file's header; the payload is left encrypted. */
export const parseAge = (bytes: Uint8Array): AgeFile | AgeFailure => {
  let pos = 0
  const nextLine = (): string | undefined => {
    const end = lineEnd(bytes, pos)
    if (end < 0) return undefined
    const line = ascii(bytes.subarray(pos, end))
    pos = end + 1
    return line
  }
  if (nextLine() !== VERSION_LINE) return failure("format", `not an age v1 file (first line must be "${VERSION_LINE}")`)
  const stanzas: Array<Stanza> = []
  for (;;) {
    const lineStart = pos
    const line = nextLine()
    if (line === undefined) return failure("format", "header ends before the MAC line")
    if (line.startsWith("--- ")) {
      const mac = decodeBase64(line.slice(4), false)
      if (mac === undefined || mac.length !== 32) return failure("format", "header MAC is not 32 bytes of canonical base64")
      if (stanzas.length === 0) return failure("format", "header has no recipient stanza")
      return { stanzas, macInput: bytes.subarray(0, lineStart + 3), mac, payload: bytes.subarray(pos) }
    }
    if (!line.startsWith("-> ")) return failure("format", "expected a stanza (\"-> \") or the MAC line (\"--- \")")
    const [type, ...args] = line.slice(3).split(" ")
    if (type === undefined || !vchars.test(type) || !args.every((a) => vchars.test(a))) {
      return failure("format", "stanza type and arguments must be non-empty printable ASCII")
    }
    let text = ""
    for (;;) {
      const bodyLine = nextLine()
      if (bodyLine === undefined) return failure("format", "stanza body is not terminated")
      if (bodyLine.length > 64) return failure("format", "stanza body line longer than 64 columns")
      text += bodyLine
      if (bodyLine.length < 64) break
    }
    const body = decodeBase64(text, false)
    if (body === undefined) return failure("format", "stanza body is not canonical unpadded base64")
    stanzas.push({ type, args, body })
  }
}

/** Check the header MAC under `fileKey` and decrypt the payload. */
export const openAge = (file: AgeFile, fileKey: Uint8Array): Uint8Array | AgeFailure => {
  if (!equalBytes(hmac(sha256, headerKey(fileKey), file.macInput), file.mac)) {
    return failure("mac", "header MAC does not verify under the file key")
  }
  if (file.payload.length < 16 + TAG) return failure("payload", "payload is shorter than a nonce and one chunk")
  const key = payloadKey(fileKey, file.payload.subarray(0, 16))
  const body = file.payload.subarray(16)
  const count = Math.ceil(body.length / (CHUNK + TAG))
  const out: Array<Uint8Array> = []
  for (let i = 0; i < count; i++) {
    const chunk = body.subarray(i * (CHUNK + TAG), (i + 1) * (CHUNK + TAG))
    const last = i === count - 1
    if (last && chunk.length === TAG && count > 1) return failure("payload", "empty final chunk after a full one")
    try {
      out.push(chacha20poly1305(key, streamNonce(i, last)).decrypt(chunk))
    } catch {
      return failure("payload", `payload chunk ${i} does not authenticate`)
    }
  }
  return concatBytes(...out)
}

/** ASCII armor: padded base64 in 64-column lines between the age markers. */
export const armor = (bytes: Uint8Array): string =>
  `${ARMOR_BEGIN}\n${wrap64(encodeBase64(bytes, true)).join("\n")}\n${ARMOR_END}\n`

/** Remove ASCII armor (surrounding whitespace allowed); `undefined` if it is not valid armor. */
export const dearmor = (text: string): Uint8Array | undefined => {
  const trimmed = text.trim()
  if (text.length - trimmed.length > 1024) return undefined
  if (!trimmed.startsWith(ARMOR_BEGIN + "\n") || !trimmed.endsWith("\n" + ARMOR_END)) return undefined
  const inner = trimmed.slice(ARMOR_BEGIN.length + 1, trimmed.length - ARMOR_END.length - 1).replace(/\r\n/g, "\n")
  const lines = inner.split("\n")
  // tlock-js ends a body of whole 64-column lines with an empty line; age does not. Accept both.
  if (lines.length > 1 && lines[lines.length - 1] === "" && (lines[lines.length - 2] as string).length === 64) lines.pop()
  for (let i = 0; i < lines.length; i++) {
    const n = (lines[i] as string).length
    if (n > 64 || n === 0 || (i < lines.length - 1 && n !== 64)) return undefined
  }
  return decodeBase64(lines.join(""), true)
}

/** Is this text ASCII-armored age (by its first marker)? */
export const isArmored = (text: string): boolean => text.trimStart().startsWith(ARMOR_BEGIN)
