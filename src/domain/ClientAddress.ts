/**
 * Who a client is for its admission budget, when it is not known by a token: its TCP peer
 * address. An IPv4 address stands for itself; an IPv6 address for its /64 (a host is commonly
 * given a whole /64, so one address each would let it take 2^64 budgets); an IPv4-mapped IPv6
 * address (`::ffff:192.0.2.1`, what a dual-stack socket reports) for its IPv4 address.
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/u
const HEXTET = /^[0-9a-f]{1,4}$/u

/** The dotted IPv4 address, normalised (no leading zeros), or undefined when it is not one. */
const ipv4 = (text: string): string | undefined => {
  const m = IPV4.exec(text)
  if (m === null) return undefined
  const octets = m.slice(1, 5).map(Number)
  return octets.every((o) => o <= 255) ? octets.join(".") : undefined
}

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail read as two), or undefined. */
const ipv6Groups = (text: string): Array<number> | undefined => {
  let parts = text.split(":")
  const tail = parts[parts.length - 1] ?? ""
  if (tail.includes(".")) {
    const v4 = ipv4(tail)
    if (v4 === undefined) return undefined
    const [a, b, c, d] = v4.split(".").map(Number) as [number, number, number, number]
    parts = [...parts.slice(0, -1), ((a << 8) | b).toString(16), ((c << 8) | d).toString(16)]
  }
  let groups: Array<string> = parts
  if (text.includes("::")) {
    const [head, rest] = splitGap(parts)
    const missing = 8 - head.length - rest.length
    if (missing < 1) return undefined
    groups = [...head, ...new Array<string>(missing).fill("0"), ...rest]
  }
  if (groups.length !== 8 || !groups.every((g) => HEXTET.test(g))) return undefined
  return groups.map((g) => parseInt(g, 16))
}

/** The groups before and after the one `::` (empty strings of its colons dropped); a second `::` leaves an empty group, refused later. */
const splitGap = (parts: ReadonlyArray<string>): [Array<string>, Array<string>] => {
  const joined = parts.join(":")
  const at = joined.indexOf("::")
  const head = joined.slice(0, at)
  const rest = joined.slice(at + 2)
  return [head === "" ? [] : head.split(":"), rest === "" ? [] : rest.split(":")]
}

/**
 * The budget key of a client's address: `192.0.2.1`, `2001:db8:0:1::/64` (the /64 prefix,
 * hex groups without leading zeros), the IPv4 address of an IPv4-mapped IPv6 address; any
 * other text (not an IP address) lowercased as it is.
 */
export const clientAddressKey = (address: string): string => {
  const text = address.trim().toLowerCase()
  const v4 = ipv4(text)
  if (v4 !== undefined) return v4
  const zone = text.indexOf("%")
  const groups = ipv6Groups(zone === -1 ? text : text.slice(0, zone))
  if (groups === undefined) return text
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const hi = groups[6] as number
    const lo = groups[7] as number
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join(".")
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(":")}::/64`
}
