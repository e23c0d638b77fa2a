/**
 * Partner reports: `GET /v1/reports/product-views` and `GET /v1/reports/conversions`, aggregates of the caller's
 * stored events by day, category, browser family, OS family, device class and country, safe to hand to advertisers,
 * publishers and partners.
 *
 * Only events whose stored consent receipt allows measurement are counted. Every number is judged by distinct
 * pseudonymous visitors: an event stored without a visitor key (identifier-free) adds to `count` but to no
 * `visitors`, so a cell made only of such events has 0 known visitors and is withheld. (Counting each of them as
 * its own visitor would let one person's many identifier-free events pass for a crowd.)
 *
 * Without `epsilon` the report is k-anonymous: the cells and the totals over every coarser breakdown (the grand
 * total, per day, per category, …) are computed from the same rows and go through one `Report.kAnonymize` call,
 * so no published total, nor any number of a coarser report over the same range, minus the published cells it
 * covers leaves a remainder of fewer than k visitors, and no withheld cell can be solved for from what one report
 * publishes. What k-anonymity does not cover (reports over different or overlapping date ranges) is what `epsilon`
 * is for. With it the report is differentially private: the (tenant, partner) budget is charged before any data is
 * read (so a refusal by data size, or any other answer, is paid for), then per-visitor rows are aggregated with
 * contribution bounds over a public domain of dimension values and noise is added.
 * Identifier-free events are left out of private reports: with no visitor key their contribution cannot be bounded.
 *
 * The rows come from storage-sql's `EventReports`, the budget from its `SqlPrivacyBudget`; this module parses the
 * request, publishes with anonymizer's `Report`, and answers.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import type * as SqlClient from "@effect/sql/SqlClient"
import { Noise, PrivacyBudget, Report, SecureRandom, UserAgent } from "@openaudience/anonymizer"
import { EventReports, type StorageError } from "@openaudience/storage-sql"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Problem from "./Problem.js"

/** The reports and the event type each counts. */
export const reports = { "product-views": "product_view", conversions: "conversion" } as const satisfies Record<
  string,
  EventReports.ReportedType
>

export type ReportName = keyof typeof reports

/** The dimensions a report may be broken down by. */
export const dimensions = EventReports.dimensions

export type Dimension = EventReports.Dimension

/** The tenant floor of k: no report publishes a number describing fewer distinct visitors. */
export const minK = Report.DefaultK
/** The longest range, in days. */
export const maxDays = 366
/** The most dimensions one report may be broken down by (each subset is also published as totals). */
export const maxDimensions = 4
/** The largest ε one report may spend. */
export const maxEpsilon = 1
/** The largest δ one Gaussian report may spend. */
export const maxDelta = 1e-3
/** The most (visitor, dimensions) rows one report may read; a wider range is refused. */
export const maxRows = 1_000_000
/** The largest public domain (product of the dimension domains) a private report may cover. */
export const maxDomainCells = 250_000

/** A report query refused, with the parameter at fault. */
export class ReportQueryError extends Schema.TaggedError<ReportQueryError>()("ReportQueryError", {
  field: Schema.String,
  detail: Schema.String
}) {}

/** The differential-privacy part of a query. */
export interface Privacy {
  readonly mechanism: Noise.Mechanism
  readonly partner: string
  readonly bounds: Report.Bounds
  /** The public category domain (the catalogue's), when `by` has `category`. */
  readonly categories: ReadonlyArray<string> | undefined
}

/** A parsed report query. */
export interface Query {
  readonly report: ReportName
  readonly from: string
  readonly to: string
  /** First millisecond of `from` and first millisecond after `to` (UTC). */
  readonly fromMs: number
  readonly toMs: number
  readonly by: ReadonlyArray<Dimension>
  readonly k: number
  readonly privacy: Privacy | undefined
}

type Params = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

const dayMs = 86_400_000
const known = new Set([
  "from",
  "to",
  "by",
  "k",
  "epsilon",
  "mechanism",
  "delta",
  "partner",
  "contribution",
  "maxCells",
  "categories"
])

const decimal = /^(?:\d{1,12}(?:\.\d{0,20})?|\.\d{1,20})(?:[eE][-+]?\d{1,3})?$/
const partnerPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10)

const parseDay = (text: string): number | undefined => {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (match === null) return undefined
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
  return isoDay(ms) === text ? ms : undefined
}

