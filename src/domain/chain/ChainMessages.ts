/**
 * Payloads of the messages the chain observers author (verified headers, finality,
 * reorgs). The chain-observer projection folds them; src/domain/MessageTypes.ts registers
 * every schema here by its key.
 */

/** Chain-observer payload schemas, by message type. */
export const ChainPayloads = {} as const
