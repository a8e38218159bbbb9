/**
 * Facts of this deployment a client needs before it submits (GET /v1/instance): which log it
 * runs on, its message limits, whether it seals batches and how often, and the beacon
 * time-locked orders are locked to. Configuration, fixed for the process's life; the
 * composition root (src/main.ts) provides it from the serve flags.
 */
import { Context } from "effect"


/** What GET /v1/instance reports of the configuration. */
export interface DeploymentInfo {
  readonly log: "sqlite" | "kafka" | "memory"
  /** Largest canonical envelope admitted, in bytes. */
  readonly maxMessageBytes: number
  /** Most envelopes in one POST /v1/messages batch. */
  readonly maxBatch: number
  /** The sealer's batch window (ms); null when this instance runs no sealer. */
  readonly batchWindowMs: number | null
  /** How long after its batch's seal a commitment may be revealed (ms); null without a sealer. */
  readonly revealWindowMs: number | null
  /** Which beacon time-locked orders are locked to (its chain is the Beacon service's), or null without a sealer. */
  readonly beacon: "local" | "drand" | null
}

/**
 * The deployment's facts; undefined when nothing provides them (an HTTP server built without
 * the composition root, as in tests): GET /v1/instance then reports ingest's defaults.
 */
export const Deployment = Context.Reference<DeploymentInfo | undefined>("causeway/Deployment", {
  defaultValue: () => undefined
})
