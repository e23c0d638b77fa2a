/**
 * A strict scanner for raw personal data left behind: it dumps every row of every table of a database (SQLite or
 * PostgreSQL), every file of a data folder and every line a process logged, and looks in all of it for given raw
 * values (IP addresses, user agents, first-party ids, phone and card numbers, tokens, names) and for any email
 * address at all.
 *
 * Strict means it looks harder than a leak would need: case-insensitively; in each text as stored, JSON-decoded
 * (so escaping hides nothing) and percent-decoded up to three times (with `+` read as a space too); phone and
 * card numbers by their digits inside any run of digits and separators, however they are formatted. The one
 * allowance: an IPv4 address must not be part of a longer number (`1.2.3.4` is not found in `11.2.3.45`).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as Effect from "effect/Effect"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import type { Haystack } from "../../../../packages/collector/test/support/piiScan.js"

// The scanner itself, and the log capture, are the collector package's (its tests scan what a collector keeps).
export {
  captureLogs,
  describeFindings,
  type Finding,
  type Haystack,
  type LogCapture,
  logHaystacks,
  type Match,
  type Needle,
  scan
} from "../../../../packages/collector/test/support/piiScan.js"

// ---------------------------------------------------------------------------------------------------------------
// Sources: database tables and files
// ---------------------------------------------------------------------------------------------------------------

/** Every string inside a JSON value, keys included. */
const stringsOf = (value: unknown, out: Array<string>): void => {
  if (typeof value === "string") out.push(value)
  else if (Array.isArray(value)) for (const item of value) stringsOf(item, out)
  else if (typeof value === "object" && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      out.push(key)
      stringsOf(item, out)
    }
  }
}

/** The texts of one stored value: itself and, when it is (or holds) JSON, every string inside it. */
const cellTexts = (value: unknown): Array<string> => {
  if (value === null || value === undefined) return []
  if (typeof value === "string") {
    const texts = [value]
    const trimmed = value.trimStart()
    if (trimmed.startsWith("{") || trimmed.startsWith("[") || trimmed.startsWith('"')) {
      try {
        stringsOf(JSON.parse(value), texts)
      } catch {
        // Not JSON: the text itself is searched.
      }
    }
    return texts
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return [String(value)]
  if (value instanceof Date) return [value.toISOString()]
  if (value instanceof Uint8Array) return [Buffer.from(value).toString("utf8"), Buffer.from(value).toString("latin1")]
  const texts = [JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? String(v) : v))]
  stringsOf(value, texts)
  return texts
}

/** What a database holds: the tables found, their row counts and every value as haystacks. */
export interface DatabaseDump {
  readonly tables: ReadonlyArray<string>
  readonly rows: Readonly<Record<string, ReadonlyArray<Record<string, unknown>>>>
  readonly haystacks: ReadonlyArray<Haystack>
}

/**
 * Dumps every row of every table (and view) of the database: on SQLite all of `sqlite_master`, on PostgreSQL
 * every table of `schema` in `information_schema.tables`.
 */
export const dumpDatabase = (
  target: { readonly dialect: "sqlite" } | { readonly dialect: "pg"; readonly schema: string }
): Effect.Effect<DatabaseDump, unknown, SqlClient.SqlClient> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tables =
      target.dialect === "sqlite"
        ? (yield* sql<{
            name: string
          }>`SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name`).map((row) => row.name)
        : (yield* sql<{ table_name: string }>`
            SELECT table_name FROM information_schema.tables WHERE table_schema = ${target.schema} ORDER BY table_name
          `).map((row) => row.table_name)
    const rows: Record<string, ReadonlyArray<Record<string, unknown>>> = {}
    const haystacks: Array<Haystack> = []
    for (const table of tables) {
      const all =
        target.dialect === "sqlite"
          ? yield* sql<Record<string, unknown>>`SELECT * FROM ${sql(table)}`
          : yield* sql<Record<string, unknown>>`SELECT * FROM ${sql(target.schema)}.${sql(table)}`
      rows[table] = all
      all.forEach((row, i) => {
        for (const [column, value] of Object.entries(row)) {
          haystacks.push({ where: `table ${table} column ${column}`, text: column })
          for (const text of cellTexts(value))
            haystacks.push({ where: `table ${table} row ${i} column ${column}`, text })
        }
      })
    }
    return { tables, rows, haystacks }
  })

/** Every file under a folder, read as text (UTF-8 and Latin-1, so no byte sequence hides a value). */
export const fileHaystacks = (dir: string): Array<Haystack> => {
  const out: Array<Haystack> = []
  const walk = (path: string, name: string) => {
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) walk(join(path, entry), name === "" ? entry : `${name}/${entry}`)
      return
    }
    const bytes = readFileSync(path)
    out.push(
      { where: `file ${name}`, text: bytes.toString("utf8") },
      { where: `file ${name}`, text: bytes.toString("latin1") }
    )
  }
  walk(dir, "")
  return out
}
