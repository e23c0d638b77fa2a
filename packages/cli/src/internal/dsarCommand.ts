/**
 * `openaudience dsar export|erase|status|report`: data-subject requests answered from the command line, through
 * @openaudience/dsar's `Dsar` service assembled as the server assembles it (`dsarService.ts`). Subjects are given as
 * `--visitor PSEUDONYM`, `--user USER_ID` and `--browser BROWSER_KEY` (each repeatable) of `--tenant`.
 *
 * - `export` submits an access request, reads every registered store's records of the subjects, writes them (JSON on
 *   stdout, or JSON or a ZIP of CSV files to `--out`), and completes the request.
 * - `erase` submits an erasure and processes it: erased from every store, verified, and a signed report stored and
 *   printed. A legal hold defers it (exit code 3); a store out of reach leaves it in progress (exit code 4), retried by
 *   the server's worker or by `erase --request ID`.
 * - `status` lists a tenant's requests or shows one (never a subject's identifier: only how many subjects).
 * - `report` prints a completed erasure's signed report; `--verify` checks its signature with the public key of the
 *   server's secret, and `--file` checks a report file someone holds.
 *
 * Before an export or an erasure the live database schema is checked against the registry, as the server checks it
 * at start: a table holding subject data that no store covers would be missed, so the command refuses.
 */
import { writeFileSync } from "node:fs"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { Dsar, Export, Registry, Report, Request, Subject } from "@openaudience/dsar"
import { SqlSubjectStores } from "@openaudience/storage-sql"
import { TenancyStore } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { invalid, readText } from "./adsFailure.js"
import type { CommandError } from "./errors.js"
import { actor, type DsarLayer, withDsar } from "./dsarService.js"
import * as Shared from "./options.js"
import * as Output from "./output.js"
import * as Progress from "./progress.js"
import { Unsuccessful } from "./report.js"

/** Exit code of an erasure deferred by a legal hold. */
export const heldExitCode = 3

/** Exit code of an export or erasure that a store out of reach stopped (the request stays open). */
export const unreachableExitCode = 4

/** Records per store an export holds at most (the service's default). */
const exportLimit = 100_000

/** Repeatable and optional (shown `[--name VALUE...]` in the usage); absent: an empty list. */
const repeatedOptional = (option: Options.Options<string>): Options.Options<ReadonlyArray<string>> =>
  option.pipe(Options.repeated, Options.optional, Options.map(Option.getOrElse(() => [])))

const subjectOptions = {
  visitor: Options.text("visitor").pipe(
    Options.withPseudoName("PSEUDONYM"),
    Options.withDescription("A visitor, by the tenant's pseudonym (the `visitor` of its events); repeat for more."),
    repeatedOptional
  ),
  user: Options.text("user").pipe(
    Options.withPseudoName("USER_ID"),
    Options.withDescription("An application user, by id (usr_…); repeat for more."),
    repeatedOptional
  ),
  browser: Options.text("browser").pipe(
    Options.withPseudoName("BROWSER_KEY"),
    Options.withDescription("A browser, by the tenant's browser key (ad_browser_links.browser_key); repeat for more."),
    repeatedOptional
  )
}

interface SubjectInput {
  readonly visitor: ReadonlyArray<string>
  readonly user: ReadonlyArray<string>
  readonly browser: ReadonlyArray<string>
}

const subjectsOf = (tenant: string, input: SubjectInput): ReadonlyArray<Subject.Subject> => [
  ...input.visitor.map((visitor) => new Subject.Visitor({ tenant, visitor })),
  ...input.user.map((user) => new Subject.User({ tenant, user })),
  ...input.browser.map((browser) => new Subject.Browser({ tenant, browser }))
]

const noSubjects = invalid(
  "--visitor",
  "name the subjects: --visitor PSEUDONYM, --user USER_ID or --browser BROWSER_KEY"
)

const requestId = Options.text("id").pipe(
  Options.withPseudoName("ID"),
  Options.withDescription("The request's id (dsr_…).")
)

/** Fails with `not found` when the tenant does not exist (a typo would otherwise file a request nobody sees). */
const tenantExists = (tenant: string) => Effect.flatMap(TenancyStore.TenancyStore, (store) => store.getTenant(tenant))

/** The registry's stores, after the live schema was checked against them. */
const checkedStores = Effect.gen(function* () {
  const { stores } = yield* Registry.Registry
  yield* SqlSubjectStores.check({ stores })
  return stores
})

/** Every failure of the service and the registry met here, as the line (and exit code) the user gets. */
type DsarFailure =
  | Request.DsarError
  | Dsar.ProcessError
  | Registry.StoreUnavailable
  | Registry.UnregisteredTable
  | Unsuccessful

