/** A logger layer that collects the text of every Warn line (what the Kafka log reports of what it skips or refuses). */
import { Logger } from "effect"

/** Collect each Warn line's message into `into`. */
export const warningsLogger = (into: Array<string>) =>
  Logger.layer([Logger.make(({ logLevel, message }) => {
    if (logLevel === "Warn") into.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  })])
