/**
 * A real causeway server for the frontrun simulation, built like the leak test's: the HTTP
 * API over ingest, the projections and the instance as author, on the embedded SQLite store
 * in a fresh temporary directory; the sealer running on its own window; a local beacon; the
 * worker-thread tlock decrypter. Every log line (Trace level, JSON) is captured so the
 * searcher can read it. Plain promises, so a script and a test can both drive it.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Exit, Layer, Logger, References, Scope } from "effect"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import * as ApiAuth from "../../src/adapters/http/ApiAuth.ts"
import * as HttpService from "../../src/adapters/http/HttpService.ts"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteCausalLog from "../../src/adapters/storage/SqliteCausalLog.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import * as WorkerRswModulusChecker from "../../src/adapters/timelock/WorkerRswModulusChecker.ts"
import * as WorkerRswSolver from "../../src/adapters/timelock/WorkerRswSolver.ts"
import * as WorkerTlockDecrypter from "../../src/adapters/timelock/WorkerTlockDecrypter.ts"
import { generateKey } from "../../src/domain/Keys.ts"
import { signRound } from "../../src/domain/timelock/BeaconVerification.ts"
import { type ChainInfo, roundAt } from "../../src/domain/timelock/ChainInfo.ts"
import { servicesLayer } from "../../src/main.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import * as Sealer from "../../src/services/Sealer.ts"

/** An append-only feed of log lines that readers follow. */
export class LogTap {
  readonly lines: Array<string> = []
  readonly #listeners = new Set<(line: string) => void>()

  push(line: string): void {
    this.lines.push(line)
    for (const l of this.#listeners) l(line)
  }

  /** Follow new lines; returns the unsubscribe. */
  follow(listener: (line: string) => void): () => void {
    this.#listeners.add(listener)
    return () => void this.#listeners.delete(listener)
  }
}

/** Knobs of the simulation's server. */
export interface FrontrunServerOptions {
  /** The sealer's batch window. */
  readonly windowMs: number
  /** How often the sealer looks. */
  readonly tickMs: number
  /** The local beacon's round period, seconds. */
  readonly beaconPeriod: number
  /** Decryption worker threads. */
  readonly workers: number
}

/** A running server. */
export interface FrontrunServer {
  readonly base: string
  readonly instanceKey: string
  /** The local beacon's chain (what time-locked orders are encrypted to). */
  readonly chain: ChainInfo
  readonly logs: LogTap
  /** The beacon as the public sees it (drand's HTTP API would): a round's signature once it is out, else null. */
  readonly roundSignature: (round: number) => string | null
  readonly close: () => Promise<void>
}

/** Start a server; `close` drains it and removes its data. */
export const startServer = async (options: FrontrunServerOptions): Promise<FrontrunServer> => {
  const dataDir = mkdtempSync(join(tmpdir(), "causeway-frontrun-"))
  const instance = generateKey("ed25519")
  const beacon: LocalBeacon.LocalBeaconOptions = {
    secretKey: LocalBeacon.randomSecretKey(),
    genesisTime: Math.floor(Date.now() / 1000) - 10,
    period: options.beaconPeriod
  }
  const logs = new LogTap()
  const storage = Layer.mergeAll(
    SqliteCausalLog.layer({ path: join(dataDir, "log.sqlite"), synchronous: "NORMAL" }),
    SqliteProjectionStore.layer(join(dataDir, "projections.sqlite")),
    NodeCryptoSignatureVerifier.layer,
    InstanceKeyFile.layerKey(instance),
    LocalBeacon.layerWith(beacon),
    WorkerTlockDecrypter.layerWith({ workers: options.workers }),
    WorkerRswSolver.layer,
    WorkerRswModulusChecker.layer
  )
  const core = Sealer.layer({ windowMs: options.windowMs, tickMs: options.tickMs, revealWindowMs: 120_000 }).pipe(
    Layer.provideMerge(servicesLayer(Ingest.defaultOptions)),
    Layer.provideMerge(storage)
  )
  const logging = Layer.mergeAll(
    Logger.layer([Logger.map(Logger.formatJson, (line) => logs.push(line))]),
    Layer.succeed(References.MinimumLogLevel, "Trace")
  )
  const app = HttpService.layer({ host: "127.0.0.1", port: 0, heartbeatMs: 1000, shutdownTimeoutMs: 2000 }).pipe(
    Layer.provide(core),
    Layer.provide(ApiAuth.layerClosed),
    Layer.provide(logging)
  )
  const scope = Effect.runSync(Scope.make())
  const close = async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    const context = await Effect.runPromise(Layer.buildWithScope(app, scope))
    const port = await Effect.runPromise(HttpService.boundPort.pipe(Effect.provideContext(context)))
    const chain = LocalBeacon.chainInfoOf(beacon)
    const roundSignature = (round: number) => (round >= 1 && roundAt(chain, Date.now()) >= round ? signRound(beacon.secretKey, round) : null)
    return { base: `http://127.0.0.1:${port}`, instanceKey: instance.publicKey, chain, logs, roundSignature, close }
  } catch (e) {
    await close()
    throw e
  }
}
