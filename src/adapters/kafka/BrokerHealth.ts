/**
 * Broker health of a ready Kafka log, as a state machine without I/O or a clock of its own:
 * every event and every question carries its time (`now`, epoch ms, from Effect's `Clock`).
 *
 * - `traffic`: a fetch completed or a produce was acknowledged; `answered`: a probe reached
 *   the brokers (contact, but not traffic); `failed`: the latest failure since the last
 *   contact.
 * - Ready → Disconnected when nothing reached the brokers for the grace and something failed
 *   meanwhile; Disconnected → Ready at the next traffic after that.
 * - While neither fetches nor produces succeed (an idle consumer fetches every maxWaitTime,
 *   so only when something is wrong, or it is joining its group), a cheap admin request (a
 *   probe, one at a time) tells a broker outage from a quiet consumer.
 *
 * `BrokerWatch` drives it: it asks `step` and `probeDue` on every tick and applies the answer.
 */
import type { ConnectionStatus } from "./KafkaConnectionStatus.ts"

type Ready = Extract<ConnectionStatus, { readonly _tag: "Ready" }>
type Disconnected = Extract<ConnectionStatus, { readonly _tag: "Disconnected" }>

/** A change of the connection's status that the health calls for, with what its log line says. */
export type HealthTransition =
  /** Ready → Disconnected: silent for `silentMs` since the last traffic. */
  | { readonly _tag: "Lost"; readonly next: Disconnected; readonly silentMs: number }
  /** Disconnected → Ready: traffic again, `outageMs` after the last traffic before the loss. */
  | { readonly _tag: "Back"; readonly next: Ready; readonly outageMs: number }
  /** Still Disconnected, for a newer reason (no log line). */
  | { readonly _tag: "Reason"; readonly next: Disconnected }

/** The health of the brokers as seen by one Kafka log. */
export class BrokerHealth {
  /** How long produce and fetch may fail without a break before the log is Disconnected. */
  readonly graceMs: number
  /** Silence (no contact) after which a probe asks the brokers. */
  readonly probeAfterMs: number
  /** How long a probe waits for the brokers' answer. */
  readonly probeTimeoutMs: number
  /** How often the watcher looks. */
  readonly tickMs: number
  private lastTraffic: number
  private lastContact: number
  private failure: string | undefined = undefined
  private probing = false

  constructor(graceMs: number, now: number) {
    this.graceMs = graceMs
    this.probeAfterMs = Math.min(1000, Math.floor(graceMs / 3))
    this.probeTimeoutMs = Math.max(100, Math.min(3000, Math.floor(graceMs / 2)))
    this.tickMs = Math.max(20, Math.min(250, Math.floor(graceMs / 4)))
    this.lastTraffic = now
    this.lastContact = now
  }

  /** A fetch completed or a produce was acknowledged at `now`. */
  traffic(now: number): void {
    this.lastTraffic = now
    this.lastContact = now
    this.failure = undefined
  }

  /** A probe reached the brokers at `now`: contact, though nothing was fetched or produced. */
  answered(now: number): void {
    this.lastContact = now
    this.failure = undefined
  }

  /** Something talking to the brokers failed (the latest reason is kept until the next contact). */
  failed(reason: string): void {
    this.failure = reason
  }

  /** What `status` should become at `now`, if anything. */
  step(status: ConnectionStatus, now: number): HealthTransition | undefined {
    if (status._tag === "Ready" && this.failure !== undefined && now - this.lastContact > this.graceMs) {
      return {
        _tag: "Lost",
        next: { _tag: "Disconnected", capabilities: status.capabilities, lastContact: this.lastTraffic, since: now, reason: this.failure },
        silentMs: now - this.lastTraffic
      }
    }
    if (status._tag === "Disconnected") {
      if (this.lastTraffic > status.since) {
        return { _tag: "Back", next: { _tag: "Ready", capabilities: status.capabilities }, outageMs: this.lastTraffic - status.lastContact }
      }
      if (this.failure !== undefined && this.failure !== status.reason) return { _tag: "Reason", next: { ...status, reason: this.failure } }
    }
    return undefined
  }

  /**
   * Whether to send a probe at `now` (the log was ready and the brokers have been silent past
   * `probeAfterMs`, and no probe is out); if so, one is out until `probeDone`.
   */
  probeDue(status: ConnectionStatus, now: number): boolean {
    if (this.probing || (status._tag !== "Ready" && status._tag !== "Disconnected") || now - this.lastContact <= this.probeAfterMs) return false
    this.probing = true
    return true
  }

  /** The probe came back (answered or failed). */
  probeDone(): void {
    this.probing = false
  }
}
