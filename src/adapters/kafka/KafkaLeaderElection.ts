/**
 * The leader election on Kafka's group coordinator (docs/adr/0002-cluster-authority.md): every
 * member joins one consumer group on a control topic of exactly one partition, and the member
 * that owns that partition holds the lease (it should claim the next term in the log if it
 * does not lead already). Kafka guarantees one owner per generation of the group and moves
 * the partition when its owner's session times out (a crash, a partition from the brokers) or
 * it leaves, so the lease moves within about the session timeout.
 *
 * The assignment is sticky to the log's leader: each member puts its instance key and what
 * the log says of it (leads, term) in its join metadata, and the assignor gives the partition
 * to the member that leads in the highest term, so a member joining or restarting does not
 * take the lease from a live leader. Nothing is ever produced to the control topic.
 *
 * The group is also how members know who is alive (the leader assigns chains over the live
 * members, ADR 0002): the assignor names every member's key to every member. kafkajs hands a
 * member only the topic names of its assignment (an assignment is opaque bytes to the
 * broker), so the list travels as one extra topic name, `causeway-live:<keys>`, which kafkajs
 * reports as an unsubscribed topic (RECEIVED_UNSUBSCRIBED_TOPICS) and otherwise ignores.
 *
 * Holding the lease is not leading: a claim counts only by its place in the log, so a member
 * that still believes it holds the lease after losing it cannot decide anything that counts.
 */
import { Effect, Layer, Ref, Schedule, type Scope } from "effect"
import { AssignerProtocol, type Consumer, Kafka, logLevel, type PartitionAssigner } from "kafkajs"
import { type Candidacy, LeaderElection, type LeaderElectionService } from "../../ports/LeaderElection.ts"
import type { KafkaLogOptions } from "./KafkaCausalLog.ts"

/** Options of the election. */
export interface KafkaLeaderElectionOptions {
  readonly brokers: ReadonlyArray<string>
  /** Prefix of the topic names (default "causeway."): the control topic is `{prefix}control`. */
  readonly topicPrefix?: string
  readonly clientId?: string
  readonly ssl?: KafkaLogOptions["ssl"]
  readonly sasl?: KafkaLogOptions["sasl"]
  /** How long the coordinator waits for a silent member before moving its lease (default 6 s, the brokers' usual minimum). */
  readonly sessionTimeoutMs?: number
  /** Heartbeat interval (default 500 ms). */
  readonly heartbeatIntervalMs?: number
  /** This member's instance key (what it advertises before the log says more). */
  readonly instanceKey?: string
}

const describeError = (e: unknown): string =>
  e instanceof Error ? `${e.name}${"type" in e ? ` ${String(e.type)}` : ""}: ${e.message}` : String(e)

/** The control topic of a prefix. */
export const controlTopic = (prefix: string): string => `${prefix}control`

const ASSIGNER = "CausewayLeaderAssigner"

/** The assignment's extra topic name that carries the live members' keys. */
const LIVE_PREFIX = "causeway-live:"

/** The live keys an assignment's topic names carry, if one does. */
export const liveOf = (topics: ReadonlyArray<string>): ReadonlyArray<string> | undefined => {
  const t = topics.find((x) => x.startsWith(LIVE_PREFIX))
  if (t === undefined) return undefined
  const keys = t.slice(LIVE_PREFIX.length).split(",").filter((k) => /^[0-9a-f]{64}$/.test(k))
  return [...new Set(keys)].sort()
}

interface Advertised {
  readonly key: string
  readonly leads: boolean
  readonly member: boolean
  readonly term: number
}

const parseAdvertised = (userData: Buffer | undefined): Advertised | undefined => {
  if (userData === undefined || userData.length === 0 || userData.length > 1024) return undefined
  try {
    const v: unknown = JSON.parse(userData.toString("utf8"))
    if (typeof v !== "object" || v === null) return undefined
    const { key, leads, member, term } = v as Record<string, unknown>
    return typeof key === "string" && typeof leads === "boolean" && typeof member === "boolean" && typeof term === "number"
      ? { key, leads, member, term }
      : undefined
  } catch {
    return undefined
  }
}