const integerIn = (text: string, min: number, max: number): number | undefined => {
  if (!/^\d{1,9}$/.test(text)) return undefined
  const n = Number(text)
  return n >= min && n <= max ? n : undefined
}

/** Values of each dimension a private report covers, whatever the data holds (the public domain). */
export const publicDomain = (
  dimension: Dimension,
  query: Pick<Query, "fromMs" | "toMs"> & { readonly privacy?: Pick<Privacy, "categories"> | undefined }
): ReadonlyArray<string> => {
  switch (dimension) {
    case "day": {
      const days: Array<string> = []
      for (let ms = query.fromMs; ms < query.toMs; ms += dayMs) days.push(isoDay(ms))
      return days
    }
    case "category":
      return unique([...(query.privacy?.categories ?? []), "other", "unknown"])
    case "browser":
      return [...UserAgent.browserFamilies, "other", "unknown"]
    case "os":
      return [...UserAgent.osFamilies, "other", "unknown"]
    case "device":
      return ["desktop", "mobile", "tablet", "other", "unknown"]
    case "country":
      return ["EU", "US", "other", "unknown"]
  }
}

const unique = (values: ReadonlyArray<string>): Array<string> => [...new Set(values)]

/** Parses and checks a report query; every refusal names its parameter. */
export const parse = (report: string | undefined, params: Params): Either.Either<Query, ReportQueryError> => {
  const fail = (field: string, detail: string) => Either.left(new ReportQueryError({ field, detail }))
  if (report === undefined || !Object.hasOwn(reports, report)) {
    return fail("report", `no such report: use ${Object.keys(reports).join(" or ")}`)
  }
  const values: Record<string, string> = {}
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined) continue
    if (!known.has(name)) return fail(name, `unknown parameter; expected one of ${[...known].join(", ")}`)
    if (typeof value !== "string") return fail(name, "given more than once")
    values[name] = value
  }

  const fromMs = values.from === undefined ? undefined : parseDay(values.from)
  if (fromMs === undefined) return fail("from", "expected a date YYYY-MM-DD (the first UTC day, inclusive)")
  const toDay = values.to === undefined ? undefined : parseDay(values.to)
  if (toDay === undefined) return fail("to", "expected a date YYYY-MM-DD (the last UTC day, inclusive)")
  if (toDay < fromMs) return fail("to", "must not be before from")
  const days = (toDay - fromMs) / dayMs + 1
  if (days > maxDays) return fail("to", `the range covers ${days} days; at most ${maxDays}`)
  const toMs = toDay + dayMs

  const by: Array<Dimension> = []
  for (const name of (values.by ?? "day").split(",")) {
    const dimension = dimensions.find((d) => d === name.trim())
    if (dimension === undefined) return fail("by", `expected a comma list of ${dimensions.join(", ")}`)
    if (by.includes(dimension)) return fail("by", `${dimension} is given twice`)
    by.push(dimension)
  }
  if (by.length > maxDimensions) return fail("by", `at most ${maxDimensions} dimensions`)

  const k = values.k === undefined ? minK : integerIn(values.k, 0, 100_000_000)
  if (k === undefined) return fail("k", "expected an integer")
  if (k < minK) return fail("k", `must be at least ${minK}, the tenant's floor`)

  const base = { report: report as ReportName, from: values.from!, to: values.to!, fromMs, toMs, by, k }
  if (values.epsilon === undefined) {
    for (const name of ["mechanism", "delta", "partner", "contribution", "maxCells", "categories"]) {
      if (values[name] !== undefined) return fail(name, "only for a differentially private report (give epsilon)")
    }
    return Either.right({ ...base, privacy: undefined })
  }

  const epsilon = decimal.test(values.epsilon) ? Number(values.epsilon) : Number.NaN
  if (!(epsilon > 0 && epsilon <= maxEpsilon)) return fail("epsilon", `expected a number > 0 and ≤ ${maxEpsilon}`)
  const mechanismName = values.mechanism ?? "laplace"
  let mechanism: Noise.Mechanism
  if (mechanismName === "laplace") {
    if (values.delta !== undefined) return fail("delta", "only for mechanism=gaussian")
    mechanism = { _tag: "Laplace", epsilon }
  } else if (mechanismName === "gaussian") {
    if (values.delta === undefined) return fail("delta", "required for mechanism=gaussian")
    const delta = decimal.test(values.delta) ? Number(values.delta) : Number.NaN
    if (!(delta > 0 && delta <= maxDelta)) return fail("delta", `expected a number > 0 and ≤ ${maxDelta}`)
    mechanism = { _tag: "Gaussian", epsilon, delta }
  } else {
    return fail("mechanism", "expected laplace or gaussian")
  }
  const valid = Noise.validate(mechanism)
  if (Either.isLeft(valid)) return fail(valid.left.parameter, valid.left.detail)

  if (values.partner === undefined) return fail("partner", "required with epsilon: the budget is per partner")
  if (!partnerPattern.test(values.partner)) return fail("partner", "expected 1 to 64 letters, digits, '.', '_' or '-'")
  const contribution = values.contribution === undefined ? 1 : integerIn(values.contribution, 1, 100)
  if (contribution === undefined) return fail("contribution", "expected an integer from 1 to 100")
  const maxCells = values.maxCells === undefined ? 1 : integerIn(values.maxCells, 1, 1000)
  if (maxCells === undefined) return fail("maxCells", "expected an integer from 1 to 1000")

  let categories: Array<string> | undefined
  if (by.includes("category")) {
    if (values.categories === undefined) {
      return fail("categories", "required with epsilon and by=category: the public list of catalogue categories")
    }
    categories = values.categories.split(",")
    if (categories.length > 1000 || categories.some((c) => c.length === 0 || c.length > 128)) {
      return fail("categories", "expected 1 to 1000 comma-separated categories of 1 to 128 characters")
    }
    if (new Set(categories).size !== categories.length) return fail("categories", "a category is given twice")
  } else if (values.categories !== undefined) {
    return fail("categories", "only with by=category")
  }

  const privacy: Privacy = {
    mechanism,
    partner: values.partner,
    bounds: { maxContribution: contribution, maxCells },
    categories
  }
  const query: Query = { ...base, privacy }
  const size = by.reduce((n, dimension) => n * publicDomain(dimension, query).length, 1)
  if (size > maxDomainCells) {
    return fail("by", `a private report over these dimensions covers ${size} cells; at most ${maxDomainCells}`)
  }
  return Either.right(query)
}

