/**
 * The server's tenants: @openaudience/tenancy's live directory over the database's tenants, sites and keys (every
 * process reloads it within a second of a change), seeded with the demo tenant when `OA_DEMO=1`. The collector's
 * hot path resolves site keys with its plain map reads; routes resolve API keys through `authenticate`.
 */
import { IngestKeys, type Tenant as CollectorTenant } from "@openaudience/collector"
import { Directory, Role, Seed, TenancyStore } from "@openaudience/tenancy"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as ServerConfig from "./ServerConfig.js"

export type Tenant = CollectorTenant.Tenant

export interface TenantsShape extends CollectorTenant.Directory {
  /** Resolves a bearer API key to its tenant, role and partner (undefined: unknown, revoked or expired). */
  readonly authenticate: (
    apiKey: string
  ) =>
    | { readonly tenant: Tenant; readonly role: Role.Role; readonly partner: string | null; readonly keyId: string }
    | undefined
  /** Reloads at once (after a change made by this process; other processes see it within `pollMs`). */
  readonly refresh: Effect.Effect<void>
}

export class Tenants extends Context.Tag("@openaudience/example-server/Tenants")<Tenants, TenantsShape>() {}

/** The API key of an `Authorization: Bearer <key>` header, if that is what the header holds. */
export const bearerKey = (authorization: string | undefined): string | undefined => IngestKeys.bearer(authorization)

/** Which tenant a server-to-server key may ingest for: keys whose role holds `events:ingest`. */
export const ingestKeys = (tenants: TenantsShape): IngestKeys.IngestKeys => ({
  tenantOf: (apiKey) => {
    const found = tenants.authenticate(apiKey)
    return found === undefined || !Role.can(found.role, "events:ingest") ? undefined : found.tenant
  }
})

/** How often every process looks for changed tenants, sites and keys. */
const pollMs = 1_000

export const layer = Layer.scoped(
  Tenants,
  Effect.gen(function* () {
    const config = yield* ServerConfig.ServerConfig
    if (config.demo) {
      yield* Seed.demo(Redacted.value(config.demoAdminKey), {
        publicUrl: config.publicUrl ?? `http://${config.host}:${config.port === 0 ? 8080 : config.port}`,
        cookieless: config.demoCookieless,
        // Once a key of one's own is set, the public default stops working, even where it was seeded before.
        retire: [ServerConfig.defaultDemoAdminKey]
      })
    }
    const directory = yield* Directory.live(Redacted.value(config.secret), { pollMs })
    if (directory.all().length === 0) {
      yield* Effect.logWarning(
        "No tenant yet: create one with `pnpm openaudience tenant create --name NAME`, or set OA_DEMO=1 for the demo"
      )
    }
    return Tenants.of({
      bySite: directory.bySite,
      byId: directory.byId,
      all: directory.all,
      authenticate: (apiKey) => directory.authenticate(apiKey, Date.now()),
      refresh: directory.refresh.pipe(
        Effect.catchAll((error) => Effect.logWarning("Could not reload tenants, sites and keys", error))
      )
    })
  })
).pipe(
  Layer.mapError((error): Error => (error instanceof TenancyStore.TenancyError ? new Error(error.message) : error))
)
