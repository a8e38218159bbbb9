/**
 * Payloads of the mempool's messages (commitments, reveals, time-locked orders, sealed
 * batches, intents, auction bids). The mempool projection folds them;
 * src/domain/MessageTypes.ts registers every schema here by its key.
 */

/** Mempool payload schemas, by message type. */
export const MempoolPayloads = {} as const
