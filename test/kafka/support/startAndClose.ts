/**
 * For the shutdown test: start the Kafka log, append one record, close it at once (its
 * consumer still joining its group on the mock), print "closed", and let the process end by
 * itself: it does only if nothing of the log is left running.
 *   node test/kafka/support/startAndClose.ts <brokers> <prefix>
 */
import { Effect } from "effect"
import * as KafkaCausalLog from "../../../src/adapters/kafka/KafkaCausalLog.ts"
import { envelope, recordOf, testKey } from "../../support/fixtures.ts"

const [brokers, prefix] = process.argv.slice(2)
if (brokers === undefined || prefix === undefined) {
  process.stderr.write("usage: startAndClose.ts <brokers> <prefix>\n")
  process.exit(2)
}
const e = envelope(testKey("shutdown"), { nonce: 1, lamport: 1 })

await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const log = yield* KafkaCausalLog.start({ brokers: brokers.split(","), topicPrefix: prefix, replicationFactor: 1, partitions: 3, indexPath: ":memory:" })
  yield* log.ready
  yield* log.service.append([recordOf(e)])
  process.stdout.write(`joined before close: ${yield* log.groupJoins}\n`)
})))
process.stdout.write("closed\n")
