/**
 * What a client needs, published (GET /v1/instance, GET /v1/beacon/...), used the way a client
 * would with nothing else: a real `causeway serve` with its own fresh local beacon (key file
 * created on first start, so the test cannot know it), a time-locked order made by tlock-js
 * and drand-client from `<server>/v1/beacon` alone and opened by the server after its round
 * (tlock-js opens it too, from the server's /public/{round}), and a receipt checked offline
 * with causeway/verify's checkReceipt against the key from /v1/instance alone.
 */
import { join } from "node:path"
import { bls12_381 } from "@noble/curves/bls12-381.js"
import { sha256, sha384 } from "@noble/hashes/sha2.js"
import { bytesToHex } from "@noble/hashes/utils.js"
import { afterAll, describe, expect, it } from "vitest"
import { HttpCachingChain, HttpChainClient, timelockDecrypt, timelockEncrypt } from "tlock-js"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import { signRound } from "../../src/domain/timelock/BeaconVerification.ts"
import { roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { infoJson, startDrandServer } from "../timelock/drandServer.ts"
import { idOf } from "../../src/domain/Envelope.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import { checkReceipt } from "../../src/verify.ts"
import { cleanup, eventually, getJson, startServer, tempDir } from "../cli/support/cli.ts"
import { envelope, testKey } from "../support/fixtures.ts"

afterAll(cleanup)

const alice = testKey("instance-alice")
let nonce = 0
const post = async (url: string, key: KeyFile, type: MessageType, payload: unknown) => {
  nonce += 1
  const env = envelope(key, { type, payload, nonce, lamport: nonce })
  const r = await fetch(`${url}/v1/messages`, { method: "POST", body: JSON.stringify(env), headers: { "content-type": "application/json" } })
  expect(r.status, await r.text()).toBe(201)
  return idOf(env)
}

// A client's own canonical JSON of a flat order (RFC 8785 for string members: keys sorted).
const canonicalOrder = (o: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1))))