/**
 * Pick the lease holder among the group's members (pure, for tests): the one whose metadata
 * says it leads (in the highest term); else a member of the cluster (by the log) that has
 * folded the highest term; an instance the log does not name a member only when no member is
 * in the group; ties by member id.
 */
export const pickHolder = (members: ReadonlyArray<{ readonly memberId: string; readonly advertised: Advertised | undefined }>): string | undefined => {
  const rank = (m: (typeof members)[number]): ReadonlyArray<number> => [
    m.advertised?.leads === true && m.advertised.member ? 1 : 0,
    m.advertised?.member === true ? 1 : 0,
    m.advertised?.term ?? -1
  ]
  const better = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): number => {
    for (let i = 0; i < a.length; i++) if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) - (b[i] as number)
    return 0
  }
  let best: (typeof members)[number] | undefined
  for (const m of members) {
    if (best === undefined) {
      best = m
      continue
    }
    const d = better(rank(m), rank(best))
    if (d > 0 || (d === 0 && m.memberId < best.memberId)) best = m
  }
  return best?.memberId
}

const assigner = (topic: string, advertised: () => Advertised): PartitionAssigner => () => ({
  name: ASSIGNER,
  version: 1,
  assign: ({ members }) => {
    const advertised = members.map((m) => ({
      memberId: m.memberId,
      advertised: parseAdvertised(AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData)
    }))
    const holder = pickHolder(advertised)
    const keys = [...new Set(advertised.flatMap((m) => m.advertised === undefined || m.advertised.key === "" ? [] : [m.advertised.key]))].sort()
    const live = `${LIVE_PREFIX}${keys.join(",")}`
    return Promise.resolve(members.map((m) => ({
      memberId: m.memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 1,
        assignment: { [topic]: m.memberId === holder ? [0] : [], [live]: [] },
        userData: Buffer.alloc(0)
      })
    })))
  },
  protocol: ({ topics }) => ({
    name: ASSIGNER,
    metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.from(JSON.stringify(advertised())) })
  })
})

