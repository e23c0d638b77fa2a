/**
 * Deterministic JSON: object keys sorted (by UTF-16 code units, JavaScript's default sort), no whitespace, strings
 * and numbers as `JSON.stringify` writes them. Two equal values always give the same text, whatever the order their
 * keys were written in, so a hash over it can be recomputed from a row read back from any database.
 */

/** A JSON value. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** The canonical text of a JSON value; fails on a non-finite number (JSON has none). */
export const canonicalJson = (value: Json): string => {
  if (value === null || typeof value === "boolean" || typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`Not a JSON number: ${value}`)
    return JSON.stringify(value)
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const object = value as { readonly [key: string]: Json }
  const keys = Object.keys(object).sort()
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(object[key]!)}`).join(",")}}`
}
