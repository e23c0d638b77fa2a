/**
 * The collector counts requests from bots without storing them, and Node's fetch announces itself as "node"
 * (a bot). Tests play browsers: every fetch without a User-Agent of its own gets a real browser's. Tests about
 * bots set theirs explicitly.
 */
export const browserUserAgent =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

const nodeFetch = globalThis.fetch

globalThis.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
  const headers = new Headers(init?.headers)
  if (!headers.has("user-agent")) headers.set("user-agent", browserUserAgent)
  return nodeFetch(input, { ...init, headers })
}
