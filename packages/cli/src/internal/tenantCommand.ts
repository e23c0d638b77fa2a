/**
 * `openaudience tenant create|list|show|delete`: tenants (advertisers).
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import { TenancyStore } from "@openaudience/tenancy"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Shared from "./options.js"
import * as OperatorAudit from "./operatorAudit.js"
import { withStore } from "./store.js"
import * as Output from "./output.js"

const id = Args.text({ name: "ID" }).pipe(Args.withDescription("The tenant's id."))

const create = Command.make(
  "create",
  {
    name: Options.text("name").pipe(Options.withPseudoName("NAME"), Options.withDescription("The advertiser's name.")),
    id: Options.text("id").pipe(
      Options.withPseudoName("ID"),
      Options.withDescription("The id to give it (default: ten_ and 16 random hex digits)."),
      Options.optional
    ),
    json: Shared.json
  },
  ({ id, json, name }) =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const tenant = yield* OperatorAudit.audited(
        { tenant: null, action: "tenant.create", target: "tenants" },
        store.createTenant({ name, id: Option.getOrUndefined(id) }),
        (tenant) => ({ id: tenant.id })
      )
      yield* Output.print(json, Output.tenantJson(tenant), () => `Created tenant ${tenant.id} (${tenant.name})`)
    })
).pipe(Command.withDescription("Create a tenant (an advertiser)."))

const list = Command.make("list", { json: Shared.json }, ({ json }) =>
  Effect.gen(function* () {
    const store = yield* TenancyStore.TenancyStore
    const tenants = yield* store.listTenants()
    yield* Output.print(json, tenants.map(Output.tenantJson), () =>
      Output.table(
        ["ID", "NAME", "CREATED"],
        tenants.map((tenant) => [tenant.id, tenant.name, Output.time(tenant.createdAt)])
      )
    )
  })
).pipe(Command.withDescription("List the tenants."))

const show = Command.make("show", { id, json: Shared.json }, ({ id, json }) =>
  Effect.gen(function* () {
    const store = yield* TenancyStore.TenancyStore
    const { keys, sites, tenant } = yield* Effect.all({
      tenant: store.getTenant(id),
      sites: store.listSites(id),
      keys: store.listKeys(id)
    })
    yield* Output.print(
      json,
      { ...Output.tenantJson(tenant), sites: sites.map(Output.siteJson), keys: keys.map(Output.keyJson) },
      () =>
        [
          Output.fields([
            ["id", tenant.id],
            ["name", tenant.name],
            ["created", Output.time(tenant.createdAt)]
          ]),
          "",
          `Sites (${sites.length}):`,
          Output.siteTable(sites),
          "",
          `Keys (${keys.length}):`,
          Output.keyTable(keys)
        ].join("\n")
    )
  })
).pipe(Command.withDescription("Show a tenant with its sites and keys (never the keys themselves)."))

const remove = Command.make("delete", { id, json: Shared.json }, ({ id, json }) =>
  Effect.gen(function* () {
    const store = yield* TenancyStore.TenancyStore
    yield* OperatorAudit.audited(
      { tenant: id, action: "tenant.delete", target: `tenant:${id}` },
      store.deleteTenant(id)
    )
    yield* Output.print(json, { id, deleted: true }, () => `Deleted tenant ${id} with its sites and keys`)
  })
).pipe(Command.withDescription("Delete a tenant with its sites and keys."))

/** `openaudience tenant …`. */
export const command = Command.make("tenant").pipe(
  Command.withDescription("Manage tenants (advertisers)."),
  Command.withSubcommands([withStore(create), withStore(list), withStore(show), withStore(remove)])
)