const line = (error: Exclude<DsarFailure, Unsuccessful>): Unsuccessful => {
  switch (error._tag) {
    case "DsarError":
      return new Unsuccessful({
        message:
          error.reason === "NotFound"
            ? `not found: ${error.message}`
            : error.reason === "Held"
              ? error.message
              : `${error.reason === "InvalidRequest" ? "invalid request" : "refused"}: ${error.message}`,
        ...(error.reason === "Held" ? { exitCode: heldExitCode } : {})
      })
    case "DsarStoreError":
      return new Unsuccessful({
        message:
          error.reason === "NotFound"
            ? `not found: ${error.message}`
            : error.reason === "Conflict"
              ? `conflict (another process changed the request; run the command again): ${error.message}`
              : `the database is unavailable, try again: ${error.message}`
      })
    case "ErasureFailed":
      return new Unsuccessful({ message: error.message, exitCode: unreachableExitCode })
    case "StoreUnavailable":
      return new Unsuccessful({
        message: `store ${error.store} is out of reach: ${error.message}`,
        exitCode: unreachableExitCode
      })
    case "UnregisteredTable":
      return new Unsuccessful({
        message: `refused: ${error.message}. Register a store for them (@openaudience/dsar Registry) first.`
      })
  }
}

const isDsarFailure = (error: unknown): error is Exclude<DsarFailure, Unsuccessful> =>
  typeof error === "object" &&
  error !== null &&
  "_tag" in error &&
  ["DsarError", "DsarStoreError", "ErasureFailed", "StoreUnavailable", "UnregisteredTable"].includes(
    (error as { readonly _tag: string })._tag
  )

/** Turns the service's failures of `effect` into `Unsuccessful` lines; the others go on as they were. */
const described = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchIf(effect, isDsarFailure, (error) => Effect.fail(line(error))) as Effect.Effect<
    A,
    Exclude<E, Exclude<DsarFailure, Unsuccessful>> | Unsuccessful,
    R
  >

/** A request as listed: never a subject's identifier, only how many. */
const requestJson = (request: Request.Request) => ({
  id: request.id,
  tenant: request.tenant,
  type: request.type,
  status: request.status,
  regime: request.regime,
  receivedAt: Output.time(request.receivedAt),
  dueAt: Output.time(request.dueAt),
  completedAt: Output.time(request.completedAt ?? null),
  subjects: request.subjects.length
})

const requestTable = (requests: ReadonlyArray<Request.Request>): string =>
  Output.table(
    ["ID", "TYPE", "STATUS", "RECEIVED", "DUE", "SUBJECTS"],
    requests.map((request) => [
      request.id,
      request.type,
      request.status,
      Output.time(request.receivedAt),
      Output.time(request.dueAt),
      String(request.subjects.length)
    ])
  )

const historyJson = (request: Request.Request) =>
  request.history.map((step) => ({
    at: Output.time(step.at),
    from: step.from,
    to: step.to,
    action: step.action,
    actor: step.actor,
    note: step.note ?? null
  }))

/** Writes `content` to `path`, readable by its owner only (personal data). */
const writeOut = (path: string, content: string | Uint8Array) =>
  Effect.try({
    try: () => writeFileSync(path, content, { mode: 0o600 }),
    catch: (error) =>
      invalid("--out", `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`)
  })

