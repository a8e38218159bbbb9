/**
 * The sealer in the running service: `causeway serve` (what `npm start` runs) as a child
 * process with a short batch window and the embedded local beacon, whose key file the test
 * writes into the data directory first (1 s rounds, so a time-locked order opens quickly).
 * Orders sent over HTTP are sealed in batches and a time-locked one is decrypted by the
 * worker-thread decrypter; SIGTERM in the middle of a stream of orders (seals in flight)
 * exits 0, the log replays to the snapshots the server wrote, every BatchSealed in it was
 * accepted and numbered without a gap, and a restart on the same data goes on sealing.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { Option, Result } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import { sealerConfig } from "../../src/cli/ServeCommand.ts"
import { beaconKeyPath } from "../../src/Config.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import { orderBytes } from "../../src/domain/mempool/OrderBytes.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { encryptToRound } from "../../src/domain/timelock/Tlock.ts"
import { cleanup, cli, eventually, getJson, lines, startServer, tempDir } from "../cli/support/cli.ts"
import { writeBeaconKey } from "../support/beaconKey.ts"
import { envelope, testKey } from "../support/fixtures.ts"
import { order } from "./support.ts"

afterAll(cleanup)

const alice = testKey("serve-alice")
const carol = testKey("serve-carol")

const beacon: LocalBeacon.LocalBeaconOptions = {
  secretKey: new Uint8Array(32).fill(5),
  genesisTime: Math.floor(Date.now() / 1000) - 100,
  period: 1,
  beaconId: "causeway-local"
}
const chain = LocalBeacon.chainInfoOf(beacon)

let nonce = 0
const post = async (url: string, key: KeyFile, type: MessageType, payload: unknown) => {
  nonce += 1
  const env = envelope(key, { type, payload, nonce, lamport: nonce })
  const r = await fetch(`${url}/v1/messages`, { method: "POST", body: JSON.stringify(env), headers: { "content-type": "application/json" } })
  expect(r.status, await r.text()).toBe(201)
  return idOf(env)
}

describe("causeway serve with the sealer", () => {
  it("seals batches on the configured window, decrypts time-locked orders with the local beacon, and shuts down cleanly on SIGTERM mid-stream", async () => {
    const dataDir = join(tempDir(), "data")
    mkdirSync(dataDir, { recursive: true })
    writeBeaconKey(beaconKeyPath(dataDir), beacon)
    const args = ["--port", "0", "--data-dir", dataDir, "--batch-window-ms", "200"]
    const server = await startServer(dataDir, { args })
    let stopped = false
    try {
      const round = roundAt(chain, Date.now()) + 3
      const ciphertext = encryptToRound(chain, round, orderBytes(order(2)))
      const plain = await post(server.url, alice, "UserOrder", order(1))
      const locked = await post(server.url, carol, "TimelockedOrder", { scheme: "tlock", round, ciphertext })
      const batch0 = await eventually(() => getJson(`${server.url}/v1/mempool/batches/0`), (r) => r.status === 200)
      expect(batch0.body).toMatchObject({ batch: 0, count: expect.any(Number) })
      expect((await getJson(`${server.url}/v1/mempool/orders/${plain}`)).body).toMatchObject({ status: "revealed", batch: 0, order: order(1) })
      // A stream of orders meanwhile; SIGTERM once batches are being sealed.
      const stream = (async () => {
        for (let i = 0; i < 2000 && !stopped; i++) {
          await post(server.url, alice, "UserOrder", order(100 + i)).catch(() => undefined)
          await new Promise((r) => setTimeout(r, 15))
        }
      })()
      // Decrypted once its round is out (≤ 3 s), by the worker-thread decrypter, after the seal.
      const opened = await eventually(() => getJson(`${server.url}/v1/mempool/orders/${locked}`), (r) => r.body.status === "revealed", 10_000)
      expect(opened.body).toMatchObject({ status: "revealed", order: order(2) })
      await eventually(() => getJson(`${server.url}/v1/mempool/batches/3`), (r) => r.status === 200)
      stopped = true
      const run = await server.stop("SIGTERM")
      await stream
      expect(run.code, run.stderr).toBe(0)
      expect(lines(run.stdout).some((l) => l.includes("sealed batch 3"))).toBe(true)
    } finally {
      stopped = true
      await server.stop("SIGKILL").catch(() => undefined)
    }

    // The log folds to what the server persisted, and every seal in it was accepted in sequence.
    const replay = await cli(["replay", "--data-dir", dataDir, "--verify", "--json"])
    expect(replay.code, replay.stderr).toBe(0)

    // A restart on the same data: each seal in the log closed the batch of its rank (none
    // refused, none missing), and the sealer goes on with the next batch.
    const again = await startServer(dataDir, { args })
    try {
      const records = await getJson(`${again.url}/v1/messages?fromLamport=0&limit=1000`)
      const seals = (records.body as Array<{ id: string; type: string }>).filter((r) => r.type === "BatchSealed")
      expect(seals.length).toBeGreaterThanOrEqual(4)
      for (const [i, seal] of seals.entries()) {
        expect((await getJson(`${again.url}/v1/mempool/batches/${i}`)).body).toMatchObject({ batch: i, sealId: seal.id })
      }
      expect((await getJson(`${again.url}/v1/mempool/batches/${seals.length}`)).status).toBe(404)
      const next = await post(again.url, alice, "UserOrder", order(9999))
      const view = await eventually(() => getJson(`${again.url}/v1/mempool/orders/${next}`), (r) => r.body.status === "revealed")
      expect(view.body.batch).toBe(seals.length)
    } finally {
      const run = await again.stop("SIGTERM")
      expect(run.code, run.stderr).toBe(0)
    }
  }, 60_000)
})

describe("serve's sealer flags", () => {
  const flags = (over: Partial<Parameters<typeof sealerConfig>[0]> = {}) =>
    sealerConfig({ batchWindowMs: 12_000, beacon: "local", drandUrl: Option.none(), drandChainHash: Option.none(), ...over })
  const quicknet = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"

  it("defaults to the local beacon; drand needs its URL and chain hash; nonsense is a usage error with a reason", () => {
    expect(flags()).toEqual(Result.succeed({ batchWindowMs: 12_000, beacon: { kind: "local" } }))
    expect(flags({ beacon: "drand", drandUrl: Option.some("https://api.drand.sh/"), drandChainHash: Option.some(quicknet.toUpperCase()) })).toEqual(
      Result.succeed({ batchWindowMs: 12_000, beacon: { kind: "drand", url: "https://api.drand.sh", chainHash: quicknet } })
    )
    const failures = [
      flags({ batchWindowMs: 0 }),
      flags({ beacon: "sundial" }),
      flags({ beacon: "drand", drandChainHash: Option.some(quicknet) }),
      flags({ beacon: "drand", drandUrl: Option.some("ftp://x"), drandChainHash: Option.some(quicknet) }),
      flags({ beacon: "drand", drandUrl: Option.some("https://api.drand.sh"), drandChainHash: Option.some("abc") }),
      flags({ drandUrl: Option.some("https://api.drand.sh") })
    ].map((r) => (Result.isFailure(r) ? r.failure : "accepted"))
    expect(failures).toEqual([
      "--batch-window-ms 0 is not in 10..3600000",
      "--beacon \"sundial\" is not local or drand",
      "--beacon drand needs --drand-url, an http(s) URL (e.g. https://api.drand.sh)",
      "--beacon drand needs --drand-url, an http(s) URL (e.g. https://api.drand.sh)",
      "--beacon drand needs --drand-chain-hash, the chain's 32-byte hash in hex",
      "--drand-url and --drand-chain-hash need --beacon drand"
    ])
  })
})
