// The data directory's rules (issue #10, "Keys"): the SQLite adapters create their files 0600
// whatever the umask (this process's is the usual 022).
import { statSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as SqliteCausalLog from "../../src/adapters/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/SqliteProjectionStore.ts"
import { logPath, snapshotPath } from "../../src/Config.ts"
import { envelope, recordOf, testKey } from "../support/fixtures.ts"
import { cleanup, tempDir } from "./support/cli.ts"

afterAll(cleanup)

const modeOf = (path: string): number => statSync(path).mode & 0o777

describe("the SQLite adapters' files", () => {
  it("are created 0600, -wal and -shm included, in a directory created 0700, whatever the umask", async () => {
    const dir = join(tempDir(), "fresh", "data")
    const log = logPath(dir)
    const snapshots = snapshotPath(dir)
    const modes = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const causal = yield* SqliteCausalLog.make({ path: log, synchronous: "NORMAL" })
      yield* causal.append([recordOf(envelope(testKey("modes"), { nonce: 1, lamport: 1 }))])
      const store = yield* SqliteProjectionStore.make(snapshots)
      yield* store.save({ name: "p", version: 1, offset: 1, lastId: null, digest: "d", state: "{}" })
      return [dir, log, `${log}-wal`, `${log}-shm`, snapshots, `${snapshots}-wal`, `${snapshots}-shm`].map((p) => [p, modeOf(p)])
    })))
    expect(modes).toStrictEqual([[dir, 0o700], ...modes.slice(1).map(([p]) => [p, 0o600])])
  })
})
