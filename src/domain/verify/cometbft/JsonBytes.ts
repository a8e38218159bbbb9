/**
 * Byte strings as CometBFT's RPC JSON spells them: hashes and addresses in hex (either case,
 * "" for none), keys and signatures in standard padded base64. Decoders return `undefined`
 * on malformed text instead of throwing, so the parser can name the offending field.
 */

const HEX_VALUES = new Int8Array(128).fill(-1)
for (let i = 0; i < 10; i++) HEX_VALUES[48 + i] = i
for (let i = 0; i < 6; i++) {
  HEX_VALUES[65 + i] = 10 + i
  HEX_VALUES[97 + i] = 10 + i
}

/** Bytes of an even-length hex string (no 0x, either case), or undefined if it is not hex. */
export const hexToBytesOrUndefined = (hex: string): Uint8Array | undefined => {
  if (hex.length % 2 !== 0) return undefined
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = hex.charCodeAt(2 * i)
    const lo = hex.charCodeAt(2 * i + 1)
    const h = hi < 128 ? (HEX_VALUES[hi] ?? -1) : -1
    const l = lo < 128 ? (HEX_VALUES[lo] ?? -1) : -1
    if (h < 0 || l < 0) return undefined
    out[i] = (h << 4) | l
  }
  return out
}

const HEX_DIGITS = "0123456789ABCDEF"

/** Uppercase hex, the way CometBFT prints hashes and addresses. */
export const bytesToUpperHex = (bytes: Uint8Array): string => {
  let out = ""
  for (const b of bytes) out += HEX_DIGITS.charAt(b >> 4) + HEX_DIGITS.charAt(b & 15)
  return out
}

const B64_VALUES = new Int8Array(128).fill(-1)
const B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
for (let i = 0; i < 64; i++) B64_VALUES[B64_ALPHABET.charCodeAt(i)] = i

/** Bytes of standard base64 with padding (RFC 4648 §4), or undefined if it is not canonical base64. */
export const base64ToBytesOrUndefined = (text: string): Uint8Array | undefined => {
  if (text.length % 4 !== 0) return undefined
  if (text.length === 0) return new Uint8Array(0)
  const pad = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0
  const out = new Uint8Array((text.length / 4) * 3 - pad)
  let o = 0
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length
    let n = 0
    for (let j = 0; j < 4; j++) {
      const code = text.charCodeAt(i + j)
      let v = 0
      if (last && j >= 4 - pad) {
        if (code !== 61) return undefined
      } else {
        v = code < 128 ? (B64_VALUES[code] ?? -1) : -1
        if (v < 0) return undefined
      }
      n = (n << 6) | v
    }
    out[o++] = (n >> 16) & 255
    if (o < out.length) out[o++] = (n >> 8) & 255
    if (o < out.length) out[o++] = n & 255
    // Non-zero bits under the padding would let two spellings mean the same bytes.
    if (last && pad === 1 && (n & 255) !== 0) return undefined
    if (last && pad === 2 && (n & 0xffff) !== 0) return undefined
  }
  return out
}

/** Standard padded base64 of bytes (used to build light blocks in tests and benches). */
export const bytesToBase64 = (bytes: Uint8Array): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0)
    out += B64_ALPHABET.charAt((n >> 18) & 63) + B64_ALPHABET.charAt((n >> 12) & 63)
    out += i + 1 < bytes.length ? B64_ALPHABET.charAt((n >> 6) & 63) : "="
    out += i + 2 < bytes.length ? B64_ALPHABET.charAt(n & 63) : "="
  }
  return out
}

/** Byte-wise equality. */
export const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