/** Start the election in the scope: joins in the background, retrying, until the scope closes. */
export const start = (options: KafkaLeaderElectionOptions): Effect.Effect<LeaderElectionService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const prefix = options.topicPrefix ?? "causeway."
    const topic = controlTopic(prefix)
    let candidacy: Candidacy = { key: options.instanceKey ?? "", leads: false, member: false, excluded: false, term: 0 }
    let holds = false
    let closing = false
    let generation = 0
    let leases = 0
    let live: ReadonlyArray<string> | undefined
    const scope = yield* Effect.scope
    const state = yield* Ref.make("not joined yet")
    const services = yield* Effect.context<never>()
    // One log line per change of where this member stands in the election.
    const report = (line: string) => {
      Effect.runSync(Ref.set(state, line))
      Effect.runForkWith(services)(Effect.logInfo(`leader election: ${line}`))
    }
    const kafka = new Kafka({
      clientId: `${options.clientId ?? "causeway"}-election`,
      brokers: [...options.brokers],
      connectionTimeout: 3000,
      logLevel: logLevel.NOTHING,
      retry: { initialRetryTime: 250, maxRetryTime: 2000, retries: 5 },
      ...(options.ssl === undefined ? {} : { ssl: { ...options.ssl, rejectUnauthorized: true } }),
      ...(options.sasl === undefined ? {} : { sasl: { ...options.sasl } })
    })
    let consumer: Consumer | undefined

    const ensureTopic = Effect.tryPromise(async () => {
      const admin = kafka.admin()
      await admin.connect()
      try {
        const existing = await admin.listTopics()
        if (!existing.includes(topic)) {
          await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 1 }] }).catch(() => false)
        }
        const metadata = await admin.fetchTopicMetadata({ topics: [topic] })
        const partitions = metadata.topics[0]?.partitions.length ?? 0
        if (partitions !== 1) throw new Error(`the control topic ${topic} has ${partitions} partitions, not 1 (create it with one partition)`)
      } finally {
        await admin.disconnect()
      }
    })

    const join = Effect.gen(function*() {
      yield* ensureTopic
      const c = kafka.consumer({
        groupId: `${prefix}leader`,
        sessionTimeout: options.sessionTimeoutMs ?? 6000,
        // How long a rebalance waits for members to rejoin: a live member rejoins at its next
        // heartbeat, so this bounds only slow members (failover waits for the session timeout).
        rebalanceTimeout: Math.max(30_000, options.sessionTimeoutMs ?? 6000),
        heartbeatInterval: options.heartbeatIntervalMs ?? 500,
        maxWaitTimeInMs: 250,
        allowAutoTopicCreation: false,
        partitionAssigners: [assigner(topic, () => candidacy)]
      })
      consumer = c
      c.on(c.events.GROUP_JOIN, (e) => {
        // kafkajs cannot stop a consumer that is still joining: one closed meanwhile leaves now.
        if (closing) {
          void c.disconnect().catch(() => undefined)
          return
        }
        generation++
        const held = holds
        holds = e.payload.memberAssignment[topic]?.includes(0) === true
        if (holds && !held) leases++
        report(`${holds ? "holds" : "does not hold"} the lease (join ${generation} of group ${e.payload.groupId} as ${e.payload.memberId}; ${live?.length ?? 0} live)`)
      })
      // The assignment's extra topic name: who is in the group (see above).
      c.on(c.events.RECEIVED_UNSUBSCRIBED_TOPICS, (e) => {
        const keys = liveOf(e.payload.topicsNotSubscribed)
        if (keys !== undefined) live = keys
      })
      c.on(c.events.CRASH, (e) => {
        Effect.runForkWith(services)(Effect.logWarning(`leader election: the group consumer crashed (${describeError(e.payload.error)}); ${e.payload.restart ? "kafkajs restarts it" : "joining again"}`))
        // kafkajs gives up on errors it deems final (the consumer stays down): join anew.
        if (!e.payload.restart && c === consumer) Effect.runForkWith(services)(rejoin("the group consumer crashed"))
      })
      for (const event of [c.events.REBALANCING, c.events.STOP, c.events.DISCONNECT, c.events.CRASH]) {
        c.on(event, () => {
          if (holds) report(`lost the lease (${event})`)
          holds = false
        })
      }
      yield* Effect.logInfo(`leader election: joining the group ${prefix}leader on ${topic}`)
      yield* Effect.logInfo(`leader election: joining the group ${prefix}leader on ${topic}`)
      yield* Effect.tryPromise(async () => {
        await c.connect()
        await c.subscribe({ topic, fromBeginning: false })
        await c.run({ eachBatch: async () => undefined })
      })
    })

    const joining = join.pipe(
      Effect.tapError((e) => Ref.set(state, `joining failed: ${String(e.cause instanceof Error ? e.cause.message : e.cause)}`).pipe(
        Effect.andThen(Effect.logWarning(`leader election: joining the group failed (${String(e.cause)}); retrying`))
      )),
      Effect.retry(Schedule.spaced("2 seconds")),
      Effect.ignore
    )
    yield* Effect.forkScoped(joining)
    // Leave the group and join it again with a new consumer (in the election's scope).
    let leaving = false
    function rejoin(reason: string): Effect.Effect<void> {
      return Effect.gen(function*() {
        if (leaving || closing) return
        leaving = true
        holds = false
        report(`left the group: ${reason}`)
        yield* Effect.promise(() => consumer?.disconnect().catch(() => undefined) ?? Promise.resolve())
        yield* Effect.sleep("1 second")
        leaving = false
        if (!closing) yield* joining
      }).pipe(Effect.forkIn(scope), Effect.asVoid)
    }
    // The lease is given only when the group rebalances: an instance that holds it but is not
    // (or no longer) a member leaves and joins again, so the lease goes to a member.
    const leaveAndRejoin = rejoin("holding the lease without being a member")
    yield* Effect.addFinalizer(() =>
      Effect.promise(async () => {
        closing = true
        holds = false
        await consumer?.disconnect().catch(() => undefined)
      })
    )

    return {
      holds: Effect.sync(() => holds),
      lease: Effect.sync(() => leases),
      live: Effect.sync(() => live),
      advertise: (c: Candidacy) =>
        Effect.suspend(() => {
          candidacy = c
          return holds && c.excluded ? leaveAndRejoin : Effect.void
        }),
      describe: Ref.get(state)
    } satisfies LeaderElectionService
  })

/** The election as a layer. */
export const layer = (options: KafkaLeaderElectionOptions) => Layer.effect(LeaderElection, start(options))

