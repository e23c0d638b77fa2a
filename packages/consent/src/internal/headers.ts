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
 * The values of headers `names` (lower case), each undefined when absent. A record may spell a name in any case,
 * even under several spellings: all of them count. One pass over a record's keys reads every name (a request's
 * signal headers are read together).
 */
export const headers = (
  input: HeadersLike | undefined | null,
  names: ReadonlyArray<string>
): Array<string | undefined> => {
  const out = new Array<string | undefined>(names.length).fill(undefined)
  if (input === undefined || input === null) return out
  if (typeof input.get === "function") {
    for (let i = 0; i < names.length; i++) out[i] = (input as HeaderGetter).get(names[i]!) ?? undefined
    return out
  }
  const record = input as HeaderRecord
  for (const key in record) {
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      if (key.length === name.length && (key === name || key.toLowerCase() === name)) {
        out[i] = append(out[i], record[key])
        break
      }
    }
  }
  return out
}
