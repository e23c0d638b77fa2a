/**
 * What commands print on stdout: with `--json`, one JSON value and nothing else (so scripts can pipe it into
 * `jq`); without, lines and tables for a person. Times are ISO 8601 (UTC) in both.
 */
import type { TenancyStore } from "@openaudience/tenancy"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

/** An epoch-milliseconds time as ISO 8601, or `null`. */
export const time = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/** A tenant as printed. */
export const tenantJson = (tenant: TenancyStore.Tenant) => ({
  id: tenant.id,
  name: tenant.name,
  createdAt: time(tenant.createdAt)
})

/** A site as printed. */
export const siteJson = (site: TenancyStore.Site) => ({
  siteKey: site.siteKey,
  tenant: site.tenant,
  origins: site.origins,
  urlParams: site.urlParams,
  policy: site.policy,
  cookieless: site.cookieless,
  childDirected: site.childDirected,
  createdAt: time(site.createdAt),
  updatedAt: time(site.updatedAt)
})

/** A key as printed: the listed fields only, whatever else the record carries (never a digest). */
export const keyJson = (key: TenancyStore.ApiKey) => ({
  id: key.id,
  tenant: key.tenant,
  role: key.role,
  partner: key.partner,
  prefix: key.prefix,
  createdAt: time(key.createdAt),
  expiresAt: time(key.expiresAt),
  revokedAt: time(key.revokedAt),
  lastUsedAt: time(key.lastUsedAt)
})

/** Columns padded to their widest cell, headers first; `-` for an empty cell. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | null>>): string => {
  const cells = [headers, ...rows.map((row) => row.map((cell) => (cell === null || cell === "" ? "-" : cell)))]
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)))
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd()
    )
    .join("\n")
}

/** `label: value` lines, labels aligned. */
export const fields = (pairs: ReadonlyArray<readonly [string, string | null]>): string => {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value ?? "-"}`).join("\n")
}

/** Prints `value` as JSON when `json`, else the text `human` gives. */
export const print = (json: boolean, value: unknown, human: () => string): Effect.Effect<void> =>
  Console.log(json ? JSON.stringify(value, null, 2) : human())

/** Sites as a table. */
export const siteTable = (sites: ReadonlyArray<TenancyStore.Site>): string =>
  table(
    ["SITE KEY", "ORIGINS", "PARAMS", "COOKIELESS", "CHILD-DIRECTED"],
    sites.map((site) => [
      site.siteKey,
      site.origins.join(","),
      site.urlParams === null ? "(default)" : site.urlParams.join(","),
      String(site.cookieless),
      String(site.childDirected)
    ])
  )

/** Keys as a table (never the key, never its digest). */
export const keyTable = (keys: ReadonlyArray<TenancyStore.ApiKey>): string =>
  table(
    ["ID", "PREFIX", "ROLE", "PARTNER", "CREATED", "EXPIRES", "REVOKED", "LAST USED"],
    keys.map((key) => [
      key.id,
      key.prefix,
      key.role,
      key.partner,
      time(key.createdAt),
      time(key.expiresAt),
      time(key.revokedAt),
      time(key.lastUsedAt)
    ])
  )

const ansi = /\x1b\[[0-9;]*m/g

/** Whether a stream shows colours: a terminal, and `NO_COLOR` unset (https://no-color.org). */
const colours = (stream: NodeJS.WriteStream): boolean => stream.isTTY === true && process.env.NO_COLOR === undefined

const plain = (args: ReadonlyArray<unknown>, keep: boolean): ReadonlyArray<unknown> =>
  keep ? args : args.map((arg) => (typeof arg === "string" ? arg.replace(ansi, "") : arg))

/**
 * Runs `effect` with a console that drops the colours of @effect/cli's help and usage errors on a stream that is
 * not a terminal (a file, a pipe), so `openaudience --help > usage.txt` reads as text.
 */
export const withPlainConsole = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Console.consoleWith((console) =>
    Effect.withConsole(effect, {
      ...console,
      log: (...args) => console.log(...plain(args, colours(process.stdout))),
      error: (...args) => console.error(...plain(args, colours(process.stderr)))
    })
  )