/** One visitor's events (or the identifier-free events, `visitor: null`) in one combination of dimensions. */
export type Row = EventReports.Row

/** Reads the query's rows (measured events by visitor and dimensions); refuses more than `maxRows`. */
export const rows = (
  tenant: string,
  query: Query
): Effect.Effect<ReadonlyArray<Row>, StorageError | ReportQueryError, SqlClient.SqlClient> =>
  EventReports.rows({
    tenant,
    type: reports[query.report],
    from: query.fromMs,
    to: query.toMs,
    by: query.by,
    maxRows
  }).pipe(
    Effect.catchTag("TooManyRows", (error) =>
      Effect.fail(new ReportQueryError({ field: "from", detail: error.message }))
    )
  )

/** What a report publishes of a cell: how many networks it spans is only used to decide whether it may be. */
const publish = (cell: Report.Cell) => ({ dimensions: cell.dimensions, count: cell.count, visitors: cell.visitors })

/**
 * The k-anonymous report body. Each row carries its network (the stored truncated address), so a cell needs k
 * visitors spread over k networks: visitor ids minted through the public pixel from one network do not count.
 */
export const kAnonymous = (query: Query, input: ReadonlyArray<Row>) => {
  const cells = Report.tabulate(input, query.by)
  const margins = Report.marginsOf(query.by).map((names) => ({ by: names, cells: Report.tabulate(input, names) }))
  const result = Report.kAnonymize(cells, { k: query.k, margins })
  return {
    cells: result.cells.map(publish),
    totals: result.margins.flatMap((margin) => margin.cells.map(publish)),
    suppressed: cells.length - result.cells.length,
    privacy: { mechanism: "none", epsilon: null, remainingEpsilon: null }
  }
}

/**
 * Charges the private report's (ε, δ) to the (tenant, partner) budget (after checking the options, so nothing is
 * spent on a malformed query). It runs before any data is read: what happens after it (a refusal for too many rows,
 * a failure) depends on the data, and must not be observable without paying for it.
 */
