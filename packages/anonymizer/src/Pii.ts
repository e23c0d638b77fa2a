/**
 * The one detector of personal data in text, shared by URL scrubbing and by the free-text fields of events
 * (product ids, categories, order ids, element labels): email addresses, phone numbers (international with or
 * without `+`/`00`, national forms with spaces, dots or dashes), IPv4 and IPv6 addresses, card-like numbers
 * (Luhn) and, in URLs, long random tokens; through percent-encoding of any depth, `+`-for-space and full-width
 * characters. A field holding any of them is replaced whole by a marker (`[redacted:email]`). Control
 * characters (C0, DEL, C1, U+2028/U+2029) are stripped from every stored string, so a label cannot forge a line
 * in a log or a cell in a CSV export. Names of people in free text are not detected (see the README).
 *
 * Which fields are free text is read off a schema (`freeTextFields`): every string that is not a literal, an
 * enum or a string constrained by a pattern or format (ids, site keys), so a field added to an event schema is
 * covered without a change here. Plain synchronous code for the collector's hot path: most values are cleared by
 * one pass over their characters, before any regular expression runs.
 *
 * @since 0.3.0
 */
import * as AST from "effect/SchemaAST"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { detect as detectRaw, type PiiKind, stripControls as strip } from "./internal/pii.js"

/**
 * The kinds of personal data detected.
 *
 * @since 0.3.0
 * @category models
 */
export const Kind = Schema.Literal("email", "phone", "card", "ip", "token")

/**
 * @since 0.3.0
 * @category models
 */
export type Kind = PiiKind

/**
 * Options of `detect`: `tokens: false` leaves long random-looking strings alone (the default for free text,
 * where product and order ids are often UUIDs or hashes; URLs scan for them).
 *
 * @since 0.3.0
 * @category models
 */
export interface DetectOptions {
  readonly tokens?: boolean | undefined
}

/**
 * The first kind of personal data found in `text` (percent-encoded or not), or `undefined`.
 *
 * @since 0.3.0
 * @category detection
 */
export const detect = (text: string, options?: DetectOptions): Kind | undefined =>
  detectRaw(text, options?.tokens ?? true)

/**
 * What a redacted free-text field becomes: `[redacted:email]`, `[redacted:phone]`, …
 *
 * @since 0.3.0
 * @category constructors
 */
export const marker = (kind: Kind): string => `[redacted:${kind}]`

/**
 * `text` without control characters (C0, DEL, C1, U+2028, U+2029); the same string when it has none.
 *
 * @since 0.3.0
 * @category redaction
 */
export const stripControls = (text: string): string => strip(text)

/**
 * What `redact` made of a value: the text to store, and the kind of personal data that was replaced, if any.
 *
 * @since 0.3.0
 * @category models
 */
export interface Redaction {
  readonly text: string
  readonly kind: Kind | undefined
}

/**
 * A free-text value made storable: control characters stripped, and the whole value replaced by its `marker`
 * when it holds personal data (tokens are not looked for: ids may be random-looking).
 *
 * @since 0.3.0
 * @category redaction
 */
export const redact = (text: string): Redaction => {
  const clean = strip(text)
  const kind = detectRaw(clean, false)
  return kind === undefined ? { text: clean, kind } : { text: marker(kind), kind }
}

/**
 * A path to a free-text field: property names, with `"[]"` for "every element of this array"
 * (`["items", "[]", "category"]`).
 *
 * @since 0.3.0
 * @category models
 */
export type FieldPath = ReadonlyArray<string>

/**
 * A field path as a metric label or message: `items[].category`.
 *
 * @since 0.3.0
 * @category formatting
 */
export const formatPath = (path: FieldPath): string =>
  path.reduce((out, key) => (key === "[]" ? `${out}[]` : out === "" ? key : `${out}.${key}`), "")

const constrained = (ast: AST.Refinement): boolean => {
  const json = AST.getJSONSchemaAnnotation(ast)
  if (Option.isSome(json)) {
    const annotation = json.value as Record<string, unknown>
    if ("pattern" in annotation || "format" in annotation || "enum" in annotation || "const" in annotation) {
      return true
    }
  }
  return false
}

/** Whether `ast` is a string type, and whether it is free text (no literal, enum, pattern or format). */
const stringKind = (ast: AST.AST): "free" | "constrained" | undefined => {
  switch (ast._tag) {
    case "StringKeyword":
      return "free"
    case "Refinement": {
      const inner = stringKind(ast.from)
      return inner === "free" && constrained(ast) ? "constrained" : inner
    }
    case "Literal":
    case "Enums":
    case "TemplateLiteral":
      return "constrained"
    default:
      return undefined
  }
}

const collect = (ast: AST.AST, path: Array<string>, out: Array<FieldPath>, seen: Set<AST.AST>): void => {
  if (seen.has(ast)) return
  switch (ast._tag) {
    case "Refinement": {
      const kind = stringKind(ast)
      if (kind === "free") out.push([...path])
      else if (kind === undefined) collect(ast.from, path, out, seen)
      return
    }
    case "StringKeyword":
      out.push([...path])
      return
    case "Transformation":
      collect(ast.to, path, out, seen)
      return
    case "Suspend":
      seen.add(ast)
      collect(ast.f(), path, out, seen)
      seen.delete(ast)
      return
    case "Union":
      for (const member of ast.types) collect(member, path, out, seen)
      return
    case "TypeLiteral":
      for (const property of ast.propertySignatures) {
        if (typeof property.name === "string") collect(property.type, [...path, property.name], out, seen)
      }
      return
    case "TupleType":
      for (const element of ast.elements) collect(element.type, [...path, "[]"], out, seen)
      for (const rest of ast.rest) collect(rest.type, [...path, "[]"], out, seen)
      return
    default:
      return
  }
}

/**
 * The free-text fields of a schema's decoded type: every string field that is not a literal, an enum, a
 * template literal or a string constrained by a pattern or format, in every nested struct and array. Unions
 * contribute the fields of each member, each path once.
 *
 * @since 0.3.0
 * @category schemas
 */
export const freeTextFields = (schema: Schema.Schema.Any): ReadonlyArray<FieldPath> => {
  const out: Array<FieldPath> = []
  collect(AST.typeAST(schema.ast), [], out, new Set())
  const unique = new Map<string, FieldPath>()
  for (const path of out) if (!unique.has(path.join("\u0000"))) unique.set(path.join("\u0000"), path)
  return [...unique.values()]
}
