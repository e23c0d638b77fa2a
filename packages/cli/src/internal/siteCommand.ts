/**
 * `openaudience site add|list|update|remove`: the sites of a tenant.
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { TenancyStore } from "@openaudience/tenancy"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Shared from "./options.js"
import * as OperatorAudit from "./operatorAudit.js"
import { withStore } from "./store.js"
import * as Output from "./output.js"

const siteKey = Options.text("site-key").pipe(
  Options.withPseudoName("KEY"),
  Options.withDescription("The site key its tag sends (unique across tenants).")
)

const originDescription = "An origin its pages are served from, such as https://shop.example (repeat for more)."

const paramDescription = "A query parameter kept in page URLs (repeat for more; default: the built-in allowlist)."

const origins = Options.text("origin").pipe(Options.withPseudoName("URL"), Options.withDescription(originDescription))

/** Repeatable and optional (shown `[--name VALUE...]` in the usage); absent: an empty list. */
const repeatedOptional = (option: Options.Options<string>): Options.Options<ReadonlyArray<string>> =>
  option.pipe(Options.repeated, Options.optional, Options.map(Option.getOrElse(() => [])))

const params = Options.text("param").pipe(
  Options.withPseudoName("NAME"),
  Options.withDescription(paramDescription),
  repeatedOptional
)

/** `--name true|false`; absent: unchanged. */
const flag = (name: string, description: string) =>
  Shared.choice(name, ["true", "false"], description).pipe(
    Options.map((value) => value === "true"),
    Options.optional
  )

const cookielessDescription = "Visitors are keyed without cookies (daily salt, truncated address)."

const childDirectedDescription = "The site is directed to children: none of its events builds a profile."

const printSite = (json: boolean, site: TenancyStore.Site, done: string) =>
  Output.print(
    json,
    Output.siteJson(site),
    () => `${done} site ${site.siteKey} of tenant ${site.tenant}\n${Output.siteTable([site])}`
  )

const add = Command.make(
  "add",
  {
    tenant: Shared.tenant,
    siteKey,
    origins: origins.pipe(Options.atLeast(1)),
    params,
    cookieless: Options.boolean("cookieless").pipe(Options.withDescription(cookielessDescription)),
    childDirected: Options.boolean("child-directed").pipe(Options.withDescription(childDirectedDescription)),
    json: Shared.json
  },
  ({ childDirected, cookieless, json, origins, params, siteKey, tenant }) =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const site = yield* OperatorAudit.audited(
        { tenant, action: "site.add", target: `site:${siteKey}` },
        store.addSite(tenant, {
          siteKey,
          origins,
          urlParams: params.length === 0 ? null : params,
          cookieless,
          childDirected
        })
      )
      yield* printSite(json, site, "Added")
    })
).pipe(Command.withDescription("Add a site to a tenant."))

const list = Command.make("list", { tenant: Shared.tenant, json: Shared.json }, ({ json, tenant }) =>
  Effect.gen(function* () {
    const store = yield* TenancyStore.TenancyStore
    const sites = yield* store.listSites(tenant)
    yield* Output.print(json, sites.map(Output.siteJson), () => Output.siteTable(sites))
  })
).pipe(Command.withDescription("List the sites of a tenant."))

const update = Command.make(
  "update",
  {
    tenant: Shared.tenant,
    siteKey,
    origins: repeatedOptional(origins),
    params,
    cookieless: flag("cookieless", cookielessDescription),
    childDirected: flag("child-directed", childDirectedDescription),
    json: Shared.json
  },
  ({ childDirected, cookieless, json, origins, params, siteKey, tenant }) =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const site = yield* OperatorAudit.audited(
        { tenant, action: "site.update", target: `site:${siteKey}` },
        store.updateSite(tenant, siteKey, {
          ...(origins.length > 0 ? { origins } : {}),
          ...(params.length > 0 ? { urlParams: params } : {}),
          cookieless: Option.getOrUndefined(cookieless),
          childDirected: Option.getOrUndefined(childDirected)
        })
      )
      yield* printSite(json, site, "Updated")
    })
).pipe(
  Command.withDescription(
    "Change a site: --origin and --param replace the lists when given; an option left out keeps its value."
  )
)

const remove = Command.make(
  "remove",
  { tenant: Shared.tenant, siteKey, json: Shared.json },
  ({ json, siteKey, tenant }) =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      yield* OperatorAudit.audited(
        { tenant, action: "site.remove", target: `site:${siteKey}` },
        store.removeSite(tenant, siteKey)
      )
      yield* Output.print(json, { siteKey, tenant, removed: true }, () => `Removed site ${siteKey} of tenant ${tenant}`)
    })
).pipe(Command.withDescription("Remove a site from a tenant."))

/** `openaudience site …`. */
export const command = Command.make("site").pipe(
  Command.withDescription("Manage the sites of a tenant."),
  Command.withSubcommands([withStore(add), withStore(list), withStore(update), withStore(remove)])
)
