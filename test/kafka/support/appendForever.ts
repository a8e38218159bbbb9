/**
 * A writer process for the crash test: opens the Kafka log with a file index and appends
 * batches of 10 until it is killed, printing "acked <offset of the batch's last record> <ids>"
 * once each append is acknowledged. Run with Node 24:
 *   node test/kafka/support/appendForever.ts <brokers> <prefix> <indexPath>
 */
import { Effect } from "effect"
import * as KafkaCausalLog from "../../../src/adapters/kafka/KafkaCausalLog.ts"
import type { NewRecord } from "../../../src/ports/CausalLog.ts"
import { envelope, recordOf, testKey } from "../../support/fixtures.ts"

const [brokers, prefix, indexPath] = process.argv.slice(2)
if (brokers === undefined || prefix === undefined || indexPath === undefined) {
  process.stderr.write("usage: appendForever.ts <brokers> <prefix> <indexPath>\n")
  process.exit(2)
}

const key = testKey("crash-writer")
const batchOf = (i: number): Array<NewRecord> =>
  Array.from({ length: 10 }, (_, j) => {
    const n = i * 10 + j + 1
    return recordOf(envelope(key, { nonce: n, lamport: n, payload: { component: "crash", status: "ok", latencyMs: n } }))
  })

const main = Effect.scoped(Effect.gen(function*() {
  const log = yield* KafkaCausalLog.start({
    brokers: brokers.split(","),
    topicPrefix: prefix,
    replicationFactor: 1,
    partitions: 3,
    sessionTimeoutMs: 6000,
    heartbeatIntervalMs: 500,
    indexPath
  })
  yield* log.ready
  const start = yield* log.service.endOffset
  for (let i = start / 10; ; i++) {
    const batch = batchOf(i)
    const acks = yield* log.service.append(batch)
    process.stdout.write(`acked ${acks[acks.length - 1]?.offset} ${batch.map((r) => r.id).join(",")}\n`)
  }
}))

Effect.runPromise(main).catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n`)
  process.exit(1)
})