const exportCommand = Command.make(
  "export",
  {
    tenant: Shared.tenant,
    ...subjectOptions,
    out: Options.file("out").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription("Write the export to this file (mode 0600) instead of stdout."),
      Options.optional
    ),
    format: Shared.choice(
      "format",
      ["json", "zip"],
      "json: one JSON document; zip: one CSV file per store and record kind (needs --out)."
    ).pipe(Options.withDefault("json" as const)),
    json: Shared.json
  },
  ({ format, json, out, tenant, ...input }) =>
    described(
      Effect.gen(function* () {
        const subjects = subjectsOf(tenant, input)
        if (subjects.length === 0) return yield* noSubjects
        if (format === "zip" && Option.isNone(out)) {
          return yield* invalid("--format", "zip is binary: write it to a file with --out FILE")
        }
        yield* tenantExists(tenant)
        const stores = yield* checkedStores
        const service = yield* Dsar.Dsar
        const request = yield* service.submit({
          tenant,
          type: "access",
          subjects,
          actor,
          note: "openaudience dsar export"
        })
        const collected = yield* service
          .collect(subjects, exportLimit)
          .pipe(Progress.withProgress("exporting", stores.length, subjects.length))
        const records = collected.reduce((sum, entry) => sum + entry.records.length, 0)
        const truncated = collected.filter((entry) => entry.truncated).map((entry) => entry.store)
        const at = yield* Clock.currentTimeMillis
        const document =
          format === "zip" ? Export.toCsvZip(collected, at) : Export.toJson(subjects.map(Report.digest), collected, at)
        if (Option.isSome(out)) yield* writeOut(out.value, document)
        const completed = yield* service.process(tenant, request.id, actor)
        for (const store of truncated) {
          yield* Console.error(
            `openaudience: store ${store} holds more than ${exportLimit} records of the subjects: the export has the first ${exportLimit}`
          )
        }
        const summary = { id: completed.id, status: completed.status, records, out: Option.getOrNull(out), truncated }
        if (json) {
          yield* Output.print(
            true,
            Option.isSome(out) ? summary : { ...summary, export: JSON.parse(document as string) },
            () => ""
          )
        } else if (Option.isSome(out)) {
          yield* Console.log(
            `Exported ${records} records to ${out.value} (request ${completed.id}, ${completed.status})`
          )
        } else {
          // The document alone on stdout, so it can be redirected to a file; the summary goes to stderr.
          yield* Console.log(document as string)
          yield* Console.error(`Exported ${records} records (request ${completed.id}, ${completed.status})`)
        }
      })
    )
).pipe(
  Command.withDescription(
    "Export what every store holds about the subjects (an access request, submitted and completed): JSON on stdout, or JSON or a ZIP of CSV files with --out."
  )
)

const eraseCommand = Command.make(
  "erase",
  {
    tenant: Shared.tenant,
    ...subjectOptions,
    request: Options.text("request").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription("Process this erasure request again (left in progress by a store out of reach)."),
      Options.optional
    ),
    json: Shared.json
  },
  ({ json, request: again, tenant, ...input }) =>
    Effect.gen(function* () {
      const subjects = subjectsOf(tenant, input)
      const service = yield* Dsar.Dsar
      const request = yield* described(
        Effect.gen(function* () {
          yield* tenantExists(tenant)
          if (Option.isSome(again)) {
            if (subjects.length > 0) {
              return yield* invalid("--request", "give either --request ID or the subjects, not both")
            }
            const found = yield* service.get(tenant, again.value)
            if (found.type !== "erasure" && found.type !== "child-removal") {
              return yield* invalid("--request", `request ${found.id} is an ${found.type} request, not an erasure`)
            }
            return found
          }
          if (subjects.length === 0) return yield* noSubjects
          return yield* service.submit({ tenant, type: "erasure", subjects, actor, note: "openaudience dsar erase" })
        })
      )
      const processed = yield* described(
        Effect.gen(function* () {
          if (request.status === "completed") return request
          const stores = yield* checkedStores
          return yield* service
            .process(tenant, request.id, actor)
            .pipe(Progress.withProgress("erasing", stores.length, request.subjects.length))
        })
      ).pipe(
        Effect.catchAll((error) =>
          Effect.gen(function* () {
            if (error._tag !== "Unsuccessful" || error.exitCode === undefined) return yield* Effect.fail(error)
            const now = yield* service.get(tenant, request.id).pipe(Effect.option)
            const status = Option.match(now, { onNone: () => request.status, onSome: (r) => r.status })
            if (json) yield* Output.print(true, { id: request.id, status, report: null }, () => "")
            const next =
              error.exitCode === heldExitCode
                ? "It stays in progress until the hold is released; the server then completes it"
                : "It stays in progress: it is retried by the server"
            return yield* new Unsuccessful({
              message: `request ${request.id} is not completed: ${error.message}. ${next}, or run \`openaudience dsar erase --tenant ${tenant} --request ${request.id}\``,
              exitCode: error.exitCode
            })
          })
        )
      )
      const signed = yield* described(service.report(tenant, processed.id))
      if (json) {
        yield* Output.print(true, { id: processed.id, status: processed.status, report: signed }, () => "")
      } else {
        // The signed report alone on stdout, so it can be saved and verified; the summary goes to stderr.
        yield* Console.log(JSON.stringify(signed, null, 2))
        const erased = signed.report.stores.reduce((sum, store) => sum + store.erased, 0)
        yield* Console.error(
          `Erased ${erased} rows from ${signed.report.stores.length} stores, verified (request ${processed.id}, ${processed.status})`
        )
      }
    })
).pipe(
  Command.withDescription(
    "Erase the subjects from every store (an erasure request, submitted and processed), verify it and print the signed report; exit code 3 when a legal hold defers it, 4 when a store is out of reach (the request stays in progress)."
  )
)

