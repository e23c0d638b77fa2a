/**
 * Tenants end to end, shared by the SQLite and PostgreSQL tests: the operator creates two advertisers and their
 * first owner keys; each adds its own site and keys through the tenant admin API; a running server stores each
 * site's pixels within seconds, without a restart; each tenant reads only its own; every route with an id, called
 * with B's key on A's ids, answers 404; roles are enforced; a revoked key stops working within 5 s.
 */
import { assert } from "@effect/vitest"
import { WireFormat } from "@openaudience/pixel"
import { randomUUID } from "node:crypto"
import { eventually } from "./audiences.js"
import type { TestServer } from "./server.js"

export const operatorKey = "operator-test-key-0123456789"

const browser = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"

/** A JSON call of the API with a bearer key. */
export const call = async (url: string, key: string, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? null : JSON.parse(text) }
}

const pixel = async (url: string, site: string, id: string) => {
  const event = { type: "page_view" as const, id, site, visitorId: `vis_${randomUUID().slice(0, 12)}` }
  const response = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event)}`, { headers: { "user-agent": browser } })
  await response.arrayBuffer()
  return response.status
}

/** A tenant with an owner key, a site and an admin key. */
const advertiser = async (url: string, name: string, siteKey: string) => {
  const created = await call(url, operatorKey, "POST", "/v1/tenants", { name })
  assert.strictEqual(created.status, 201, JSON.stringify(created.body))
  const owner = await call(url, operatorKey, "POST", `/v1/tenants/${created.body.id}/keys`, { role: "owner" })
  assert.strictEqual(owner.status, 201, JSON.stringify(owner.body))
  assert.match(owner.body.key, /^oa_[A-Za-z0-9_-]{43}$/)
  const site = await call(url, owner.body.key, "POST", "/v1/sites", {
    siteKey,
    origins: [`https://${siteKey}.example`]
  })
  assert.strictEqual(site.status, 201, JSON.stringify(site.body))
  const admin = await call(url, owner.body.key, "POST", "/v1/keys", { role: "admin" })
  assert.strictEqual(admin.status, 201, JSON.stringify(admin.body))
  return { id: created.body.id as string, owner: owner.body.key as string, admin: admin.body, siteKey }
}

