/**
 * `causeway operator register KEY [--name NAME]`, `causeway operator remove KEY` and
 * `causeway operator list [--json]`: the deployment's operator registry on a running server
 * (POST, DELETE and GET /v1/operators; rules in src/domain/operators/OperatorRegistry.ts).
 * Registering and removing need an admin token (CAUSEWAY_TOKEN, or the data directory's).
 *
 * Exit codes, as `effect`: 0 done; 1 the server said no (its status, tag and reason on stderr:
 * 401/403 without an admin token, 404 removing a key that is not registered, 409 on an
 * instance that does not lead); 2 bad arguments; 3 the server cannot be reached.
 */
import { Console, Effect, Option, Schema } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { OperatorChanged, OperatorList } from "../adapters/http/OperatorsApi.ts"
import { OperatorKey } from "../domain/operators/OperatorRegistry.ts"
import { UsageError } from "./CliErrors.ts"
import { urlFlag } from "./Flags.ts"
import * as ServerClient from "./ServerClient.ts"

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("Print the answer as JSON"), Flag.withDefault(false))
const keyArgument = Argument.String("key").pipe(Argument.withDescription("The operator's public key (64 lowercase hex digits; 66 for secp256k1)"))

const isKey = Schema.is(OperatorKey)
const checkedKey = (key: string): Effect.Effect<string, UsageError> => {
  const shown = JSON.stringify(key.slice(0, 80))
  return isKey(key) ? Effect.succeed(key) : Effect.fail(new UsageError({ message: `${shown} is not a public key (64 lowercase hex digits, or 66 for secp256k1)` }))
}

const register = Command.make(
  "register",
  {
    key: keyArgument,
    name: Flag.String("name").pipe(Flag.withDescription("A name for the operator (1 to 64 printable ASCII characters)"), Flag.optional),
    url: urlFlag
  },
  Effect.fn("causeway.operator.register")(function*(flags) {
    const base = yield* ServerClient.serverBase(flags.url)
    const operator = yield* checkedKey(flags.key)
    const body = { operator, ...(Option.isSome(flags.name) ? { name: flags.name.value } : {}) }
    const done = yield* ServerClient.postJson(base, "/v1/operators", body, OperatorChanged, `registering operator ${operator}`, 201)
    yield* Console.log(`operator ${done.operator} registered (OperatorRegistered at offset ${done.offset})`)
  })
).pipe(Command.withDescription("Register an operator: its match proposals, fill reports and intents are accepted from then on."))

const remove = Command.make(
  "remove",
  { key: keyArgument, url: urlFlag },
  Effect.fn("causeway.operator.remove")(function*(flags) {
    const base = yield* ServerClient.serverBase(flags.url)
    const operator = yield* checkedKey(flags.key)
    const done = yield* ServerClient.deleteJson(base, `/v1/operators?key=${operator}`, OperatorChanged, `removing operator ${operator}`)
    yield* Console.log(`operator ${done.operator} removed (OperatorRemoved at offset ${done.offset})`)
  })
).pipe(Command.withDescription("Remove an operator: its later proposals, reports and intents are refused."))

const list = Command.make(
  "list",
  { url: urlFlag, json: jsonFlag },
  Effect.fn("causeway.operator.list")(function*({ url, json }) {
    const base = yield* ServerClient.serverBase(url)
    const answer = yield* ServerClient.getJson(base, "/v1/operators", OperatorList, "the operators")
    if (json) return yield* Console.log(JSON.stringify(answer.operators))
    for (const o of answer.operators) yield* Console.log(`${o.operator}  ${o.name ?? "-"}  since offset ${o.since}`)
  })
).pipe(Command.withDescription("List the registered operators."))

/** The operator command (its subcommands). */
export const operatorCommand = Command.make("operator").pipe(
  Command.withDescription("The operator registry: who may send match proposals, fill reports and computation intents."),
  Command.withSubcommands([register, remove, list])
)
