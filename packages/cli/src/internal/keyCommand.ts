/**
 * `openaudience key create|list|revoke`: the API keys of a tenant. A created key is printed once; the store keeps
 * only its digest, so it cannot be shown again.
 */
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import { Role, TenancyStore } from "@openaudience/tenancy"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Expires from "./expires.js"
import * as Shared from "./options.js"
import * as OperatorAudit from "./operatorAudit.js"
import { withStore } from "./store.js"
import * as Output from "./output.js"

const expires = Options.text("expires").pipe(
  Options.withPseudoName("DATE"),
  Options.withDescription("When it stops working: 2027-01-31 (00:00 UTC) or 2027-01-31T18:00:00Z (default: never)."),
  Options.mapEffect((text) =>
    Either.match(Expires.parse(text), {
      onLeft: (why) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`Invalid --expires: ${why}`))),
      onRight: Effect.succeed
    })
  ),
  Options.optional
)

const create = Command.make(
  "create",
  {
    tenant: Shared.tenant,
    role: Shared.choice("role", Role.all, "What the key may do (see the README)."),
    partner: Options.text("partner").pipe(
      Options.withPseudoName("NAME"),
      Options.withDescription("For --role partner: the one partner whose reports and ε budget it may use."),
      Options.optional
    ),
    expires,
    json: Shared.json
  },
  ({ expires, json, partner, role, tenant }) =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const { key, record } = yield* OperatorAudit.audited(
        { tenant, action: "key.create", target: "keys" },
        store.createKey(tenant, { role, partner: Option.getOrNull(partner), expiresAt: Option.getOrNull(expires) }),
        ({ record }) => ({ id: record.id, role: record.role })
      )
      const { id, ...rest } = Output.keyJson(record)
      yield* Output.print(json, { id, key, ...rest }, () =>
        [
          `Created ${record.role} key ${record.id} for tenant ${record.tenant}.`,
          "The key is shown this once; store it now:",
          "",
          `  ${key}`,
          ""
        ].join("\n")
      )
    })
).pipe(Command.withDescription("Create an API key; the key is printed once."))

const list = Command.make("list", { tenant: Shared.tenant, json: Shared.json }, ({ json, tenant }) =>
  Effect.gen(function* () {
    const store = yield* TenancyStore.TenancyStore
    const keys = yield* store.listKeys(tenant)
    yield* Output.print(json, keys.map(Output.keyJson), () => Output.keyTable(keys))
  })
).pipe(Command.withDescription("List the API keys of a tenant (their ids and prefixes, never the keys)."))

const revoke = Command.make(
  "revoke",
  {
    tenant: Shared.tenant,
    id: Options.text("id").pipe(Options.withPseudoName("KEYID"), Options.withDescription("The key's id (key_…).")),
    json: Shared.json
  },
  ({ id, json, tenant }) =>
    Effect.gen(function* () {
      const store = yield* TenancyStore.TenancyStore
      const now = yield* Clock.currentTimeMillis
      const record = yield* OperatorAudit.audited(
        { tenant, action: "key.revoke", target: `key:${id}` },
        store.revokeKey(tenant, id, now)
      )
      yield* Output.print(json, Output.keyJson(record), () => `Revoked key ${record.id} of tenant ${record.tenant}`)
    })
).pipe(Command.withDescription("Revoke an API key: it stops working within seconds on every server."))

/** `openaudience key …`. */
export const command = Command.make("key").pipe(
  Command.withDescription("Manage the API keys of a tenant."),
  Command.withSubcommands([withStore(create), withStore(list), withStore(revoke)])
)