export const tenancyScenario = async (server: TestServer) => {
  const { url } = server
  const run = randomUUID().slice(0, 6)
  const a = await advertiser(url, "Alpha Lamps", `alpha-${run}`)
  const b = await advertiser(url, "Beta Boots", `beta-${run}`)

  // The running server picks the new sites up without a restart.
  const idA = `evt_alpha_${run}_00000001`
  await eventually(
    "site A stores pixels",
    async () => ((await pixel(url, a.siteKey, idA)) === 200 ? true : undefined),
    5
  )
  const idB = `evt_beta_${run}_000000001`
  await eventually(
    "site B stores pixels",
    async () => ((await pixel(url, b.siteKey, idB)) === 200 ? true : undefined),
    5
  )

  // Each reads its own events only, with its own key.
  const eventsOf = async (key: string) => {
    const answer = await call(url, key, "GET", "/v1/events?limit=1000")
    assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
    return answer.body.events.map((e: { id: string }) => e.id) as Array<string>
  }
  await eventually("A's event stored", async () => ((await eventsOf(a.admin.key)).includes(idA) ? true : undefined), 5)
  assert.notInclude(await eventsOf(a.admin.key), idB)
  await eventually("B's event stored", async () => ((await eventsOf(b.owner)).includes(idB) ? true : undefined), 5)
  assert.notInclude(await eventsOf(b.owner), idA)

  // An audience of A, to have an id of every kind.
  const pageViews = { version: 1, conditions: [{ kind: "event", event: "page_view", window: { days: 7 } }] }
  const audience = await call(url, a.owner, "POST", "/v1/audiences", { name: "Lamp viewers", rule: pageViews })
  assert.strictEqual(audience.status, 201, JSON.stringify(audience.body))

  // An inquiry of A (its contact form).
  const inquiry = await call(url, "", "POST", "/v1/inquiries", {
    site: a.siteKey,
    name: "Ann Example",
    email: "ann@example.test",
    message: "Do you ship to Iceland?"
  })
  assert.strictEqual(inquiry.status, 201, JSON.stringify(inquiry.body))

  // Every route with an id, called with B's owner key on A's ids: 404, never a 200 or a 403.
  const idsOfA: Record<string, string> = { id: "", siteKey: a.siteKey }
  let probed = 0
  for (const route of server.routes) {
    // The key-authenticated admin API (console pages authenticate by session: their own tests).
    const adminApi = route.path.startsWith("/v1/")
    if (
      !adminApi ||
      !route.path.includes(":") ||
      route.path.startsWith("/v1/tenants") ||
      route.path.startsWith("/v1/reports")
    ) {
      continue
    }
    idsOfA.id = route.path.startsWith("/v1/keys")
      ? a.admin.id
      : route.path.startsWith("/v1/users")
        ? "usr_0000000000000000"
        : route.path.startsWith("/v1/inquiries")
          ? "inq_00000000000000000000000000000000"
          : audience.body.id
    const path =
      route.path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(idsOfA[name]!)) +
      (route.path.endsWith("/explain") ? "?visitor=any-visitor-key" : "")
    const body =
      route.method === "GET" || route.method === "DELETE"
        ? undefined
        : route.path.endsWith("/preview")
          ? {}
          : route.path.startsWith("/v1/sites")
            ? { origins: ["https://b-takes-over.example"] }
            : { name: "Taken over", rule: pageViews }
    const answer = await call(url, b.owner, route.method, path, body)
    assert.strictEqual(answer.status, 404, `${route.method} ${path} with B's key: ${JSON.stringify(answer.body)}`)
    probed++
  }
  assert.isAtLeast(probed, 10, "every id route was probed")
  // A's things are intact.
  assert.strictEqual((await call(url, a.owner, "GET", `/v1/sites/${a.siteKey}`)).status, 200)
  assert.strictEqual((await call(url, a.owner, "GET", `/v1/audiences/${audience.body.id}`)).status, 200)

  // Roles.
  const keyOf = async (role: string, extra: Record<string, unknown> = {}) => {
    const created = await call(url, a.owner, "POST", "/v1/keys", { role, ...extra })
    assert.strictEqual(created.status, 201, JSON.stringify(created.body))
    return created.body.key as string
  }
  const analyst = await keyOf("analyst")
  const ingest = await keyOf("ingest")
  const partner = await keyOf("partner", { partner: "news-site" })
  assert.strictEqual((await call(url, analyst, "GET", "/v1/events")).status, 403, "analysts see no raw events")
  assert.strictEqual((await call(url, analyst, "GET", "/v1/audiences")).status, 200)
  assert.strictEqual((await call(url, ingest, "GET", "/v1/audiences")).status, 403)
  const sent = await call(url, ingest, "POST", "/v1/events", [
    { type: "page_view", id: `evt_ingest_${run}_01`, site: a.siteKey }
  ])
  assert.strictEqual(sent.status, 200, JSON.stringify(sent.body))
  assert.strictEqual((await call(url, partner, "GET", "/v1/reports/events-by-day")).status, 403, "no un-noised report")
  assert.strictEqual(
    (await call(url, partner, "GET", "/v1/reports/events-by-day?epsilon=0.5&partner=someone-else")).status,
    403,
    "another partner's budget"
  )
  assert.strictEqual((await call(url, partner, "GET", "/v1/events")).status, 403, "partners get no inspector")
  const adminMakesOwner = await call(url, a.admin.key, "POST", "/v1/keys", { role: "owner" })
  assert.strictEqual(adminMakesOwner.status, 403, "an admin cannot mint owner keys")
  const badPartner = await call(url, a.owner, "POST", "/v1/keys", { role: "partner" })
  assert.strictEqual(badPartner.status, 400)
  assert.strictEqual(badPartner.body.field, "partner")

  // Listing keys never shows a key or its digest.
  const listed = JSON.stringify((await call(url, a.owner, "GET", "/v1/keys")).body)
  assert.notInclude(listed, a.admin.key)
  assert.notInclude(listed, "digest")

  // Revocation: the key stops working within 5 s.
  const revoked = await call(url, a.owner, "DELETE", `/v1/keys/${a.admin.id}`)
  assert.strictEqual(revoked.status, 200, JSON.stringify(revoked.body))
  await eventually(
    "the revoked key is refused",
    async () => ((await call(url, a.admin.key, "GET", "/v1/events")).status === 401 ? true : undefined),
    5
  )

  // The audit trail: A's changes, reads and refusals, with key ids (never keys), and nothing of B's.
  const audit = await call(url, a.owner, "GET", "/v1/audit?limit=1000")
  assert.strictEqual(audit.status, 200, JSON.stringify(audit.body))
  const entries = audit.body.entries as Array<any>
  const seen = (action: string, outcome = "success") =>
    entries.some((e) => e.action === action && e.outcome === outcome)
  for (const action of ["site.add", "key.create", "events.read", "audience.create", "key.revoke"]) {
    assert.isTrue(seen(action), `${action} is in the audit log`)
  }
  assert.isTrue(
    entries.some((e) => e.action === "access.denied" && e.details.permission === "events:read"),
    "the analyst's refused read is recorded"
  )
  assert.isTrue(entries.every((e) => e.tenant === a.id))
  assert.notInclude(JSON.stringify(entries), a.admin.key)
  assert.notInclude(JSON.stringify(entries), a.owner)
  const bAudit = await call(url, b.owner, "GET", "/v1/audit?limit=1000")
  assert.isTrue((bAudit.body.entries as Array<any>).every((e) => e.tenant === b.id))
  assert.strictEqual((await call(url, analyst, "GET", "/v1/audit")).status, 403, "analysts do not read the audit log")

  // The operator API needs the operator key.
  assert.strictEqual((await call(url, a.owner, "GET", "/v1/tenants")).status, 401)
  assert.strictEqual((await call(url, operatorKey, "GET", "/v1/tenants")).status, 200)
}
