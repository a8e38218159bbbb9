/**
 * The mempool's services in process for tests: ingest, the projection runner (log index +
 * mempool), ingest checking operators' messages against the registry, the instance as author, a local beacon and the in-process tlock decrypter over
 * a memory log, the worker-thread RSW solver and modulus checker; the sealer driven by hand
 * (no background loop).
 */
import { Effect, Layer } from "effect"
import * as LocalBeacon from "../../src/adapters/beacon/LocalBeacon.ts"
import * as InstanceKeyFile from "../../src/adapters/files/InstanceKeyFile.ts"
import * as MemoryCausalLog from "../../src/adapters/storage/MemoryCausalLog.ts"
import * as NodeCryptoSignatureVerifier from "../../src/adapters/signatures/NodeCryptoSignatureVerifier.ts"
import * as SqliteProjectionStore from "../../src/adapters/storage/SqliteProjectionStore.ts"
import * as InlineTlockDecrypter from "../../src/adapters/timelock/InlineTlockDecrypter.ts"
import * as WorkerRswModulusChecker from "../../src/adapters/timelock/WorkerRswModulusChecker.ts"
import * as WorkerRswSolver from "../../src/adapters/timelock/WorkerRswSolver.ts"
import type { KeyFile } from "../../src/domain/Keys.ts"
import type { MessageType } from "../../src/domain/MessageTypes.ts"
import type { MessageId } from "../../src/domain/Primitives.ts"
import type { MempoolRules } from "../../src/domain/mempool/MempoolFold.ts"
import { operatorRosterLayer, projections } from "../../src/main.ts"
import { MEMPOOL, makeMempool } from "../../src/projections/Mempool/Mempool.ts"
import * as ProjectionRunner from "../../src/projections/ProjectionRunner.ts"
import * as Views from "../../src/projections/Views.ts"
import type { RswModulusChecker } from "../../src/ports/RswModulusChecker.ts"
import * as Author from "../../src/services/Author.ts"
import * as Ingest from "../../src/services/Ingest.ts"
import * as Sealer from "../../src/services/Sealer.ts"
import { envelope, testKey } from "../support/fixtures.ts"

export const instance = testKey("instance")

/** The local beacon of the tests: rounds every 3 s from Unix second 1,000. */
export const beaconOptions: LocalBeacon.LocalBeaconOptions = {
  secretKey: new Uint8Array(32).fill(7),
  genesisTime: 1000,
  period: 3
}
export const chainInfo = LocalBeacon.chainInfoOf(beaconOptions)

/** Ingest, runner, author, beacon, decrypter, RSW solver and modulus checker (worker threads unless given), and sealer over a memory log; the mempool under `rules`. */
export const stack = (
  sealer: Partial<Sealer.SealerOptions> = {},
  rules: Partial<Omit<MempoolRules, "instanceKey">> = {},
  checker: Layer.Layer<RswModulusChecker> = WorkerRswModulusChecker.layerWith({ concurrency: 2 })
) => {
  const context = { instanceKey: instance.publicKey }
  const list = projections(context).map((p) => (p.name === MEMPOOL ? makeMempool(context, rules) : p))
  const storage = Layer.mergeAll(
    MemoryCausalLog.layerMemory,
    SqliteProjectionStore.layerMemory,
    NodeCryptoSignatureVerifier.layer,
    InstanceKeyFile.layerKey(instance),
    LocalBeacon.layerWith(beaconOptions),
    InlineTlockDecrypter.layerNoble,
    WorkerRswSolver.layerWith({ concurrency: 2 }),
    checker
  )
  // Ingest checks operators' messages against the runner's registry, as the service does.
  const core = Ingest.layer({ ...Ingest.defaultOptions, exemptSenders: [instance.publicKey] }).pipe(
    Layer.provide(operatorRosterLayer),
    Layer.provideMerge(Views.layer.pipe(Layer.provideMerge(ProjectionRunner.layer(list, { snapshotEvery: 1_000_000, pageSize: 4096 }))))
  )
  return Sealer.layer({ background: false, ...sealer }).pipe(
    Layer.provideMerge(Author.layer),
    Layer.provideMerge(core),
    Layer.provideMerge(storage)
  )
}

const nonces = new Map<string, number>()

/** Sign and submit a message as `key` (next nonce, Lamport above the clock), wait until the projections folded it. */
export const submit = (
  key: KeyFile,
  type: MessageType,
  payload: unknown,
  options: { readonly deps?: ReadonlyArray<string>; readonly expiry?: number | null } = {}
) =>
  Effect.gen(function*() {
    const ingest = yield* Ingest.Ingest
    const runner = yield* ProjectionRunner.Projections
    const nonce = (nonces.get(key.publicKey) ?? 0) + 1
    nonces.set(key.publicKey, nonce)
    const lamport = (yield* ingest.clock) + 1
    const env = envelope(key, { type, payload, nonce, lamport, deps: [...(options.deps ?? [])].sort() as Array<MessageId>, expiry: options.expiry ?? null })
    const receipt = yield* ingest.submit(env)
    yield* runner.awaitOffset(receipt.offset + 1)
    return receipt
  })
