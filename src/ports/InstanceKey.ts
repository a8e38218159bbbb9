/**
 * The instance's own signing key. The instance authors events of its own (sealed batches,
 * receipts, chain observations) and signs them like any sender; projections recognise
 * them by this key's public half. Adapters: a key file in the data directory, created on
 * first start (production), or a given key (tests).
 */
import { Context } from "effect"
import type { KeyFile } from "../domain/Keys.ts"

/** The instance key service tag: the key pair. */
export class InstanceKey extends Context.Service<InstanceKey, KeyFile>()("causeway/InstanceKey") {}
