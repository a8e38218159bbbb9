/** The CausalLog contract suite against the Kafka adapter, on whichever broker TestBroker found. */
import { afterAll, describe } from "@effect/vitest"
import { causalLogContract } from "../log/CausalLogContract.ts"
import { freshLogLayer } from "./support/kafkaLayer.ts"
import { startBroker } from "./support/TestBroker.ts"

const choice = await startBroker()

if ("skipped" in choice) {
  describe.skip(`CausalLog contract: kafka (skipped: ${choice.skipped})`, () => {})
} else {
  const { broker } = choice
  afterAll(() => broker.stop())
  causalLogContract(`kafka (${broker.kind})`, () => freshLogLayer(broker, "contract"))
}
