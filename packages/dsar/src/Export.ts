/**
 * The export of a data subject's records (the right of access and to portability): `collect` gathers the records
 * of every registered store, then `toJson` writes them as one JSON document and `toCsvZip` as a ZIP archive with
 * one CSV file per store and record kind, ready for a spreadsheet.
 *
 * The CSV files follow RFC 4180 (CRLF line ends, fields with a quote, comma or line break quoted, quotes doubled),
 * start with a UTF-8 byte order mark so spreadsheets read them as UTF-8, and write nested fields as JSON text. A
 * text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading apostrophe so a
 * spreadsheet shows it as text instead of running it as a formula (CSV injection); numbers are written as they are.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { strToU8, zipSync } from "fflate"
import type { ExportedRecord, Retained, StoreUnavailable, SubjectStore } from "./Registry.js"
import type { Kind, Subject } from "./Subject.js"

/**
 * The records of one store: oldest first (records without a time last), at most the limit, and whether the
 * store held more.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreRecords {
  readonly store: string
  readonly kinds: ReadonlyArray<Kind>
  readonly retained: ReadonlyArray<Retained>
  readonly records: ReadonlyArray<ExportedRecord>
  readonly truncated: boolean
}

/**
 * The records of every store, in the registry's order.
 *
 * @since 0.1.0
 * @category models
 */
export type Collected = ReadonlyArray<StoreRecords>

const byTime = (a: ExportedRecord, b: ExportedRecord): number =>
  (a.at ?? Number.POSITIVE_INFINITY) - (b.at ?? Number.POSITIVE_INFINITY) || 0

/**
 * Collects the subjects' records from every store, at most `limitPerStore` per store (all subjects together).
 *
 * @since 0.1.0
 * @category export
 */
export const collect = (
  stores: ReadonlyArray<SubjectStore>,
  subjects: ReadonlyArray<Subject>,
  options: { readonly limitPerStore: number }
): Effect.Effect<Collected, StoreUnavailable> => {
  const limit = Math.max(0, Math.floor(options.limitPerStore))
  return Effect.forEach(stores, (store) =>
    Effect.forEach(subjects, (subject) => store.export(subject, { limit: limit + 1 })).pipe(
      Effect.map((perSubject): StoreRecords => {
        const all = perSubject.flat().sort(byTime)
        return {
          store: store.name,
          kinds: store.kinds,
          retained: store.retained,
          records: all.slice(0, limit),
          truncated: all.length > limit
        }
      })
    )
  )
}

const jsonSafe = (_key: string, value: unknown): unknown => (typeof value === "bigint" ? value.toString() : value)

const isoTime = (at: number): string | undefined => {
  const date = new Date(at)
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString()
}

/**
 * The export as one JSON document (pretty-printed; send it as UTF-8): a header naming the subjects (digests, see
 * `Report.digest`), the time of the export, and for each store its name, subject kinds, number of records,
 * whether it was truncated and what it retains after an erasure; then the records of each store.
 *
 * @since 0.1.0
 * @category export
 */
export const toJson = (subjects: ReadonlyArray<string>, collected: Collected, at: number): string =>
  JSON.stringify(
    {
      header: {
        format: "openaudience/dsar-export",
        version: 1,
        generatedAt: isoTime(at),
        subjects,
        stores: collected.map((entry) => ({
          name: entry.store,
          kinds: entry.kinds,
          records: entry.records.length,
          truncated: entry.truncated,
          retained: entry.retained.map(({ what, why }) => ({ what, why }))
        }))
      },
      stores: Object.fromEntries(
        collected.map((entry) => [
          entry.store,
          entry.records.map((record) => ({
            kind: record.kind,
            ...(record.at === undefined ? {} : { at: record.at, time: isoTime(record.at) }),
            fields: record.fields
          }))
        ])
      )
    },
    jsonSafe,
    2
  )

const formulaStart = /^[=+\-@\t\r]/

