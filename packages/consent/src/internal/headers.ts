/**
 * One reader for request headers in both shapes servers hand them over: a WHATWG `Headers` object (fetch, Hono,
 * Next, Bun, Deno) and a plain record (Node's `IncomingHttpHeaders`, `@effect/platform`'s `Headers`). Both read
 * alike: names are case-insensitive, and several values of one header come back joined by ", " in order, as
 * `Headers.get` joins them. (anonymizer's `Ip` carries its own copy: the two packages share no dependency.)
 */

/** Anything with a WHATWG-style `get`: `Headers`, and a `Map` of lower-case names. */
export interface HeaderGetter {
  readonly get: (name: string) => string | null | undefined
}

/** A plain header record: names (any case) to a value or a list of values. */
export type HeaderRecord = { readonly [name: string]: string | ReadonlyArray<string> | undefined }

/** A WHATWG `Headers` (or anything with its `get`), or a plain header record. */
export type HeadersLike = HeaderGetter | HeaderRecord

const append = (joined: string | undefined, value: string | ReadonlyArray<string> | undefined): string | undefined => {
  if (value === undefined) return joined
  const text = typeof value === "string" ? value : value.length === 0 ? undefined : value.join(", ")
  if (text === undefined) return joined
  return joined === undefined ? text : `${joined}, ${text}`
}

/**
 * The value of header `name` (lower case), or undefined when absent. A record may spell the name in any case and
 * even carry it under several spellings: all of them count.
 */
export const header = (headers: HeadersLike | undefined | null, name: string): string | undefined => {
  if (headers === undefined || headers === null) return undefined
  if (typeof headers.get === "function") return (headers as HeaderGetter).get(name) ?? undefined
  const record = headers as HeaderRecord
  let joined: string | undefined
  for (const key in record) {
    if (key.length === name.length && (key === name || key.toLowerCase() === name)) {
      joined = append(joined, record[key])
    }
  }
  return joined
}
