/**
 * Which cluster member should claim the leadership (docs/adr/0002-cluster-authority.md). The
 * election only says who should claim: the claim is an event in the log, and the log's
 * authority fold decides who leads (the first claim of a term wins), so two members that both
 * believe they hold the lease for a moment never both decide. Adapter: Kafka's group
 * coordinator (the member that owns the one partition of a control topic), in
 * src/adapters/kafka/KafkaLeaderElection.ts.
 */
import { Context, type Effect } from "effect"

/** What a member says of itself when it joins: the assignment keeps the lease with the log's leader. */
export interface Candidacy {
  /** The member's instance key (hex). */
  readonly key: string
  /** Does the log say this member leads now? */
  readonly leads: boolean
  /** Does the log name it a member? (The lease goes to members first.) */
  readonly member: boolean
  /** The log names members and this instance is not one: it should not hold the lease at all. */
  readonly excluded: boolean
  /** The term the member has folded. */
  readonly term: number
}

/** The leader election port. */
export interface LeaderElectionService {
  /** Does this member hold the lease now? */
  readonly holds: Effect.Effect<boolean>
  /** Counts the times this member was given the lease: a new value is a new lease. */
  readonly lease: Effect.Effect<number>
  /**
   * The instance keys of the members in the election's group now (Kafka's view of who is
   * alive: a member whose session expired is gone); undefined before the first join.
   */
  readonly live: Effect.Effect<ReadonlyArray<string> | undefined>
  /** Tell the election where the log stands for this member (read at the next join). */
  readonly advertise: (candidacy: Candidacy) => Effect.Effect<void>
  /** The election's state as one line (diagnostics). */
  readonly describe: Effect.Effect<string>
}

/** The leader election service tag. */
export class LeaderElection extends Context.Service<LeaderElection, LeaderElectionService>()("causeway/LeaderElection") {}
