/**
 * Schema versions in SchemaVer form, MODEL-REVISION-ADDITION: MODEL changes break every reader, REVISION may
 * break some historical data, ADDITION only adds optional fields. Each event type carries its own version and
 * its JSON Schema is published under a stable URI that includes it.
 *
 * @since 0.1.0
 */
import * as JSONSchema from "effect/JSONSchema"
import type * as Schema from "effect/Schema"
import * as Event from "./Event.js"

/**
 * A SchemaVer version string such as `1-0-0`.
 *
 * @since 0.1.0
 * @category models
 */
export type SchemaVer = `${number}-${number}-${number}`

/**
 * The vendor part of every schema URI.
 *
 * @since 0.1.0
 * @category constants
 */
export const vendor = "dev.openaudience"

/**
 * The current version of each event type's schema.
 *
 * @since 0.1.0
 * @category constants
 */
export const versions: Readonly<Record<Event.EventType, SchemaVer>> = {
  // 1-0-1: `consent.gdprApplies`.
  page_view: "1-0-1",
  product_view: "1-0-1",
  add_to_cart: "1-0-1",
  conversion: "1-0-1",
  engagement: "1-0-1"
}

/**
 * A parsed SchemaVer.
 *
 * @since 0.1.0
 * @category models
 */
export interface Parsed {
  readonly model: number
  readonly revision: number
  readonly addition: number
}

/**
 * Parses `MODEL-REVISION-ADDITION`; MODEL starts at 1.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (version: string): Parsed | undefined => {
  const match = /^([1-9]\d{0,3})-(0|[1-9]\d{0,3})-(0|[1-9]\d{0,3})$/.exec(version)
  return match === null
    ? undefined
    : { model: Number(match[1]), revision: Number(match[2]), addition: Number(match[3]) }
}

/**
 * Whether data written under `written` can be read by a reader at `reader`: same MODEL, and the reader is not
 * older than the writer.
 *
 * @since 0.1.0
 * @category predicates
 */
export const canRead = (reader: string, written: string): boolean => {
  const r = parse(reader)
  const w = parse(written)
  if (r === undefined || w === undefined || r.model !== w.model) return false
  return r.revision > w.revision || (r.revision === w.revision && r.addition >= w.addition)
}

/**
 * The URI identifying an event type's schema at its current version.
 *
 * @since 0.1.0
 * @category constructors
 */
export const uri = (type: Event.EventType): string => `iglu:${vendor}/${type}/jsonschema/${versions[type]}`

/**
 * JSON Schema (draft-07) of an event type, with `$id` and `self` naming its version.
 *
 * @since 0.1.0
 * @category json schema
 */
export const jsonSchema = (type: Event.EventType): Record<string, unknown> => {
  const schema = Event.schemas[type] as Schema.Schema<any, any>
  return {
    ...JSONSchema.make(schema),
    $id: uri(type),
    self: { vendor, name: type, format: "jsonschema", version: versions[type] }
  }
}

/**
 * JSON Schema of every event type, by type.
 *
 * @since 0.1.0
 * @category json schema
 */
export const jsonSchemas = (): Record<Event.EventType, Record<string, unknown>> =>
  Object.fromEntries(Event.eventTypes.map((type) => [type, jsonSchema(type)])) as Record<
    Event.EventType,
    Record<string, unknown>
  >
