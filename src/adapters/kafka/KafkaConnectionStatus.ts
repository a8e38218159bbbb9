/** Where the Kafka log's connection stands, and how /readyz says it while it is not ready. */

/** What the broker turned out to support (the librdkafka mock lacks some admin APIs). */
export interface Capabilities {
  readonly idempotentProducer: boolean
  readonly describeConfigs: boolean
  readonly maxRecordBytes: number
}

/** Where the connection stands. */
export type ConnectionStatus =
  | { readonly _tag: "Connecting"; readonly attempt: number; readonly lastError: string | undefined }
  | { readonly _tag: "CatchingUp"; readonly target: number; readonly decided: number }
  | { readonly _tag: "Ready"; readonly capabilities: Capabilities }
  | {
    readonly _tag: "Disconnected"
    readonly capabilities: Capabilities
    /** When a fetch or produce last succeeded (epoch ms). */
    readonly lastContact: number
    /** When the grace ran out (epoch ms). */
    readonly since: number
    /** The latest failure. */
    readonly reason: string
  }

/** The connection's state as one line (what /readyz answers while it is not ready). */
export const describeStatus = (s: ConnectionStatus): string => {
  switch (s._tag) {
    case "Connecting":
      return s.lastError === undefined
        ? "connecting to Kafka"
        : `connecting to Kafka (attempt ${s.attempt} failed: ${s.lastError})`
    case "CatchingUp":
      return `replaying the Kafka log: ${s.decided} of ${s.target} sequence records`
    case "Ready":
      return "ready"
    case "Disconnected":
      return `lost the Kafka brokers: no fetch or produce has succeeded since ${new Date(s.lastContact).toISOString()} (${s.reason})`
  }
}
