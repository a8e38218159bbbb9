/**
 * Failover of a three-member cluster (docs/adr/0002-cluster-authority.md): milliseconds from
 * the SIGKILL of the leader to the next sealed batch, with the default settings.
 *
 * Broker: KAFKA_BROKERS (real Kafka; the topics, the control topic included, are created here
 * with kafkajs) or else the test broker (`startBroker()`: testcontainers Kafka when a Docker
 * engine is reachable, else librdkafka's mock cluster through infra/mock-kafka).
 *
 * Three `causeway serve --log kafka --cluster-admin …` members (own data directories, one
 * shared `--beacon-key` file, `--batch-window-ms 1000`, and the default 6 s group session:
 * `--cluster-session-timeout-ms` is not passed) are authorized by the admin's
 * ClusterMembersSet; once one leads and all are ready, each of BENCH_ROUNDS (5) rounds:
 *
 * 1. posts an order to a member that does not lead, so a batch is open, and reads its batch
 *    number from that member's order view;
 * 2. SIGKILLs the leader (t0) and polls the member it posted to every 20 ms until that batch
 *    is sealed (t1); sample = t1 - t0. electedMs: when /v1/cluster there first named the new
 *    leader. A round whose batch the dying leader sealed (its 1 s window ran out before the
 *    kill) measures nothing: it is discarded, said so, and run again;
 * 3. restarts the killed member on its data directory with the same arguments (its instance
 *    key is kept), waits until it is ready and the three agree on leader and term, then
 *    BENCH_SETTLE_MS (6000, one session) for the group's rebalance after its rejoin to end.
 *
 * On the mock, a rebalance waits a session less a second for the survivors to rejoin; real
 * Kafka completes it once they have. Phase lines go to stderr, each round's figures to stdout.
 * Last line: {"failoverMs","rounds","electedMs","samplesMs","sessionTimeoutMs","batchWindowMs","broker"},
 * failoverMs and electedMs the medians.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import * as LocalBeacon from "../src/adapters/beacon/LocalBeacon.ts"
import { idOf } from "../src/domain/Envelope.ts"
import type { KeyFile } from "../src/domain/Keys.ts"
import type { MessageType } from "../src/domain/MessageTypes.ts"
import type { MessageId } from "../src/domain/Primitives.ts"
import { cleanup, eventually, getJson, type Server, startServer, tempDir } from "../test/cli/support/cli.ts"
import { createTopicsOn, freshPrefix, startBroker } from "../test/kafka/support/TestBroker.ts"
import { order } from "../test/mempool/support.ts"
import { testBeacon, writeBeaconKey } from "../test/support/beaconKey.ts"
import { envelope, testKey } from "../test/support/fixtures.ts"
import { fmt, median } from "./support/stats.ts"

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 6000)
const BATCH_WINDOW_MS = 1000
// serve's default group session (--cluster-session-timeout-ms is not passed): reported, not set.
const SESSION_TIMEOUT_MS = 6000
const POLL_MS = 20
// A member lives through every round: far beyond startServer's 120 s default.
const MEMBER_LIFETIME_MS = 60 * 60 * 1000
const EVENT_PARTITIONS = 3

/** A phase mark on stderr: seconds since the process started. */
const phase = (what: string): void => {
  process.stderr.write(`[bench:failover +${(performance.now() / 1000).toFixed(2)}s] ${what}\n`)
}

interface Broker {
  readonly brokers: ReadonlyArray<string>
  readonly kind: "mock" | "kafka"
  readonly createTopics: (prefix: string) => Promise<void>
  readonly stop: () => Promise<void>
}

/** The broker: real Kafka from KAFKA_BROKERS, else the tests' broker. */
const openBroker = async (): Promise<Broker> => {
  const env = process.env.KAFKA_BROKERS
  if (env !== undefined && env !== "") {
    const brokers = env.split(",").map((b) => b.trim())
    return {
      brokers,
      kind: "kafka",
      createTopics: (prefix) => createTopicsOn(brokers, prefix, EVENT_PARTITIONS),
      stop: () => Promise.resolve()
    }
  }
  const choice = await startBroker()
  if ("skipped" in choice) throw new Error(choice.skipped)
  const { broker } = choice
  return {
    brokers: broker.brokers,
    kind: broker.kind === "mock" ? "mock" : "kafka",
    createTopics: (prefix) => broker.createTopics(prefix, EVENT_PARTITIONS),
    stop: () => broker.stop()
  }
}

