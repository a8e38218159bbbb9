/**
 * How errors and logs name an RPC endpoint: by scheme and host (with port) only. An operator's
 * endpoint URL may carry an API key in its path, query or user info (`https://eth.example/v2/KEY`),
 * and error reasons reach anonymous HTTP callers; the label never holds more than the host.
 */

/** `scheme://host[:port]` of a URL; "an endpoint" when it does not parse. */
export const endpointLabel = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}`
  } catch {
    return "an endpoint"
  }
}

/**
 * `text` with every occurrence of `url` (as given, without a trailing slash, and as the URL
 * parser writes it) replaced by its label: a library's error message may quote the URL whole.
 */
export const scrubEndpoint = (text: string, url: string): string => {
  const label = endpointLabel(url)
  const forms = new Set([url, url.replace(/\/+$/u, "")])
  try {
    const u = new URL(url)
    forms.add(u.href)
    forms.add(u.href.replace(/\/+$/u, ""))
  } catch {
    // an unparsable URL is replaced as given
  }
  let out = text
  // Longest first, so a shorter form never leaves a longer one's tail behind.
  for (const f of [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length)) out = out.split(f).join(label)
  return out
}