const statusCommand = Command.make(
  "status",
  {
    tenant: Shared.tenant,
    id: requestId.pipe(Options.optional),
    status: Shared.choice("status", Request.Status.literals, "Only the requests in this status.").pipe(
      Options.optional
    ),
    json: Shared.json
  },
  ({ id, json, status, tenant }) =>
    described(
      Effect.gen(function* () {
        yield* tenantExists(tenant)
        const service = yield* Dsar.Dsar
        if (Option.isSome(id)) {
          const request = yield* service.get(tenant, id.value)
          const history = historyJson(request)
          yield* Output.print(json, { ...requestJson(request), history }, () =>
            [
              Output.fields([
                ["id", request.id],
                ["type", request.type],
                ["status", request.status],
                ["regime", request.regime],
                ["received", Output.time(request.receivedAt)],
                ["due", Output.time(request.dueAt)],
                ["completed", Output.time(request.completedAt ?? null)],
                ["subjects", String(request.subjects.length)]
              ]),
              "",
              Output.table(
                ["AT", "FROM", "TO", "ACTION", "ACTOR", "NOTE"],
                history.map((step) => [step.at, step.from, step.to, step.action, step.actor, step.note])
              )
            ].join("\n")
          )
          return
        }
        const requests = yield* service.list(tenant, Option.getOrUndefined(status))
        yield* Output.print(json, requests.map(requestJson), () => requestTable(requests))
      })
    )
).pipe(Command.withDescription("List a tenant's data-subject requests (or show one with --id and its history)."))

const decodeSigned = Schema.decodeUnknownEither(Report.SignedFromJson)

/** A report file's signed report, or `invalid --file`. */
const fromFile = (path: string) =>
  Effect.flatMap(readText(path, 1024 * 1024), (text) =>
    decodeSigned(text).pipe(Effect.mapError(() => invalid("--file", `${path} is not a signed erasure report`)))
  )

const reportCommand = Command.make(
  "report",
  {
    tenant: Shared.tenant,
    id: requestId.pipe(Options.optional),
    file: Options.file("file").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription("Read the signed report from this file (one printed by `dsar erase`) instead of --id."),
      Options.optional
    ),
    verify: Options.boolean("verify").pipe(
      Options.withDescription(
        "Check the signature with the public key of the server's secret; exit code 1 when it is invalid."
      )
    ),
    json: Shared.json
  },
  ({ file, id, json, tenant, verify }) =>
    described(
      Effect.gen(function* () {
        const service = yield* Dsar.Dsar
        const signed = yield* Option.match(file, {
          onSome: (path) =>
            Option.isSome(id) ? Effect.fail(invalid("--file", "give either --id or --file, not both")) : fromFile(path),
          onNone: () =>
            Option.match(id, {
              onNone: () => Effect.fail(invalid("--id", "name the request (--id ID) or a report file (--file FILE)")),
              onSome: (id) => Effect.zipRight(tenantExists(tenant), service.report(tenant, id))
            })
        })
        if (signed.report.tenant !== tenant) {
          return yield* invalid("--file", `the report is of tenant ${signed.report.tenant}, not ${tenant}`)
        }
        if (!verify) {
          yield* Output.print(json, signed, () => JSON.stringify(signed, null, 2))
          return
        }
        const key = service.publicJwk
        const valid = Report.verify(signed, key)
        yield* Output.print(json, { valid, kid: key.kid, report: signed }, () =>
          Output.fields([
            ["request", signed.report.requestId],
            ["tenant", signed.report.tenant],
            ["completed", Output.time(signed.report.completedAt)],
            ["stores", String(signed.report.stores.length)],
            ["erased", String(signed.report.stores.reduce((sum, store) => sum + store.erased, 0))],
            ["signature", valid ? `valid (key ${key.kid})` : "INVALID"]
          ])
        )
        if (!valid) {
          return yield* new Unsuccessful({
            message: `the report's signature is invalid: it was altered, or not signed with this server's key (${key.kid})`
          })
        }
      })
    )
).pipe(
  Command.withDescription(
    "Print a completed erasure's signed report; --verify checks its signature with the public key of the server's secret."
  )
)

/** `openaudience dsar …`. */
export const command: Command.Command<
  "dsar",
  DsarLayer,
  CommandError,
  // Its input is the union of every subcommand's; named here only for the declaration file.
  { readonly subcommand: Option.Option<any> }
> = Command.make("dsar").pipe(
  Command.withDescription(
    "Answer data-subject requests: export or erase a visitor's, user's or browser's data, list requests, print and verify signed erasure reports."
  ),
  Command.withSubcommands([
    withDsar(exportCommand),
    withDsar(eraseCommand),
    withDsar(statusCommand),
    withDsar(reportCommand)
  ])
)