const admin = testKey("bench-failover-admin")
const user = testKey("bench-failover-user")
const beacon = testBeacon(7, 3)

const nonces = new Map<string, number>()
let lamport = 1_000
/** Sign and post a message to one member; its id (201 expected). */
const post = async (url: string, key: KeyFile, type: MessageType, payload: unknown): Promise<MessageId> => {
  const nonce = (nonces.get(key.publicKey) ?? 0) + 1
  nonces.set(key.publicKey, nonce)
  lamport += 10
  const env = envelope(key, { type, payload, nonce, lamport })
  const r = await fetch(`${url}/v1/messages`, { method: "POST", body: JSON.stringify(env), headers: { "content-type": "application/json" } })
  if (r.status !== 201) throw new Error(`POST ${type} to ${url}: ${r.status} ${await r.text()}`)
  return idOf(env)
}

interface ClusterView {
  readonly instance: string
  readonly leader: string | null
  readonly term: number
  readonly isMember: boolean
}

const cluster = async (s: Server): Promise<ClusterView> => (await getJson(`${s.url}/v1/cluster`)).body as ClusterView
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Every member names the same leader in the same term. */
const agreed = (servers: ReadonlyArray<Server>, timeoutMs: number) =>
  eventually(
    () => Promise.all(servers.map(cluster)),
    (cs) => cs.every((c) => c.leader !== null && c.leader === cs[0]?.leader && c.term === cs[0]?.term),
    timeoutMs
  )

const allReady = (servers: ReadonlyArray<Server>, timeoutMs: number) =>
  Promise.all(servers.map((s) => eventually(() => getJson(`${s.url}/readyz`), (r) => r.status === 200, timeoutMs)))

/** SIGTERM, then SIGKILL if it has not exited within 10 s. */
const stopMember = async (s: Server): Promise<void> => {
  const killer = setTimeout(() => s.child.kill("SIGKILL"), 10_000)
  await s.stop("SIGTERM")
  clearTimeout(killer)
}

interface Sample {
  readonly failoverMs: number
  readonly electedMs: number
  readonly fromTerm: number
  readonly toTerm: number
  readonly batch: number
  readonly restartMs: number
}

