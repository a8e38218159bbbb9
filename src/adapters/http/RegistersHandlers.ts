/** Handlers of the registers group (RegistersApi.ts): reads of the registers view. */
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { registerOf, updatesSince } from "../../domain/registers/Registers.ts"
import { RegistersView } from "../../projections/Views.ts"
import { Api } from "./Api.ts"
import { RegisterNotFound, type RegisterView } from "./RegistersApi.ts"

/** The registers group's handlers, over the registers view. */
export const layer = HttpApiBuilder.group(Api, "registers", (handlers) =>
  Effect.gen(function*() {
    const { current } = yield* RegistersView
    return handlers.handle("register", ({ params, query }) =>
      Effect.gen(function*() {
        const { offset, state } = yield* current
        const r = registerOf(state, params.id)
        if (r === undefined) return yield* Effect.fail(new RegisterNotFound({ reason: `no register ${JSON.stringify(params.id)} was ever updated`, id: params.id }))
        const base = { registerId: r.id, hash: r.hash, version: r.version, recent: r.recent, offset }
        const since = query.since === undefined ? undefined : updatesSince(r, query.since)
        const answer: RegisterView = since === undefined || since.kind === "full"
          ? { ...base, kind: "full", contents: r.contents }
          : { ...base, kind: "deltas", since: query.since as string, updates: since.updates }
        return answer
      }))
  }))
