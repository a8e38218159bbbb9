/**
 * An in-process HTTP server speaking drand's v1 API (the shape api.drand.sh serves), for the
 * DrandHttpBeacon tests and for pointing tlock-js's own HTTP client at our beacons. What it
 * serves comes from the caller: vector data, a local beacon's signatures, or deliberate junk.
 */
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import type { ChainInfo } from "../../src/domain/timelock/ChainInfo.ts"

/** A response the server gives: JSON value, raw text, or just a status. */
export type Answer = { readonly status?: number; readonly json?: unknown; readonly text?: string }

/** drand's /info JSON for a chain info. */
export const infoJson = (info: ChainInfo) => ({
  public_key: info.publicKey,
  period: info.period,
  genesis_time: info.genesisTime,
  hash: info.chainHash,
  groupHash: info.genesisSeed,
  schemeID: info.scheme,
  metadata: { beaconID: info.beaconId }
})

/** A running server: its base URL (without the chain hash) and the paths it was asked for. */
export interface DrandServer {
  readonly baseUrl: string
  readonly requests: Array<string>
  readonly close: () => Promise<void>
}

/** Start a server; `info` answers /{hash}/info, `round` answers /{hash}/public/{n}. */
export const startDrandServer = async (handlers: {
  readonly info: (hash: string) => Answer
  readonly round: (hash: string, round: number) => Answer
}): Promise<DrandServer> => {
  const requests: Array<string> = []
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0] ?? ""
    requests.push(path)
    const info = /^\/([0-9a-f]{64})\/info$/.exec(path)
    const pub = /^\/([0-9a-f]{64})\/public\/(\d+)$/.exec(path)
    const answer: Answer = info !== null
      ? handlers.info(info[1] as string)
      : pub !== null
      ? handlers.round(pub[1] as string, Number(pub[2]))
      : { status: 404, text: "not found" }
    res.statusCode = answer.status ?? 200
    res.setHeader("content-type", "application/json")
    res.end(answer.text ?? JSON.stringify(answer.json ?? null))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())))
  }
}
