/** Replay equals live: the log a test server wrote, folded from nothing by the effects projection, gives the digest the server reported. */
import { expect } from "@effect/vitest"
import { Effect } from "effect"
import * as SqliteCausalLog from "../../../src/adapters/storage/SqliteCausalLog.ts"
import { logPath } from "../../../src/Config.ts"
import type { LogRecord } from "../../../src/ports/CausalLog.ts"
import { makeEffects } from "../../../src/projections/Effects/Effects.ts"
import { digestOf, foldPage } from "../../../src/projections/Projection.ts"
import { get } from "../../http/support/server.ts"

/** What a test server reports of its effects projection and its key: read while it runs. */
export const liveEffects = Effect.gen(function*() {
  const projections = (yield* get("/v1/projections")).json as Array<{ readonly name: string; readonly offset: number; readonly digest: string }>
  const instance = (yield* get("/v1/instance")).json as { readonly publicKey: string }
  return { status: projections.find((p) => p.name === "effects") as { readonly offset: number; readonly digest: string }, instanceKey: instance.publicKey }
})

/** Fold the records below the live offset from the server's data directory (after it stopped) and compare digests. */
export const expectReplayEqualsLive = (dataDir: string, live: Effect.Success<typeof liveEffects>) =>
  Effect.gen(function*() {
    const log = yield* SqliteCausalLog.make({ path: logPath(dataDir), synchronous: "NORMAL" })
    const records: Array<LogRecord> = []
    yield* log.scan(0, live.status.offset, { withBody: true }, (r) => void records.push(r))
    const projection = makeEffects({ instanceKey: live.instanceKey })
    expect(digestOf(projection, foldPage(projection, projection.initialState, records))).toBe(live.status.digest)
  })
