/**
 * Strict RFC 4648 base64 (standard alphabet), padded for age's ASCII armor and unpadded for
 * age header lines. Decoding rejects anything a canonical encoder would not have written
 * (foreign characters, wrong padding, non-zero trailing bits), so one byte string has exactly
 * one accepted text and a ciphertext cannot be re-encoded into a second "different" one.
 */

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const values = new Int16Array(128).fill(-1)
for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i

/** Encode bytes; `pad` adds the `=` padding (age armor) or leaves it off (age header). */
export const encodeBase64 = (bytes: Uint8Array, pad: boolean): string => {
  let out = ""
  let i = 0
  for (; i + 3 <= bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)
    out += alphabet.charAt(n >>> 18) + alphabet.charAt((n >>> 12) & 63) + alphabet.charAt((n >>> 6) & 63) + alphabet.charAt(n & 63)
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = (bytes[i] as number) << 16
    out += alphabet.charAt(n >>> 18) + alphabet.charAt((n >>> 12) & 63) + (pad ? "==" : "")
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8)
    out += alphabet.charAt(n >>> 18) + alphabet.charAt((n >>> 12) & 63) + alphabet.charAt((n >>> 6) & 63) + (pad ? "=" : "")
  }
  return out
}

/** Decode canonical base64; `undefined` when the text is not the canonical encoding of any bytes. */
export const decodeBase64 = (text: string, pad: boolean): Uint8Array | undefined => {
  let body = text
  if (pad) {
    if (text.length % 4 !== 0) return undefined
    body = text.endsWith("==") ? text.slice(0, -2) : text.endsWith("=") ? text.slice(0, -1) : text
  }
  if (body.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor((body.length * 3) / 4))
  let acc = 0
  let bits = 0
  let o = 0
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i)
    const v = c < 128 ? (values[c] as number) : -1
    if (v < 0) return undefined
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >>> bits) & 0xff
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined
  return out
}