const main = async (): Promise<{ readonly samples: ReadonlyArray<Sample>; readonly kind: Broker["kind"] }> => {
  phase("broker start")
  const broker = await openBroker()
  phase(`broker ${broker.kind} at ${broker.brokers.join(",")}`)
  const members: Array<Server> = []
  try {
    const prefix = freshPrefix("bench-failover")
    await broker.createTopics(prefix)
    const beaconKey = join(tempDir("causeway-bench-failover-"), "beacon.key")
    writeBeaconKey(beaconKey, beacon)
    const dirs = [0, 1, 2].map((i) => {
      const d = join(tempDir("causeway-bench-failover-"), `member-${i}`)
      mkdirSync(d, { recursive: true, mode: 0o700 })
      return d
    })
    const args = (dir: string) => [
      "--port", "0", "--data-dir", dir, "--log", "kafka", "--brokers", broker.brokers.join(","), "--topic-prefix", prefix,
      "--cluster-admin", admin.publicKey, "--beacon-key", beaconKey, "--batch-window-ms", String(BATCH_WINDOW_MS)
    ]
    const startMember = (i: number) => {
      const dir = dirs[i] as string
      return startServer(dir, { args: args(dir), timeoutMs: MEMBER_LIFETIME_MS })
    }
    const member = (i: number): Server => {
      const s = members[i]
      if (s === undefined) throw new Error(`no member ${i}`)
      return s
    }

    phase("starting three members")
    members.push(...await Promise.all([0, 1, 2].map(startMember)))
    const keys = (await Promise.all(members.map(cluster))).map((c) => c.instance)
    phase(`members ${keys.map((k) => k.slice(0, 8)).join(", ")}; the admin sets them`)
    await post(member(0).url, admin, "ClusterMembersSet", { members: keys })
    const [first] = await agreed(members, 60_000)
    await allReady(members, 60_000)
    phase(`leader ${first?.leader?.slice(0, 8)} in term ${first?.term}; all ready; settling ${SETTLE_MS} ms`)
    await sleep(SETTLE_MS)

    const samples: Array<Sample> = []
    let attempts = 0
    while (samples.length < ROUNDS) {
      if (++attempts > ROUNDS * 2) throw new Error(`only ${samples.length} of ${ROUNDS} rounds measured in ${attempts - 1} attempts`)
      const [view0] = await agreed(members, 10_000)
      const leaderKey = view0?.leader ?? null
      const fromTerm = view0?.term ?? 0
      const leaderIndex = leaderKey === null ? -1 : keys.indexOf(leaderKey)
      if (leaderKey === null || leaderIndex < 0) throw new Error(`no leader among the members: ${JSON.stringify(view0)}`)
      const leader = member(leaderIndex)
      const watched = member((leaderIndex + 1) % 3)

      // A batch is open: an order on a member that does not lead.
      const id = await post(watched.url, user, "UserOrder", order(100 + attempts))
      const view = await eventually(() => getJson(`${watched.url}/v1/mempool/orders/${id}`), (r) => r.status === 200, 10_000)
      const batch = view.body.batch as number
      const batchUrl = `${watched.url}/v1/mempool/batches/${batch}`

      const t0 = performance.now()
      leader.child.kill("SIGKILL")
      phase(`round ${samples.length + 1}: batch ${batch} open; leader ${leaderKey.slice(0, 8)} (term ${fromTerm}) SIGKILLed`)
      let electedAt: number | undefined
      let sealed: { readonly at: number; readonly sealId: string } | undefined
      while (sealed === undefined) {
        if (performance.now() - t0 > 60_000) throw new Error(`batch ${batch} not sealed within 60 s of the kill; ${JSON.stringify(await cluster(watched))}`)
        const c = await cluster(watched)
        if (electedAt === undefined && c.leader !== null && c.leader !== leaderKey && c.term > fromTerm) electedAt = performance.now()
        const b = await getJson(batchUrl)
        if (b.status === 200) sealed = { at: performance.now(), sealId: b.body.sealId as string }
        else await sleep(POLL_MS)
      }
      await leader.exited
      const seal = await getJson(`${watched.url}/v1/messages/${sealed.sealId}`)
      const sealer = seal.body?.sender as string | undefined
      const after = await cluster(watched)

      // Back to three: the same data directory and arguments, so the same instance key.
      const r0 = performance.now()
      const restarted = await startMember(leaderIndex)
      members[leaderIndex] = restarted
      const back = await cluster(restarted)
      if (back.instance !== leaderKey) throw new Error(`the restarted member is ${back.instance}, not ${leaderKey}`)
      await allReady([restarted], 60_000)
      await agreed(members, 60_000)
      const restartMs = performance.now() - r0

      if (sealer === leaderKey) {
        console.log(`discarded: batch ${batch} was sealed by the leader before it died (its ${BATCH_WINDOW_MS} ms window ran out first)`)
      } else {
        const failoverMs = sealed.at - t0
        const electedMs = (electedAt ?? sealed.at) - t0
        samples.push({ failoverMs, electedMs, fromTerm, toTerm: after.term, batch, restartMs })
        console.log(
          `round ${samples.length}: batch ${batch} sealed ${fmt(failoverMs)} ms after the SIGKILL; new leader ${after.leader?.slice(0, 8)} ` +
            `(term ${fromTerm} -> ${after.term}) seen at ${fmt(electedMs)} ms; the killed member back and agreeing in ${fmt(restartMs)} ms`
        )
      }
      phase(`settling ${SETTLE_MS} ms`)
      await sleep(SETTLE_MS)
    }
    return { samples, kind: broker.kind }
  } finally {
    phase("stopping the members")
    await Promise.all(members.map((s) => stopMember(s).catch(() => undefined)))
    phase("stopping the broker")
    await broker.stop()
    cleanup()
  }
}

try {
  const { samples, kind } = await main()
  const failover = samples.map((s) => s.failoverMs)
  const elected = samples.map((s) => s.electedMs)
  console.log(
    `failover (${kind}, ${SESSION_TIMEOUT_MS} ms session, ${BATCH_WINDOW_MS} ms batch window): median ${fmt(median(failover))} ms ` +
      `(min ${fmt(Math.min(...failover))}, max ${fmt(Math.max(...failover))}); new leader seen at median ${fmt(median(elected))} ms`
  )
  console.log(JSON.stringify({
    failoverMs: Math.round(median(failover)),
    rounds: samples.length,
    electedMs: Math.round(median(elected)),
    samplesMs: failover.map(Math.round),
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    batchWindowMs: BATCH_WINDOW_MS,
    broker: kind
  }))
  process.exit(0)
} catch (e) {
  process.stderr.write(`bench:failover failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`)
  process.exit(1)
}