export const charge = (tenant: string, privacy: Privacy) =>
  Effect.gen(function* () {
    const options = yield* Report.validateOptions({ mechanism: privacy.mechanism, bounds: privacy.bounds })
    const budget = yield* PrivacyBudget.PrivacyBudget
    return yield* budget.charge(tenant, privacy.partner, Noise.costOf(options.mechanism))
  })

/**
 * The differentially private report body, once `charge` has paid for it: bounded per-visitor aggregation over the
 * public domain, then noise from `SecureRandom`.
 */
export const differentiallyPrivate = (tenant: string, query: Query, privacy: Privacy, input: ReadonlyArray<Row>) =>
  Effect.gen(function* () {
    const domain = query.by.map((dimension) => [dimension, publicDomain(dimension, query)] as const)
    const inDomain = new Map(domain.map(([dimension, values]) => [dimension, new Set(values)]))
    const contributions: Array<Report.Contribution> = []
    for (const row of input) {
      if (row.visitor === null) continue
      const dims: Record<string, string> = {}
      for (const dimension of query.by) {
        const value = row.dimensions[dimension] ?? "unknown"
        dims[dimension] = inDomain.get(dimension)!.has(value) ? value : "other"
      }
      contributions.push({ visitor: row.visitor, dimensions: dims, count: row.count })
    }
    const cells = Report.withDomain(Report.aggregate(contributions, query.by, privacy.bounds), domain)
    const random = yield* SecureRandom.SecureRandom
    const released = yield* Report.privatize(
      cells,
      { mechanism: privacy.mechanism, bounds: privacy.bounds, k: query.k },
      random.uniform
    )
    const budget = yield* PrivacyBudget.PrivacyBudget
    const remaining = yield* budget.remaining(tenant, privacy.partner)
    return {
      cells: released,
      totals: [],
      suppressed: cells.length - released.length,
      privacy: {
        mechanism: privacy.mechanism._tag === "Laplace" ? "laplace" : "gaussian",
        epsilon: privacy.mechanism.epsilon,
        delta: privacy.mechanism._tag === "Laplace" ? 0 : privacy.mechanism.delta,
        partner: privacy.partner,
        contribution: privacy.bounds.maxContribution,
        maxCells: privacy.bounds.maxCells,
        remainingEpsilon: remaining.epsilon,
        remainingDelta: remaining.delta
      }
    }
  })

const json = (body: unknown) => HttpServerResponse.unsafeJson(body, { headers: { "cache-control": "no-store" } })

/** Answers `GET /v1/reports/:report` for an authenticated tenant; refusals are problem details. */
export const respond = (
  tenant: string,
  report: string | undefined,
  params: Params
): Effect.Effect<
  HttpServerResponse.HttpServerResponse,
  StorageError,
  SqlClient.SqlClient | PrivacyBudget.PrivacyBudget
> =>
  Effect.gen(function* () {
    const query = yield* parse(report, params)
    // Paid for before the data is read (see `charge`).
    if (query.privacy !== undefined) yield* charge(tenant, query.privacy)
    const input = yield* rows(tenant, query)
    const body =
      query.privacy === undefined
        ? kAnonymous(query, input)
        : yield* differentiallyPrivate(tenant, query, query.privacy, input)
    return json({ report: query.report, from: query.from, to: query.to, by: query.by, k: query.k, ...body })
  }).pipe(
    Effect.catchTags({
      ReportQueryError: (error) =>
        Effect.succeed(
          error.field === "report"
            ? Problem.response(Problem.make("not-found", error.detail))
            : Problem.response(
                Problem.make("invalid-parameter", `${error.field}: ${error.detail}`, { field: error.field })
              )
        ),
      InvalidPrivacyParameter: (error) =>
        Effect.succeed(
          Problem.response(
            Problem.make("invalid-parameter", `${error.parameter}: ${error.detail}`, { field: error.parameter })
          )
        ),
      BudgetExhausted: (error) =>
        Effect.succeed(
          Problem.response(
            Problem.make(
              "privacy-budget-exhausted",
              `the privacy budget of partner ${error.partner} cannot pay ε=${error.requested.epsilon}` +
                (error.requested.delta > 0 ? ` δ=${error.requested.delta}` : "") +
                `: ε=${error.remaining.epsilon} and δ=${error.remaining.delta} remain, and budgets do not renew`,
              {
                partner: error.partner,
                requested: error.requested,
                remaining: error.remaining,
                remainingEpsilon: error.remaining.epsilon
              }
            )
          )
        )
    })
  )