/**
 * One CSV cell's text before quoting: text starting with `=`, `+`, `-`, `@`, tab or carriage return gets a
 * leading apostrophe; numbers and booleans as written by JavaScript; `null` and `undefined` empty; arrays and
 * objects as JSON text.
 *
 * @since 0.1.0
 * @category encoding
 */
export const cellText = (value: unknown): string => {
  if (value === null || value === undefined) return ""
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value)
  const text = typeof value === "string" ? value : (JSON.stringify(value, jsonSafe) ?? "")
  return formulaStart.test(text) ? `'${text}` : text
}

const quote = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text)

/**
 * A CSV document (RFC 4180, CRLF line ends, no byte order mark) from rows of cells (see `cellText`).
 *
 * @since 0.1.0
 * @category encoding
 */
export const toCsv = (rows: ReadonlyArray<ReadonlyArray<unknown>>): string =>
  rows.map((row) => `${row.map((cell) => quote(cellText(cell))).join(",")}\r\n`).join("")

const fileName = (text: string): string => text.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80) || "_"

const readme = (
  collected: Collected,
  files: ReadonlyArray<{ name: string; store: string; kind: string }>,
  at: number
) =>
  [
    "Export of your data held by this OpenAudience deployment",
    `Generated: ${isoTime(at) ?? at}`,
    "",
    "One CSV file per store and kind of record (UTF-8, comma-separated, RFC 4180). The first row names the",
    "columns: `at` is the time of the record (UTC, ISO 8601) and the other columns are the record's fields;",
    "nested fields are written as JSON text. A text cell starting with =, +, -, @, a tab or a carriage return is",
    "written with a leading apostrophe so that a spreadsheet does not run it as a formula.",
    "",
    "Files:",
    ...files.map((file) => `- ${file.name}: store ${file.store}, records of kind ${file.kind}`),
    "",
    "Stores:",
    ...collected.flatMap((entry) => [
      `- ${entry.store}: ${entry.records.length} record(s)${entry.truncated ? " (the first ones only: the store holds more)" : ""}`,
      ...entry.retained.map((retained) => `  kept after an erasure: ${retained.what} (${retained.why})`)
    ]),
    ""
  ].join("\r\n")

/**
 * The export as a ZIP archive: one CSV file per store and record kind (`<store>-<kind>.csv`) and a README.txt
 * explaining them; `at` is the time of the export (the archive's file times).
 *
 * @since 0.1.0
 * @category export
 */
export const toCsvZip = (collected: Collected, at: number): Uint8Array => {
  const entries: Record<string, Uint8Array> = {}
  const files: Array<{ name: string; store: string; kind: string }> = []
  const used = new Set<string>(["readme.txt"])
  for (const entry of collected) {
    const byKind = new Map<string, Array<ExportedRecord>>()
    for (const record of entry.records) {
      const list = byKind.get(record.kind) ?? []
      list.push(record)
      byKind.set(record.kind, list)
    }
    for (const [kind, records] of byKind) {
      const columns: Array<string> = []
      const seen = new Set<string>()
      for (const record of records) {
        for (const key of Object.keys(record.fields)) {
          if (!seen.has(key)) {
            seen.add(key)
            columns.push(key)
          }
        }
      }
      const rows: Array<ReadonlyArray<unknown>> = [
        ["at", ...columns],
        ...records.map((record) => [
          record.at === undefined ? undefined : (isoTime(record.at) ?? record.at),
          ...columns.map((column) => record.fields[column])
        ])
      ]
      const base = fileName(`${entry.store}-${kind}`)
      let name = `${base}.csv`
      for (let n = 2; used.has(name.toLowerCase()); n++) name = `${base}-${n}.csv`
      used.add(name.toLowerCase())
      files.push({ name, store: entry.store, kind })
      entries[name] = strToU8(`\uFEFF${toCsv(rows)}`)
    }
  }
  entries["README.txt"] = strToU8(readme(collected, files, at))
  return zipSync(entries, { mtime: Math.max(at, Date.UTC(1980, 0, 2)) })
}
