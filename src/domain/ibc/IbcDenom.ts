/**
 * ICS-20 denominations, computed and never looked up: a voucher's denom on a chain is
 * `ibc/` + the uppercase hex SHA-256 of its full path `port/channel/.../base`, where each hop
 * is a port and a channel id (`channel-N`) or an IBC v2 client id (`08-wasm-1369`), and the
 * base keeps its exact bytes (case, '/', ':'; a checksummed EVM address is another denom than
 * its lowercase form). Parse and hash rules as ibc-go v11 states them (transfer/types/denom.go
 * `ExtractDenomFromPath`, `Denom.IBCDenom`; channel and client id rules from 04-channel and
 * 02-client keys.go).
 */
import { sha256 } from "@noble/hashes/sha2.js"
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js"

/** One hop of a denom's trace: the port and channel (or v2 client) on the receiving chain. */
export interface DenomHop {
  readonly portId: string
  readonly channelId: string
}

/** A denom split into its trace and base. */
export interface DenomPath {
  readonly base: string
  readonly trace: ReadonlyArray<DenomHop>
}

const MAX_UINT64 = (1n << 64n) - 1n
const CHANNEL_ID = /^channel-([0-9]{1,20})$/u
// ASCII \w: [A-Za-z0-9_].
const CLIENT_ID = /^[A-Za-z0-9_]+(?:[A-Za-z0-9_-]+[A-Za-z0-9_])?-([0-9]{1,20})$/u

const fitsUint64 = (digits: string): boolean => BigInt(digits) <= MAX_UINT64

/** A channel identifier as ibc-go accepts it: `channel-N`, N a uint64. */
export const isChannelId = (id: string): boolean => {
  const m = CHANNEL_ID.exec(id)
  return m !== null && fitsUint64(m[1] as string)
}

/** A client identifier as ibc-go accepts it: `09-localhost`, or `{type}-N`, N a uint64. */
export const isClientId = (id: string): boolean => {
  if (id === "09-localhost") return true
  const m = CLIENT_ID.exec(id)
  return m !== null && fitsUint64(m[1] as string)
}

/** Split a full denom path into its hops and base (ibc-go's ExtractDenomFromPath). */
export const parseIbcDenomPath = (path: string): DenomPath => {
  const parts = path.split("/")
  if (parts.length === 1) return { base: path, trace: [] }
  const trace: Array<DenomHop> = []
  let i = 0
  for (; i < parts.length; i += 2) {
    const channel = parts[i + 1]
    if (i < parts.length - 1 && parts.length > 2 && channel !== undefined && (isChannelId(channel) || isClientId(channel))) {
      trace.push({ portId: parts[i] as string, channelId: channel })
    } else {
      break
    }
  }
  return { base: parts.slice(i).join("/"), trace }
}

/** The full path of a denom: each hop's `port/channel/`, then the base. */
export const denomFullPath = (denom: DenomPath): string =>
  denom.trace.length === 0 ? denom.base : `${denom.trace.map((h) => `${h.portId}/${h.channelId}`).join("/")}/${denom.base}`

/** The voucher denom of a full path: unchanged with no hop, else `ibc/` + uppercase hex sha256(path). */
export const ibcDenom = (path: string): string => {
  const parsed = parseIbcDenomPath(path)
  return parsed.trace.length === 0 ? path : `ibc/${bytesToHex(sha256(utf8ToBytes(denomFullPath(parsed)))).toUpperCase()}`
}
