/**
 * The log's live feed (GET /v1/stream), one connection for the whole page: views subscribe
 * to hear that records landed (their type and offset only; the dashboard never shows a
 * record's envelope) and refresh what they show from the API.
 */
import { useEffect, useRef, useState } from "preact/hooks"
import { follow } from "./api.ts"

/** A record that landed: its offset and type. */
export interface Landed {
  readonly offset: number
  readonly type: string
}

type Listener = (r: Landed) => void

const listeners = new Set<Listener>()
const stateListeners = new Set<(connected: boolean) => void>()
let connected = false
let started: AbortController | undefined

/** Start the feed (once); restart it after the token changes. */
export const startFeed = (): void => {
  started?.abort()
  started = new AbortController()
  follow("/v1/stream", (e) => {
    if (e.event !== "record") return
    try {
      const r = JSON.parse(e.data) as { offset?: unknown; type?: unknown }
      if (typeof r.offset !== "number" || typeof r.type !== "string") return
      const landed = { offset: r.offset, type: r.type }
      for (const l of listeners) l(landed)
    } catch {
      // a record that is not JSON is not one the server sends; ignore it
    }
  }, started.signal, {
    onState: (c) => {
      connected = c
      for (const l of stateListeners) l(c)
    }
  })
}

/** Is the feed connected? (re-renders on change) */
export const useFeedConnected = (): boolean => {
  const [c, setC] = useState(connected)
  useEffect(() => {
    stateListeners.add(setC)
    return () => void stateListeners.delete(setC)
  }, [])
  return c
}

/**
 * Call `refresh` now, whenever a record of one of `types` lands (at most once per 150 ms;
 * every record when `types` is undefined), and every `everyMs` besides.
 */
export const useRefresh = (refresh: (landed: Landed | undefined) => void, types: ReadonlySet<string> | undefined, everyMs: number): void => {
  const latest = useRef(refresh)
  latest.current = refresh
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined
    let pending: Landed | undefined
    const listener: Listener = (r) => {
      if (types !== undefined && !types.has(r.type)) return
      pending = r
      timer ??= setTimeout(() => {
        timer = undefined
        latest.current(pending)
      }, 150)
    }
    listeners.add(listener)
    latest.current(undefined)
    const interval = setInterval(() => latest.current(undefined), everyMs)
    return () => {
      listeners.delete(listener)
      clearInterval(interval)
      if (timer !== undefined) clearTimeout(timer)
    }
  }, [types, everyMs])
}
