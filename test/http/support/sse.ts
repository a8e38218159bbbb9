/** A minimal Server-Sent Events reader over fetch, for tests. */

/** One event as received: its fields, or a comment. */
export interface SseEvent {
  readonly id?: string
  readonly event?: string
  readonly data?: string
  readonly comment?: string
}

/** An open event stream. */
export interface SseConnection {
  readonly status: number
  readonly contentType: string | null
  /** Wait for the next event (or comment); null when the stream ended. */
  readonly next: () => Promise<SseEvent | null>
  /** Read until `count` record events arrived (skipping comments). */
  readonly records: (count: number) => Promise<ReadonlyArray<SseEvent>>
  /** Disconnect. */
  readonly close: () => void
}

/** Open `url` as an event stream. */
export const connect = async (url: string, headers: Record<string, string> = {}): Promise<SseConnection> => {
  const abort = new AbortController()
  const response = await fetch(url, { headers: { accept: "text/event-stream", ...headers }, signal: abort.signal })
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const decoder = new TextDecoder()
  let buffer = ""
  let done = false
  const queue: Array<SseEvent> = []
  const parseBlock = (block: string): SseEvent => {
    const fields: Record<string, string> = {}
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) return { comment: line.slice(1).trim() }
      const colon = line.indexOf(":")
      const name = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "")
      fields[name] = fields[name] === undefined ? value : `${fields[name]}\n${value}`
    }
    return fields
  }
  const next = async (): Promise<SseEvent | null> => {
    while (queue.length === 0) {
      const end = buffer.indexOf("\n\n")
      if (end !== -1) {
        queue.push(parseBlock(buffer.slice(0, end)))
        buffer = buffer.slice(end + 2)
        continue
      }
      if (done) return null
      const chunk = await reader.read()
      if (chunk.done) done = true
      else buffer += decoder.decode(chunk.value, { stream: true })
    }
    return queue.shift() as SseEvent
  }
  const records = async (count: number) => {
    const out: Array<SseEvent> = []
    while (out.length < count) {
      const e = await next()
      if (e === null) throw new Error(`stream ended after ${out.length} of ${count} records`)
      if (e.event === "record") out.push(e)
    }
    return out
  }
  return {
    status: response.status,
    contentType: response.headers.get("content-type"),
    next,
    records,
    close: () => abort.abort()
  }
}
