/**
 * The failures of the ads commands (`campaign`, `catalog`) as the one line a user reads: the stores' errors of
 * @openaudience/ad-selector and @openaudience/catalog become `Unsuccessful` with a message naming the option at
 * fault, after the audit log recorded them with their own reason.
 */
import type { AdLog, CampaignStore, Stats } from "@openaudience/ad-selector"
import type { CatalogStore, Feed } from "@openaudience/catalog"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import { readFileSync, statSync } from "node:fs"
import { Unsuccessful } from "./report.js"

/** Something the command was asked about does not exist (a campaign id of another tenant, or of none). */
export class Missing extends Data.TaggedError("Missing")<{ readonly reason: "NotFound"; readonly message: string }> {}

/** A file or option the command cannot use: `invalid --option: why`. */
export const invalid = (option: string, message: string): Unsuccessful =>
  new Unsuccessful({ message: `invalid ${option}: ${message}` })

/** Every failure of the ads stores and rules the commands meet. */
export type AdsFailure =
  | CampaignStore.CampaignStoreError
  | CatalogStore.CatalogError
  | AdLog.AdLogError
  | Stats.StatsError
  | Feed.FeedError
  | Missing

const line = (error: AdsFailure): string => {
  if (error._tag === "Missing") return `not found: ${error.message}`
  if (error.reason === "Unavailable") return `the database is unavailable, try again: ${error.message}`
  switch (error._tag) {
    case "CampaignStoreError":
      return error.reason === "Conflict" ? `conflict: ${error.message}` : `campaigns: ${error.message}`
    case "CatalogError":
      return error.reason === "InvalidInput" ? `invalid --file: ${error.message}` : `catalog: ${error.message}`
    case "FeedError":
      return `invalid --file: ${error.message}`
    case "AdLogError":
      return `ad log: ${error.message}`
    case "StatsError":
      return `statistics: ${error.message}`
  }
}

/** Turns the ads failures of `effect` into `Unsuccessful` lines; the others go on as they were. */
export const described = <A, E, R>(
  effect: Effect.Effect<A, E, R>
): Effect.Effect<A, Exclude<E, AdsFailure> | Unsuccessful, R> =>
  Effect.catchIf(
    effect,
    (error): error is Extract<E, AdsFailure> =>
      typeof error === "object" &&
      error !== null &&
      "_tag" in error &&
      ["CampaignStoreError", "CatalogError", "AdLogError", "StatsError", "FeedError", "Missing"].includes(
        (error as { readonly _tag: string })._tag
      ),
    (error) => Effect.fail(new Unsuccessful({ message: line(error) }))
  ) as Effect.Effect<A, Exclude<E, AdsFailure> | Unsuccessful, R>

/**
 * The text of the file `path` (`--file`), refused with `invalid --file` when it cannot be read or is larger than
 * `maxBytes` (checked before reading it).
 */
export const readText = (path: string, maxBytes: number): Effect.Effect<string, Unsuccessful> =>
  Effect.try({
    try: () => {
      const size = statSync(path).size
      return size > maxBytes ? undefined : readFileSync(path, "utf8")
    },
    catch: (error) =>
      invalid("--file", `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  }).pipe(
    Effect.flatMap((text) =>
      text === undefined
        ? Effect.fail(invalid("--file", `${path} is larger than ${maxBytes} bytes`))
        : Effect.succeed(text)
    )
  )
