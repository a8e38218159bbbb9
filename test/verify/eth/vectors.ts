/** Reading the third-party eth-getproof vectors (test/vectors/eth-getproof). */
import { readFileSync } from "node:fs"
import path from "node:path"

/** The eth-getproof vector folder. */
export const ETH_VECTORS = path.resolve(import.meta.dirname, "../../vectors/eth-getproof")

/** Parse one vector file (path relative to the eth-getproof folder). */
export const readVector = (relative: string): unknown => JSON.parse(readFileSync(path.join(ETH_VECTORS, relative), "utf8"))

/** Raw text of one vector file. */
export const readVectorText = (relative: string): string => readFileSync(path.join(ETH_VECTORS, relative), "utf8")

/** Bytes of hex with or without 0x, either case (the vectors use all of these). */
export const hexBytes = (hex: string): Uint8Array => {
  const digits = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`not hex: ${hex}`)
  const out = new Uint8Array(digits.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(digits.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** Lowercase 0x-prefixed hex. */
export const toHex = (bytes: Uint8Array): string => `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`

/** The entries of a JSON object as typed pairs. */
export const entriesOf = (value: unknown): Array<[string, unknown]> => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("vector file is not an object")
  return Object.entries(value)
}
