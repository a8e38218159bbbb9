/**
 * The dashboard's only way to the server: JSON reads of the HTTP API, its Server-Sent Events
 * streams read over fetch (an EventSource cannot send the bearer token a server with private
 * reads wants), and the token the user gave, kept for the tab's session only.
 */

const TOKEN_KEY = "causeway.token"

/** The API token the user gave this tab, or "". */
export const token = (): string => sessionStorage.getItem(TOKEN_KEY) ?? ""

/** Keep (or, with "", forget) the API token for this tab. */
export const setToken = (value: string): void => {
  if (value === "") sessionStorage.removeItem(TOKEN_KEY)
  else sessionStorage.setItem(TOKEN_KEY, value)
}

const headers = (extra: Record<string, string> = {}): Record<string, string> => {
  const t = token()
  return t === "" ? extra : { ...extra, authorization: `Bearer ${t}` }
}

/** An answer of the API: its status and decoded JSON body (or the text when it is not JSON). */
export interface Answer<A> {
  readonly ok: boolean
  readonly status: number
  readonly body: A
}

/** GET a JSON answer; a network failure is status 0 with its message. */
export const getJson = async <A = unknown>(path: string, signal?: AbortSignal): Promise<Answer<A>> => {
  try {
    const response = await fetch(path, { headers: headers({ accept: "application/json" }), ...(signal === undefined ? {} : { signal }) })
    const text = await response.text()
    let body: unknown = text
    try {
      body = text === "" ? undefined : JSON.parse(text)
    } catch {
      // not JSON: the text as it is
    }
    return { ok: response.ok, status: response.status, body: body as A }
  } catch (e) {
    return { ok: false, status: 0, body: { _tag: "NetworkError", reason: e instanceof Error ? e.message : String(e) } as A }
  }
}

/** The reason an error answer gives. */
export const reasonOf = (answer: Answer<unknown>): string => {
  const b = answer.body as { reason?: unknown } | undefined
  return typeof b?.reason === "string" ? b.reason : `HTTP ${answer.status}`
}

/** One Server-Sent Event. */
export interface SseEvent {
  readonly event: string
  readonly id: string | undefined
  readonly data: string
}

const parseBlock = (block: string): SseEvent | undefined => {
  let event = "message"
  let id: string | undefined
  const data: Array<string> = []
  for (const line of block.split("\n")) {
    if (line === "" || line.startsWith(":")) continue
    const colon = line.indexOf(":")
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "")
    if (field === "event") event = value
    else if (field === "id") id = value
    else if (field === "data") data.push(value)
  }
  return data.length === 0 ? undefined : { event, id, data: data.join("\n") }
}

const pause = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener("abort", () => {
      clearTimeout(timer)
      resolve()
    }, { once: true })
  })

/**
 * Follow an SSE stream until `signal` aborts: each event to `onEvent`, reconnecting after a
 * second (with Last-Event-ID) when the stream ends or fails, unless `once` (a stream that
 * ends by itself: an order's status after its final one). `onState` hears whether it is connected.
 */
export const follow = (
  path: string,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
  options: { readonly once?: boolean; readonly onState?: (connected: boolean) => void } = {}
): void => {
  let lastId: string | undefined
  const run = async () => {
    while (!signal.aborted) {
      try {
        const response = await fetch(path, {
          headers: headers({ accept: "text/event-stream", ...(lastId === undefined ? {} : { "last-event-id": lastId }) }),
          signal
        })
        if (response.ok && response.body !== null) {
          options.onState?.(true)
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
          let buffer = ""
          for (;;) {
            const { value, done } = await reader.read()
            if (done) break
            buffer += value.replace(/\r\n?/g, "\n")
            for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
              const e = parseBlock(buffer.slice(0, end))
              buffer = buffer.slice(end + 2)
              if (e === undefined) continue
              if (e.id !== undefined) lastId = e.id
              onEvent(e)
            }
          }
        }
      } catch {
        // aborted, or the connection dropped: reconnect below unless aborted
      }
      options.onState?.(false)
      if (options.once === true) return
      await pause(1000, signal)
    }
  }
  void run()
}
