/** Handlers of the senders group (SendersApi.ts): a read of the senders' standings. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { SenderScoresView } from "../../projections/Views.ts"
import { Api } from "./Api.ts"

/** The senders group's handlers, over the standings view. */
export const layer = HttpApiBuilder.group(Api, "senders", (handlers) =>
  Effect.gen(function*() {
    const { current } = yield* SenderScoresView
    return handlers.handle("sender", ({ params }) => Effect.map(current, (standingOf) => standingOf(params.key)))
  }))
