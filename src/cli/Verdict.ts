/**
 * `--wait`: what the server made of a message it accepted into its log. A 201 means only that
 * the message is logged; the mempool may still refuse it when it folds it (a cancellation of
 * someone else's order, a commitment from a sender in expiry debt, …), and says so in the
 * message's view (GET /v1/mempool/orders/{id}: 404 until folded). So waiting polls that view;
 * a message the mempool does not fold never gets one, which shows once every projection has
 * folded its offset (GET /v1/projections).
 */
import { Console, Duration, Effect, Option } from "effect"
import { isFinalStatus } from "../domain/mempool/MempoolViews.ts"
import { CommandFailed, type ServerUnreachable } from "./CliErrors.ts"
import * as ServerClient from "./ServerClient.ts"

/** Between two looks at the server. */
const POLL = Duration.millis(100)

/** Why the mempool refused what this view describes, or null if it did not. */
export const refusalOf = (view: ServerClient.MempoolView): string | null => {
  if (view.kind === "message") return view.accepted ? null : view.reason ?? "refused (no reason given)"
  if (view.status !== "refused") return null
  const step = view.history.findLast((s) => s.status === "refused")
  return step?.reason ?? "refused (no reason given)"
}

/** Is this the last view the message will have? (A message's outcome is decided once; an order's final statuses never change.) */
export const isFinal = (view: ServerClient.MempoolView): boolean => view.kind === "message" || isFinalStatus(view.status)

/** `effect`, failing with "… within N s" after `seconds`. */
export const within = <A, E, R>(effect: Effect.Effect<A, E, R>, seconds: number, what: string): Effect.Effect<A, E | CommandFailed, R> =>
  Effect.timeoutOrElse(effect, {
    duration: Duration.seconds(seconds),
    orElse: () => Effect.fail(new CommandFailed({ message: `${what} within ${seconds} s (--wait-timeout)` }))
  })

/**
 * The mempool's view of message `id` (logged at `offset`) once its projection has folded it;
 * none when every projection has folded the offset and the mempool recorded nothing for it
 * (a type the mempool does not fold). Polls until then, without bound.
 */
export const awaitFold = (base: string, id: string, offset: number): Effect.Effect<Option.Option<ServerClient.MempoolView>, CommandFailed | ServerUnreachable> =>
  Effect.gen(function*() {
    while (true) {
      const view = yield* ServerClient.mempoolView(base, id)
      if (Option.isSome(view)) return view
      // Look again after the projections passed the offset: the mempool may have folded it in between.
      if (yield* ServerClient.projectionsPast(base, offset)) return yield* ServerClient.mempoolView(base, id)
      yield* Effect.sleep(POLL)
    }
  })

/** The view of `id` once `until` holds of it (polled, without bound). */
export const awaitView = (
  base: string,
  id: string,
  until: (view: ServerClient.MempoolView) => boolean
): Effect.Effect<ServerClient.MempoolView, CommandFailed | ServerUnreachable> =>
  Effect.gen(function*() {
    while (true) {
      const view = yield* ServerClient.mempoolView(base, id)
      if (Option.isSome(view) && until(view.value)) return view.value
      yield* Effect.sleep(POLL)
    }
  })

/**
 * `--wait` after a message was logged: wait (at most `seconds`) until the server has folded it,
 * print the mempool's view of it as a JSON line if it has one, and fail with the mempool's
 * reason if it refused the message.
 */
export const report = (
  base: string,
  receipt: { readonly id: string; readonly offset: number },
  seconds: number
): Effect.Effect<Option.Option<ServerClient.MempoolView>, CommandFailed | ServerUnreachable> =>
  Effect.gen(function*() {
    const view = yield* within(awaitFold(base, receipt.id, receipt.offset), seconds, `the server did not fold ${receipt.id} (log offset ${receipt.offset})`)
    if (Option.isNone(view)) return view
    yield* Console.log(JSON.stringify(view.value))
    const refusal = refusalOf(view.value)
    if (refusal !== null) return yield* new CommandFailed({ message: `the mempool refused ${receipt.id}: ${refusal}` })
    return view
  })
