/**
 * The server's shutdown signal: completes when the server starts to shut down, so that
 * long-lived responses (the event stream) end cleanly instead of holding the close open.
 */
import { Context, type Effect } from "effect"

/** Completes once the server is draining. */
export class Draining extends Context.Service<Draining, Effect.Effect<void>>()("causeway/http/Draining") {}
