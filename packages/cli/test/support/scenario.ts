/**
 * The whole life of a tenant through the real command, on one database: create it, add a site, create a key
 * (shown once), list (never the key nor its digest), revoke, change and remove the site, delete the tenant; each
 * change recorded in the audit log as the operator's.
 */
import { assert } from "@effect/vitest"
import { ApiKey } from "@openaudience/tenancy"
import { cli, cliJson } from "./cli.js"

interface TenantJson {
  readonly id: string
  readonly name: string
  readonly createdAt: string
}

interface SiteJson {
  readonly siteKey: string
  readonly tenant: string
  readonly origins: ReadonlyArray<string>
  readonly urlParams: ReadonlyArray<string> | null
  readonly cookieless: boolean
  readonly childDirected: boolean
}

interface KeyJson {
  readonly id: string
  readonly role: string
  readonly partner: string | null
  readonly prefix: string
  readonly expiresAt: string | null
  readonly revokedAt: string | null
}

const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

/** Runs the scenario on `databaseUrl` (a database of the test's own). */
export const tenantLifecycle = async (databaseUrl: string): Promise<void> => {
  const tenant = await cliJson<TenantJson>(databaseUrl, "tenant", "create", "--name", "Acme")
  assert.match(tenant.id, /^ten_[0-9a-f]{16}$/)
  assert.strictEqual(tenant.name, "Acme")
  assert.match(tenant.createdAt, isoTime)

  const siteKey = `acme-${tenant.id.slice(4, 12)}`
  const site = await cliJson<SiteJson>(
    databaseUrl,
    "site",
    "add",
    "--tenant",
    tenant.id,
    "--site-key",
    siteKey,
    "--origin",
    "https://shop.example",
    "--origin",
    "https://www.shop.example",
    "--param",
    "utm_source",
    "--cookieless"
  )
  assert.deepStrictEqual(
    {
      siteKey: site.siteKey,
      tenant: site.tenant,
      origins: site.origins,
      urlParams: site.urlParams,
      cookieless: site.cookieless,
      childDirected: site.childDirected
    },
    {
      siteKey,
      tenant: tenant.id,
      origins: ["https://shop.example", "https://www.shop.example"],
      urlParams: ["utm_source"],
      cookieless: true,
      childDirected: false
    }
  )

  const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10)
  const created = await cliJson<KeyJson & { readonly key: string }>(
    databaseUrl,
    "key",
    "create",
    "--tenant",
    tenant.id,
    "--role",
    "admin",
    "--expires",
    expires
  )
  assert.match(created.key, /^oa_[A-Za-z0-9_-]{43}$/)
  assert.match(created.id, /^key_[0-9a-f]{16}$/)
  assert.strictEqual(created.role, "admin")
  assert.strictEqual(created.prefix, created.key.slice(0, 10))
  assert.strictEqual(created.expiresAt, `${expires}T00:00:00.000Z`)
  const digest = ApiKey.digestOf(created.key)

  // Listed as text and as JSON, with the tenant and alone: the id and prefix, never the key nor its digest.
  const shown = await cli(databaseUrl, "tenant", "show", tenant.id)
  const shownJson = await cli(databaseUrl, "tenant", "show", tenant.id, "--json")
  const listed = await cli(databaseUrl, "key", "list", "--tenant", tenant.id)
  for (const run of [shown, shownJson, listed]) {
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, created.id)
    assert.include(run.stdout, created.prefix)
    assert.notInclude(run.stdout, created.key)
    assert.notInclude(run.stdout, created.key.slice(10))
    assert.notInclude(run.stdout, digest)
  }
  assert.include(shown.stdout, siteKey)
  const parsed = JSON.parse(shownJson.stdout) as TenantJson & {
    readonly sites: ReadonlyArray<SiteJson>
    readonly keys: ReadonlyArray<KeyJson>
  }
  assert.deepStrictEqual(
    parsed.sites.map((s) => s.siteKey),
    [siteKey]
  )
  assert.deepStrictEqual(
    parsed.keys.map((k) => k.id),
    [created.id]
  )
  assert.notProperty(parsed.keys[0], "digest")
  assert.notProperty(parsed.keys[0], "key")

  const revoked = await cliJson<KeyJson>(databaseUrl, "key", "revoke", "--tenant", tenant.id, "--id", created.id)
  assert.strictEqual(revoked.id, created.id)
  assert.match(revoked.revokedAt ?? "", isoTime)
  const keys = await cliJson<ReadonlyArray<KeyJson>>(databaseUrl, "key", "list", "--tenant", tenant.id)
  assert.deepStrictEqual(
    keys.map((k) => [k.id, k.revokedAt]),
    [[created.id, revoked.revokedAt]]
  )

  const updated = await cliJson<SiteJson>(
    databaseUrl,
    "site",
    "update",
    "--tenant",
    tenant.id,
    "--site-key",
    siteKey,
    "--child-directed",
    "true",
    "--cookieless",
    "false"
  )
  assert.deepStrictEqual(
    [updated.childDirected, updated.cookieless, updated.origins, updated.urlParams],
    [true, false, site.origins, site.urlParams]
  )
  const sites = await cliJson<ReadonlyArray<SiteJson>>(databaseUrl, "site", "list", "--tenant", tenant.id)
  assert.deepStrictEqual(
    sites.map((s) => [s.siteKey, s.childDirected]),
    [[siteKey, true]]
  )
  await cliJson(databaseUrl, "site", "remove", "--tenant", tenant.id, "--site-key", siteKey)
  assert.deepStrictEqual(await cliJson(databaseUrl, "site", "list", "--tenant", tenant.id), [])

  // Every change is in the audit log, as the operator's.
  const audit = await cliJson<
    ReadonlyArray<{
      readonly action: string
      readonly target: string
      readonly outcome: string
      readonly actor: unknown
    }>
  >(databaseUrl, "audit", "list", "--tenant", tenant.id)
  assert.deepStrictEqual(
    audit.map((entry) => [entry.action, entry.target, entry.outcome]),
    [
      ["site.add", `site:${siteKey}`, "success"],
      ["key.create", "keys", "success"],
      ["key.revoke", `key:${created.id}`, "success"],
      ["site.update", `site:${siteKey}`, "success"],
      ["site.remove", `site:${siteKey}`, "success"]
    ]
  )
  for (const entry of audit) assert.deepStrictEqual(entry.actor, { kind: "operator", id: "cli" })

  const tenants = await cliJson<ReadonlyArray<TenantJson>>(databaseUrl, "tenant", "list")
  assert.deepStrictEqual(
    tenants.map((t) => t.id),
    [tenant.id]
  )
  assert.deepStrictEqual(await cliJson(databaseUrl, "tenant", "delete", tenant.id), { id: tenant.id, deleted: true })

  const deletion = await cliJson<ReadonlyArray<{ readonly action: string }>>(
    databaseUrl,
    ...["audit", "list", "--tenant", tenant.id, "--after", "0", "--limit", "1000"]
  )
  assert.strictEqual(deletion.at(-1)?.action, "tenant.delete")
  assert.deepInclude(await cliJson<{ readonly ok: boolean }>(databaseUrl, "audit", "verify"), { ok: true })

  const gone = await cli(databaseUrl, "tenant", "show", tenant.id, "--json")
  assert.strictEqual(gone.code, 1)
  assert.strictEqual(gone.stdout, "")
  assert.include(gone.stderr, "not found")
  assert.include(gone.stderr, tenant.id)
}
