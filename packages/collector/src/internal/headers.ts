/**
 * Request headers in either form the collector accepts: a Node header record (lower-case names, a string or a
 * list) or a WHATWG `Headers` (fetch, Hono, Next, Bun, Deno). Node records are read as they are, so the node:http
 * hot path pays nothing for the second form.
 */

/** Request headers: a Node header record or a WHATWG `Headers`. */
export type HeadersInput = Readonly<Record<string, string | ReadonlyArray<string> | undefined>> | Headers

/** A Node header record. */
export type HeaderRecord = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** Whether `headers` is a WHATWG `Headers` (read with `get`) rather than a Node record. */
export const isWhatwg = (headers: HeadersInput): headers is Headers =>
  typeof (headers as { readonly get?: unknown }).get === "function"

/** One header's value, when it has a single one (a Node list, which only repeated headers give, counts as none). */
export const header = (headers: HeadersInput, name: string): string | undefined => {
  if (isWhatwg(headers)) return headers.get(name) ?? undefined
  const value = headers[name]
  return typeof value === "string" ? value : undefined
}

/** The named headers of a WHATWG `Headers` as a Node record, for functions that read records. */
export const record = (headers: Headers, names: ReadonlyArray<string>): HeaderRecord => {
  const out: Record<string, string> = {}
  for (const name of names) {
    const value = headers.get(name)
    if (value !== null) out[name] = value
  }
  return out
}