describe("GET /v1/instance and /v1/beacon", () => {
  it("publish what a client needs: tlock-js locks an order from /v1/beacon alone, receipts check against /v1/instance's key alone", async () => {
    const dataDir = join(tempDir(), "data")
    const server = await startServer(dataDir, { args: ["--port", "0", "--data-dir", dataDir, "--batch-window-ms", "500"] })
    try {
      const instance = await getJson(`${server.url}/v1/instance`)
      expect(instance.status).toBe(200)
      expect(instance.body).toMatchObject({
        scheme: "ed25519",
        protocol: { version: 1, schemes: ["ed25519", "secp256k1"], maxMessageBytes: 65_536 },
        log: "sqlite",
        mempool: { batchWindowMs: 500, beacon: { kind: "local", info: "/v1/beacon/info" } },
        cluster: { mode: "single", admin: null }
      })
      expect(instance.body.publicKey).toMatch(/^[0-9a-f]{64}$/)
      expect(instance.body.cluster.members).toEqual([instance.body.publicKey])

      const info = await getJson(`${server.url}/v1/beacon/info`)
      expect(info.status).toBe(200)
      expect(Object.keys(info.body).sort()).toEqual(["genesis_time", "groupHash", "hash", "metadata", "period", "public_key", "schemeID"])
      expect(info.body.hash).toBe(instance.body.mempool.beacon.chainHash)

      // drand-client verifies every beacon it reads against the info's key (the default).
      const client = new HttpChainClient(new HttpCachingChain(`${server.url}/v1/beacon`, { disableBeaconVerification: false, noCache: true }))
      expect((await client.chain().info()).hash).toBe(info.body.hash)
      const now = Math.floor(Date.now() / 1000)
      const round = Math.floor((now - info.body.genesis_time) / info.body.period) + 1 + 2
      const order = { chain: "eip155:1", market: "WETH/USDC", side: "sell", amountIn: "1000000000000000000", minAmountOut: "2900000000", limitPrice: "2900000000" }
      const ciphertext = await timelockEncrypt(round, Buffer.from(canonicalOrder(order)), client)
      const locked = await post(server.url, alice, "TimelockedOrder", { scheme: "tlock", round, ciphertext })

      // Sealed, then opened by the server once its round is out (a few seconds at most).
      const opened = await eventually(() => getJson(`${server.url}/v1/mempool/orders/${locked}`), (r) => r.body.status === "revealed", 20_000)
      expect(opened.body.order).toEqual(order)
      // tlock-js opens it from the server's beacon too (drand-client checks the signature).
      expect((await timelockDecrypt(ciphertext, client)).toString("utf8")).toBe(canonicalOrder(order))
      const latest = await getJson(`${server.url}/v1/beacon/public/latest`)
      expect(latest.body.round).toBeGreaterThanOrEqual(round)
      const ahead = await getJson(`${server.url}/v1/beacon/public/${latest.body.round + 100}`)
      expect(ahead.status).toBe(425)
      expect((await getJson(`${server.url}/v1/beacon/public/0`)).status).toBe(400)

      // The receipt, checked with the published key alone.
      const receipt = (await getJson(`${server.url}/v1/mempool/orders/${locked}/receipt`)).body
      const checked = checkReceipt(receipt, instance.body.publicKey)
      expect(checked._tag, JSON.stringify(checked)).toBe("Success")
      const tampered = checkReceipt({ ...receipt, position: receipt.position + 1 }, instance.body.publicKey)
      expect(tampered._tag === "Failure" && tampered.failure.reason).toContain("does not verify")
      const other = checkReceipt(receipt, alice.publicKey)
      expect(other._tag === "Failure" && other.failure.reason).toContain(`not by ${alice.publicKey}`)
    } finally {
      await server.stop("SIGTERM")
    }
  }, 60_000)

  it("with --beacon drand, publish the drand network's chain and rounds", async () => {
    // A drand relay of a chain the server cannot sign for: what it serves must come from it.
    const secretKey = bls12_381.utils.randomSecretKey(sha384(new TextEncoder().encode("instance test drand network")))
    const network = LocalBeacon.chainInfoOf({ secretKey, genesisTime: Math.floor(Date.now() / 1000) - 600, period: 3, beaconId: "quicknet-like" })
    const relay = await startDrandServer({
      info: (hash) => (hash === network.chainHash ? { json: infoJson(network) } : { status: 404 }),
      round: (hash, round) => {
        if (hash !== network.chainHash || round > roundAt(network, Date.now())) return { status: 404 }
        const signature = signRound(secretKey, round)
        return { json: { round, signature, randomness: bytesToHex(sha256(Buffer.from(signature, "hex"))) } }
      }
    })
    const dataDir = join(tempDir(), "data")
    const server = await startServer(dataDir, {
      args: ["--port", "0", "--data-dir", dataDir, "--beacon", "drand", "--drand-url", relay.baseUrl, "--drand-chain-hash", network.chainHash]
    })
    try {
      const instance = await getJson(`${server.url}/v1/instance`)
      expect(instance.body.mempool.beacon).toEqual({ kind: "drand", chainHash: network.chainHash, info: "/v1/beacon/info" })
      expect((await getJson(`${server.url}/v1/beacon/info`)).body).toEqual(infoJson(network))
      // The round current while the request ran (a new one starts every 3 s: one may begin between asking and comparing).
      const asked = roundAt(network, Date.now())
      const latest = await getJson(`${server.url}/v1/beacon/public/latest`)
      const answered = roundAt(network, Date.now())
      expect(latest.body.round).toBeGreaterThanOrEqual(asked)
      expect(latest.body.round).toBeLessThanOrEqual(answered)
      expect(latest.body).toMatchObject({ signature: signRound(secretKey, latest.body.round) })
    } finally {
      await server.stop("SIGTERM")
      await relay.close()
    }
  }, 60_000)
})
