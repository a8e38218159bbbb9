/**
 * Open event streams are bounded (docs/security.md): at most `total` on the server and
 * `perAddress` per client address (IPv4 address, IPv6 /64: src/domain/ClientAddress.ts). The
 * OpensStream middleware takes a slot before the endpoint runs and gives it back when the
 * stream ends (the client leaves, the server drains, the storage fails), or when the endpoint
 * answers something else. A slot whose stream never starts is given back after a grace period.
 */
import { Effect, Layer, Option, Stream } from "effect"
import { HttpServerRequest, HttpServerResponse } from "effect/http"
import * as HttpBody from "effect/http/HttpBody"
import { clientAddressKey } from "../../domain/ClientAddress.ts"
import { OpensStream, StreamsFull, TooManyStreams } from "./EdgeApi.ts"

/** The bounds. */
export interface StreamSlotOptions {
  /** Most open streams on the server (default 1,000). */
  readonly total: number
  /** Most open streams per client address (default 32). */
  readonly perAddress: number
}

/** The default bounds. */
export const defaultStreamSlotOptions: StreamSlotOptions = { total: 1_000, perAddress: 32 }

/** How long a taken slot waits for its stream to start before it is given back. */
const START_GRACE_MS = 30_000

/** The middleware over a fresh count of open streams. */
export const layer = (options: StreamSlotOptions = defaultStreamSlotOptions) =>
  Layer.sync(OpensStream, () => {
    let open = 0
    const byAddress = new Map<string, number>()
    const take = (key: string): TooManyStreams | StreamsFull | (() => void) => {
      const mine = byAddress.get(key) ?? 0
      if (mine >= options.perAddress) {
        return new TooManyStreams({ reason: `this client address holds ${mine} open event streams, the most it may; close one first`, limit: options.perAddress })
      }
      if (open >= options.total) return new StreamsFull({ reason: `the server holds ${open} open event streams, the most it serves; retry later`, limit: options.total })
      open++
      byAddress.set(key, mine + 1)
      let given = false
      return () => {
        if (given) return
        given = true
        open--
        const left = (byAddress.get(key) ?? 1) - 1
        if (left <= 0) byAddress.delete(key)
        else byAddress.set(key, left)
      }
    }
    return (httpEffect) =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const key = Option.match(request.remoteAddress, { onNone: () => "unknown", onSome: clientAddressKey })
        const taken = take(key)
        if (typeof taken !== "function") return yield* Effect.fail(taken)
        const release = taken
        const response = yield* Effect.onError(httpEffect, () => Effect.sync(release))
        const body = response.body
        if (body._tag !== "Stream") {
          release()
          return response
        }
        let started = false
        const timer = setTimeout(() => {
          if (!started) release()
        }, START_GRACE_MS)
        timer.unref()
        const stream = body.stream.pipe(
          Stream.onStart(Effect.sync(() => (started = true))),
          Stream.ensuring(Effect.sync(() => {
            clearTimeout(timer)
            release()
          }))
        )
        return HttpServerResponse.setBody(response, HttpBody.stream(stream, body.contentType, body.contentLength))
      })
  })
