/**
 * CometBFT times: RFC 3339 strings with up to nanosecond precision, held as bigint
 * nanoseconds since the Unix epoch so that no comparison ever rounds (a JS Date keeps only
 * milliseconds). Durations arrive as decimal strings of nanoseconds.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

const NANOS_PER_SECOND = 1_000_000_000n
const SECONDS_PER_DAY = 86_400n

const isLeapYear = (y: number): boolean => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0

const daysInMonth = (y: number, m: number): number =>
  m === 2 ? (isLeapYear(y) ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146_097 + doe - 719_468
}

// The inverse: the civil date of a day count since 1970-01-01.
const civilFromDays = (days: number): { readonly year: number; readonly month: number; readonly day: number } => {
  const z = days + 719_468
  const era = Math.floor(z / 146_097)
  const doe = z - era * 146_097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day }
}

/** Nanoseconds since the Unix epoch of an RFC 3339 time (years 0001..9999), or undefined if malformed. */
export const parseRfc3339Nanos = (text: string): bigint | undefined => {
  const m = RFC3339.exec(text)
  if (m === null) return undefined
  const [, ys, mos, ds, hs, mis, ss, frac, zulu, sign, ohs, oms] = m
  const year = Number(ys)
  const month = Number(mos)
  const day = Number(ds)
  const hour = Number(hs)
  const minute = Number(mis)
  const second = Number(ss)
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let offsetMinutes = 0
  if (zulu === undefined) {
    const oh = Number(ohs)
    const om = Number(oms)
    if (oh > 23 || om > 59) return undefined
    offsetMinutes = (sign === "-" ? -1 : 1) * (oh * 60 + om)
  }
  const seconds =
    BigInt(daysFromCivil(year, month, day)) * SECONDS_PER_DAY + BigInt(hour * 3600 + minute * 60 + second - offsetMinutes * 60)
  const nanos = frac === undefined ? 0n : BigInt(frac.padEnd(9, "0"))
  return seconds * NANOS_PER_SECOND + nanos
}

/** The protobuf Timestamp of a time: whole seconds (floor) and 0..999,999,999 nanoseconds. */
export const toTimestamp = (nanos: bigint): { readonly seconds: bigint; readonly nanos: number } => {
  let seconds = nanos / NANOS_PER_SECOND
  let rest = nanos - seconds * NANOS_PER_SECOND
  if (rest < 0n) {
    seconds -= 1n
    rest += NANOS_PER_SECOND
  }
  return { seconds, nanos: Number(rest) }
}

const pad = (n: number, width: number): string => String(n).padStart(width, "0")

/** RFC 3339 in UTC with the fraction trimmed of trailing zeros, as Go's RFC3339Nano prints it. */
export const formatRfc3339Nanos = (nanos: bigint): string => {
  const ts = toTimestamp(nanos)
  const days = ts.seconds >= 0n ? ts.seconds / SECONDS_PER_DAY : -((-ts.seconds + SECONDS_PER_DAY - 1n) / SECONDS_PER_DAY)
  const secondOfDay = Number(ts.seconds - days * SECONDS_PER_DAY)
  const { year, month, day } = civilFromDays(Number(days))
  const fraction = ts.nanos === 0 ? "" : `.${pad(ts.nanos, 9).replace(/0+$/, "")}`
  const hms = `${pad(Math.floor(secondOfDay / 3600), 2)}:${pad(Math.floor(secondOfDay / 60) % 60, 2)}:${pad(secondOfDay % 60, 2)}`
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${hms}${fraction}Z`
}

/** A duration given as a decimal string of nanoseconds (no sign, no exponent), or undefined. */
export const parseDurationNanos = (text: string): bigint | undefined =>
  /^(?:0|[1-9][0-9]{0,29})$/.test(text) ? BigInt(text) : undefined
