/**
 * `openaudience catalog import|list`: a tenant's product catalog, as the admin API's `/v1/catalog` manages it.
 * `import` reads a Google Merchant Center / Meta feed (JSON, CSV or TSV), checks it row by row against the
 * tenant's site origins (@openaudience/catalog's `Feed`), replaces the catalog with the valid rows at once, and
 * prints the report: what was accepted, each rejected row with its reasons.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { CatalogStore, Feed, Product } from "@openaudience/catalog"
import { TenancyStore } from "@openaudience/tenancy"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { described, invalid, readText } from "./adsFailure.js"
import * as OperatorAudit from "./operatorAudit.js"
import * as Shared from "./options.js"
import * as Output from "./output.js"
import { withStore } from "./store.js"

const formats = ["csv", "json", "tsv"] as const

type Format = (typeof formats)[number]

const file = Options.text("file").pipe(
  Options.withPseudoName("FILE"),
  Options.withDescription("The feed: feed.csv, feed.tsv (Google Merchant Center's text feed) or feed.json.")
)

const format = Shared.choice("format", formats, "The feed's format (default: from the file's extension).").pipe(
  Options.optional
)

const limit = Options.integer("limit").pipe(
  Options.withPseudoName("N"),
  Options.withDescription("At most N products, by id (1–10000)."),
  Options.withDefault(100)
)

/** The format given, else the one of the file's extension. */
const formatOf = (given: Option.Option<Format>, path: string): Either.Either<Format, ReturnType<typeof invalid>> => {
  if (Option.isSome(given)) return Either.right(given.value)
  const extension = /\.([A-Za-z]+)$/.exec(path)?.[1]?.toLowerCase()
  const known = formats.find((f) => f === extension)
  return known === undefined
    ? Either.left(
        invalid("--format", `cannot tell the format of ${path} from its extension: give --format csv|json|tsv`)
      )
    : Either.right(known)
}

/** `1 product`, `2 products`. */
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`

const rejectionText = (rejection: Feed.Rejection): ReadonlyArray<string | null> => [
  String(rejection.row),
  rejection.line === undefined ? null : String(rejection.line),
  rejection.id ?? null,
  rejection.reasons.map((reason) => `${reason.column}: ${reason.message}`).join("; ")
]

const importCommand = Command.make(
  "import",
  { tenant: Shared.tenant, file, format, json: Shared.json },
  ({ file, format, json, tenant }) =>
    described(
      Effect.gen(function* () {
        const feedFormat = yield* formatOf(format, file)
        const text = yield* readText(file, Feed.defaultLimits.maxBytes)
        const sites = yield* Effect.flatMap(TenancyStore.TenancyStore, (store) => store.listSites(tenant))
        const origins = [...new Set(sites.flatMap((site) => site.origins))]
        if (origins.length === 0) {
          return yield* new TenancyStore.TenancyError({
            reason: "Conflict",
            message: `tenant ${tenant} has no site: add one with its origins first (product links must be on them)`
          })
        }
        const report = yield* Feed.parse(text, { format: feedFormat, origins })
        const accepted = yield* OperatorAudit.audited(
          { tenant, action: "catalog.replace", target: "catalog" },
          Effect.flatMap(CatalogStore.CatalogStore, (store) => store.replace(tenant, report.products)),
          (count) => ({ products: count, rejected: report.rejected.length })
        )
        const value = {
          accepted,
          rejected: report.rejected.length,
          rows: report.rows,
          ignoredColumns: report.ignoredColumns,
          rejections: report.rejected
        }
        yield* Output.print(json, value, () =>
          [
            `Imported ${plural(accepted, "product")} of ${plural(report.rows, "row")} into the catalog of tenant ${tenant}; ` +
              `${report.rejected.length} rejected`,
            ...(report.ignoredColumns.length === 0 ? [] : [`Ignored columns: ${report.ignoredColumns.join(", ")}`]),
            ...(report.rejected.length === 0
              ? []
              : ["", Output.table(["ROW", "LINE", "ID", "REASONS"], report.rejected.map(rejectionText))])
          ].join("\n")
        )
      })
    )
).pipe(
  Command.withDescription(
    "Replace a tenant's catalog with the valid rows of a feed (links on the tenant's site origins) and print the report."
  )
)

const encodeProduct = Schema.encodeSync(Product.Product)

const list = Command.make("list", { tenant: Shared.tenant, limit, json: Shared.json }, ({ json, limit, tenant }) =>
  described(
    Effect.gen(function* () {
      yield* Effect.flatMap(TenancyStore.TenancyStore, (store) => store.getTenant(tenant))
      if (limit < 1 || limit > 10_000) return yield* invalid("--limit", `${limit} is not 1 to 10000`)
      const store = yield* CatalogStore.CatalogStore
      const { products, total } = yield* Effect.all({
        products: store.list(tenant, { limit }),
        total: store.count(tenant)
      })
      yield* Output.print(json, { total, products: products.map((product) => encodeProduct(product)) }, () =>
        [
          `${plural(total, "product")}${products.length < total ? ` (the first ${products.length} by id)` : ""}`,
          Output.table(
            ["ID", "TITLE", "PRICE (MINOR)", "SALE", "AVAILABILITY", "LINK"],
            products.map((p) => [
              p.id,
              p.title,
              `${p.price.amount} ${p.price.currency}`,
              p.salePrice === undefined ? null : `${p.salePrice.amount} ${p.salePrice.currency}`,
              p.availability,
              p.link
            ])
          )
        ].join("\n")
      )
    })
  )
).pipe(Command.withDescription("List a tenant's products, by id."))

/** `openaudience catalog …`. */
export const command = Command.make("catalog").pipe(
  Command.withDescription("Manage the product catalog of a tenant."),
  Command.withSubcommands([withStore(importCommand), withStore(list)])
)
