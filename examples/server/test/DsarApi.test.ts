/**
 * The operators' data-subject request API on the whole server (SQLite, in process): a privacy key erases a visitor
 * by the pseudonym the events inspector shows, the report verifies with the published key and a recipient gets a
 * signed webhook; legal holds defer an erasure until released; an access request is exported; a tenant's deadline
 * policy (CCPA: 45 days) applies to its new requests and no other tenant's; only keys holding
 * `privacy:manage` get in, another tenant's ids are 404s, and bad bodies are problems naming the field.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Dsar, DsarStore, Erasure, Report, Request, Webhook } from "@openaudience/dsar"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as ManagedRuntime from "effect/ManagedRuntime"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Access from "../src/Access.js"
import * as DsarApi from "../src/DsarApi.js"
import * as App from "../src/App.js"
import { Listening } from "../src/HttpServer.js"
import * as ServerConfig from "../src/ServerConfig.js"
import { eventually } from "./support/audiences.js"
import { call } from "./support/tenancy.js"

const operatorKey = "operator-test-key-dsar-api-0123456789"
const webhookSecret = "whsec-0123456789abcdef0123456789abcdef"

interface Advertiser {
  readonly id: string
  readonly owner: string
  readonly privacy: string
  readonly analyst: string
  readonly siteKey: string
}

interface Received {
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

let runtime: ManagedRuntime.ManagedRuntime<any, any>
let url: string
let dataDir: string
let receiver: Server
let hookUrl: string
const received: Array<Received> = []
let a: Advertiser
let b: Advertiser
let n = 0

const advertiser = async (name: string): Promise<Advertiser> => {
  const created = await call(url, operatorKey, "POST", "/v1/tenants", { name })
  assert.strictEqual(created.status, 201, JSON.stringify(created.body))
  const owner = await call(url, operatorKey, "POST", `/v1/tenants/${created.body.id}/keys`, { role: "owner" })
  assert.strictEqual(owner.status, 201, JSON.stringify(owner.body))
  const siteKey = `dsar-${created.body.id}`.slice(0, 40)
  const site = await call(url, owner.body.key, "POST", "/v1/sites", {
    siteKey,
    origins: [`https://${siteKey}.example`],
    // Opt-out everywhere: a plain server event keeps its visitor's pseudonym.
    policy: { version: "2026-12-01.1", default: "opt-out", unknown: "opt-out" }
  })
  assert.strictEqual(site.status, 201, JSON.stringify(site.body))
  const keyOf = async (role: string) => {
    const key = await call(url, owner.body.key, "POST", "/v1/keys", { role })
    assert.strictEqual(key.status, 201, JSON.stringify(key.body))
    return key.body.key as string
  }
  return {
    id: created.body.id,
    owner: owner.body.key,
    privacy: await keyOf("privacy"),
    analyst: await keyOf("analyst"),
    siteKey
  }
}

/** Sends `count` server events for a visitor and answers the pseudonym the inspector shows for them. */
const visitorWithEvents = async (who: Advertiser, count: number): Promise<string> => {
  const visitorId = `vis_${Date.now().toString(36)}_${n++}`
  const ids = Array.from({ length: count }, (_, i) => `evt_dsar_${visitorId}_${i}`)
  const sent = await call(
    url,
    who.owner,
    "POST",
    "/v1/events",
    ids.map((id) => ({ type: "page_view", id, site: who.siteKey, visitorId }))
  )
  assert.strictEqual(sent.status, 200, JSON.stringify(sent.body))
  return eventually("events stored", async () => {
    const events = await inspect(who)
    const mine = events.filter((event) => ids.includes(event.id))
    if (mine.length < count) return undefined
    const pseudonyms = new Set(mine.map((event) => event.visitor))
    assert.strictEqual(pseudonyms.size, 1)
    const pseudonym = mine[0].visitor as string
    assert.isString(pseudonym)
    assert.notStrictEqual(pseudonym, visitorId)
    return pseudonym
  })
}

const inspect = async (who: Advertiser): Promise<Array<any>> => {
  const answer = await call(url, who.privacy, "GET", "/v1/events?limit=1000")
  assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
  return answer.body.events
}

const erasureOf = (pseudonym: string, extra: Record<string, unknown> = {}) => ({
  type: "erasure",
  subjects: [{ kind: "visitor", id: pseudonym }],
  ...extra
})

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "oa-dsar-api-"))
  const config = ServerConfig.layerTest({
    dataDir,
    databaseUrl: `sqlite:${join(dataDir, "test.db")}`,
    operatorKey: Redacted.make(operatorKey)
  })
  runtime = ManagedRuntime.make(App.layer.pipe(Layer.provide(config), Layer.provide(NodeContext.layer)))
  const { port } = await runtime.runPromise(Listening)
  url = `http://127.0.0.1:${port}`
  receiver = createServer((request, response) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") })
      response.writeHead(204).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve))
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/dsar`
  a = await advertiser("Alpha Privacy")
  b = await advertiser("Beta Privacy")
}, 60_000)

afterAll(async () => {
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()))
  await runtime?.dispose()
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true })
})

describe("the data-subject request API", () => {
  it("erases a visitor by pseudonym, answers a verifiable report and tells the recipients", {
    timeout: 60_000
  }, async () => {
    const recipient = await call(url, a.privacy, "POST", "/v1/recipients", {
      name: "Mail partner",
      kind: "sub-processor",
      url: hookUrl,
      secret: webhookSecret
    })
    assert.strictEqual(recipient.status, 201, JSON.stringify(recipient.body))
    assert.notInclude(JSON.stringify(recipient.body), webhookSecret)
    const listed = await call(url, a.privacy, "GET", "/v1/recipients")
    assert.deepStrictEqual(
      listed.body.recipients.map((r: any) => r.id),
      [recipient.body.id]
    )
    assert.notInclude(JSON.stringify(listed.body), webhookSecret)

    const pseudonym = await visitorWithEvents(a, 3)
    const bystander = await visitorWithEvents(a, 2)

    const submitted = await call(url, a.privacy, "POST", "/v1/dsar", erasureOf(pseudonym, { note: "by email" }))
    assert.strictEqual(submitted.status, 201, JSON.stringify(submitted.body))
    assert.strictEqual(submitted.body.status, "received")
    assert.deepStrictEqual(submitted.body.subjects, [{ kind: "visitor", id: pseudonym }])
    assert.isAbove(submitted.body.dueAt, submitted.body.receivedAt)
    const id = submitted.body.id as string
    assert.strictEqual((await call(url, a.privacy, "GET", `/v1/dsar/${id}/report`)).status, 404, "no report yet")

    const processed = await call(url, a.privacy, "POST", `/v1/dsar/${id}/process`)
    assert.strictEqual(processed.status, 200, JSON.stringify(processed.body))
    assert.strictEqual(processed.body.status, "completed")
    assert.strictEqual((await call(url, a.privacy, "GET", `/v1/dsar/${id}`)).body.status, "completed")
    const completed = await call(url, a.privacy, "GET", "/v1/dsar?status=completed")
    assert.include(
      completed.body.requests.map((r: any) => r.id),
      id
    )
    assert.notInclude(
      (await call(url, a.privacy, "GET", "/v1/dsar?status=received")).body.requests.map((r: any) => r.id),
      id
    )

    // The visitor's events are gone; another visitor's are not.
    const left = await inspect(a)
    assert.isFalse(left.some((event) => event.visitor === pseudonym))
    assert.strictEqual(left.filter((event) => event.visitor === bystander).length, 2)

    // The report verifies with the published key, names no visitor, and fails once changed.
    const answer = await call(url, a.privacy, "GET", `/v1/dsar/${id}/report`)
    assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
    assert.notInclude(JSON.stringify(answer.body), pseudonym)
    const signed = Schema.decodeUnknownSync(Report.Signed)(answer.body)
    const jwks = await (await fetch(`${url}/.well-known/openaudience-dsar-key`)).json()
    const jwk = Schema.decodeUnknownSync(Report.PublicJwk)(jwks.keys[0])
    assert.isTrue(Report.verify(signed, jwk))
    assert.isFalse(Report.verify({ ...signed, report: { ...signed.report, tenant: b.id } }, jwk))
    const dsar = await runtime.runPromise(Dsar.Dsar)
    assert.deepStrictEqual(jwk, dsar.publicJwk)

    // The recipient's webhook waits in the queue until delivery runs, then arrives signed.
    const pending = await call(url, a.privacy, "GET", "/v1/recipients/deliveries?status=pending")
    assert.strictEqual(pending.status, 200)
    assert.lengthOf(pending.body.deliveries, 1)
    assert.strictEqual(pending.body.deliveries[0].event, "dsar.erasure")
    assert.notInclude(JSON.stringify(pending.body), pseudonym, "deliveries are listed without their bodies")
    await runtime.runPromise(dsar.deliverDue())
    const hook = received.find((entry) => entry.body.includes(id))
    assert.isDefined(hook)
    const verified = Webhook.verify(String(hook!.headers["openaudience-signature"]), hook!.body, webhookSecret, {
      now: Date.now()
    })
    assert.isTrue(Either.isRight(verified))
    assert.isTrue(
      Either.isLeft(
        Webhook.verify(String(hook!.headers["openaudience-signature"]), hook!.body, "x".repeat(32), { now: Date.now() })
      )
    )
    const event = JSON.parse(hook!.body)
    assert.strictEqual(event.type, "dsar.erasure")
    assert.strictEqual(event.requestId, id)
    // The webhook names subjects in @openaudience/dsar's wire format (`Webhook.erasureEvent`).
    assert.deepStrictEqual(event.subjects, [{ kind: "visitor", id: pseudonym }])
    const delivered = await call(url, a.privacy, "GET", "/v1/recipients/deliveries?status=delivered")
    assert.lengthOf(delivered.body.deliveries, 1)
    assert.lengthOf((await call(url, a.privacy, "GET", "/v1/recipients/deliveries?status=pending")).body.deliveries, 0)

    // A completed request cannot be processed or refused again.
    const again = await call(url, a.privacy, "POST", `/v1/dsar/${id}/process`)
    assert.strictEqual(again.status, 409, JSON.stringify(again.body))
    assert.strictEqual((await call(url, a.privacy, "POST", `/v1/dsar/${id}/refuse`, { reason: "late" })).status, 409)

    // The erasure is in the audit log, without the visitor.
    const audit = await call(url, a.privacy, "GET", "/v1/audit?limit=1000")
    const actions = audit.body.entries.map((entry: any) => entry.action)
    assert.includeMembers(actions, ["dsar.submit", "dsar.erase", "dsar.recipient-put"])
    assert.notInclude(JSON.stringify(audit.body), pseudonym)

    const removed = await call(url, a.privacy, "DELETE", `/v1/recipients/${recipient.body.id}`)
    assert.strictEqual(removed.status, 204)
    assert.deepStrictEqual((await call(url, a.privacy, "GET", "/v1/recipients")).body.recipients, [])
    assert.strictEqual((await call(url, a.privacy, "DELETE", `/v1/recipients/${recipient.body.id}`)).status, 404)
  })

  it("defers an erasure under a legal hold until the hold is released", { timeout: 60_000 }, async () => {
    const pseudonym = await visitorWithEvents(a, 2)
    const hold = await call(url, a.privacy, "POST", "/v1/holds", {
      subject: { kind: "visitor", id: pseudonym },
      reason: "litigation: Doe v. Alpha",
      reference: "LG-2026-117"
    })
    assert.strictEqual(hold.status, 201, JSON.stringify(hold.body))
    assert.deepStrictEqual(hold.body.subject, { kind: "visitor", id: pseudonym })
    const active = await call(url, a.privacy, "GET", "/v1/holds?active=true")
    assert.include(
      active.body.holds.map((h: any) => h.id),
      hold.body.id
    )

    // Processing at once is refused, naming the hold; the request is kept and says which one it is.
    const atOnce = await call(url, a.privacy, "POST", "/v1/dsar", erasureOf(pseudonym, { process: true }))
    assert.strictEqual(atOnce.status, 409, JSON.stringify(atOnce.body))
    assert.deepStrictEqual(atOnce.body.holds, [{ id: hold.body.id, reference: "LG-2026-117" }])
    const id = atOnce.body.request as string
    assert.strictEqual((await call(url, a.privacy, "GET", `/v1/dsar/${id}`)).body.status, "in-progress")
    const held = await call(url, a.privacy, "POST", `/v1/dsar/${id}/process`)
    assert.strictEqual(held.status, 409)
    assert.strictEqual(held.body.reason, "Held")
    assert.include(held.body.detail, "LG-2026-117")
    assert.strictEqual((await inspect(a)).filter((event) => event.visitor === pseudonym).length, 2, "nothing erased")

    // A release of the held data to a court is recorded in the audit log.
    const release = await call(url, a.privacy, "POST", "/v1/dsar/releases", {
      subjects: [{ kind: "visitor", id: pseudonym }],
      what: "page views",
      recipient: "Regional court",
      reference: "LG-2026-117/3",
      hold: hold.body.id
    })
    assert.strictEqual(release.status, 201, JSON.stringify(release.body))
    const audit = await call(url, a.privacy, "GET", "/v1/audit?limit=1000")
    const entry = audit.body.entries.find((e: any) => e.action === "dsar.legal-release")
    assert.isDefined(entry)
    assert.strictEqual(entry.details.reference, "LG-2026-117/3")
    assert.strictEqual(
      (await call(url, a.privacy, "POST", "/v1/dsar/releases", release.body)).status,
      400,
      "a release's own fields (id, releasedAt) are not the client's"
    )

    const released = await call(url, a.privacy, "DELETE", `/v1/holds/${hold.body.id}`)
    assert.strictEqual(released.status, 200, JSON.stringify(released.body))
    assert.isNumber(released.body.releasedAt)
    assert.strictEqual((await call(url, a.privacy, "DELETE", `/v1/holds/${hold.body.id}`)).status, 409)
    assert.notInclude(
      (await call(url, a.privacy, "GET", "/v1/holds?active=true")).body.holds.map((h: any) => h.id),
      hold.body.id
    )
    const done = await call(url, a.privacy, "POST", `/v1/dsar/${id}/process`)
    assert.strictEqual(done.status, 200, JSON.stringify(done.body))
    assert.strictEqual(done.body.status, "completed")
    assert.strictEqual((await inspect(a)).filter((event) => event.visitor === pseudonym).length, 0)
  })

  it("exports an access request's subjects as JSON or a ZIP", { timeout: 60_000 }, async () => {
    const pseudonym = await visitorWithEvents(a, 2)
    const access = await call(url, a.privacy, "POST", "/v1/dsar", {
      type: "access",
      subjects: [{ kind: "visitor", id: pseudonym }],
      process: true
    })
    assert.strictEqual(access.status, 201, JSON.stringify(access.body))
    assert.strictEqual(access.body.status, "completed")
    const exported = await fetch(`${url}/v1/dsar/${access.body.id}/export`, {
      headers: { authorization: `Bearer ${a.privacy}` }
    })
    assert.strictEqual(exported.status, 200)
    assert.match(exported.headers.get("content-type") ?? "", /^application\/json/)
    const text = await exported.text()
    assert.include(text, `evt_dsar_`)
    const zip = await fetch(`${url}/v1/dsar/${access.body.id}/export?format=zip`, {
      headers: { authorization: `Bearer ${a.privacy}` }
    })
    assert.strictEqual(zip.status, 200)
    assert.strictEqual(zip.headers.get("content-type"), "application/zip")
    assert.match(zip.headers.get("content-disposition") ?? "", /^attachment; filename="dsr_[0-9a-f]{32}\.zip"$/)
    const bytes = new Uint8Array(await zip.arrayBuffer())
    assert.deepStrictEqual([...bytes.slice(0, 2)], [0x50, 0x4b], "a ZIP starts with PK")
    const audit = await call(url, a.privacy, "GET", "/v1/audit?limit=1000")
    assert.strictEqual(audit.body.entries.filter((e: any) => e.action === "dsar.export").length, 2)

    // An erasure has no export, an access request no report; an open request is extended or refused.
    const erasure = await call(url, a.privacy, "POST", "/v1/dsar", erasureOf(pseudonym))
    assert.strictEqual((await call(url, a.privacy, "GET", `/v1/dsar/${erasure.body.id}/export`)).status, 409)
    assert.strictEqual((await call(url, a.privacy, "GET", `/v1/dsar/${access.body.id}/report`)).status, 404)
    const refused = await call(url, a.privacy, "POST", `/v1/dsar/${erasure.body.id}/refuse`, { reason: "not ours" })
    assert.strictEqual(refused.status, 200, JSON.stringify(refused.body))
    assert.strictEqual(refused.body.status, "refused")
    assert.strictEqual(refused.body.refusedReason, "not ours")
    assert.strictEqual((await call(url, a.privacy, "POST", `/v1/dsar/${erasure.body.id}/process`)).status, 409)
    const open = await call(url, a.privacy, "POST", "/v1/dsar", erasureOf(pseudonym))
    const extended = await call(url, a.privacy, "POST", `/v1/dsar/${open.body.id}/extend`, { reason: "complex" })
    assert.strictEqual(extended.status, 200, JSON.stringify(extended.body))
    assert.isAbove(extended.body.dueAt, open.body.dueAt)
    const twice = await call(url, a.privacy, "POST", `/v1/dsar/${open.body.id}/extend`, { reason: "again" })
    assert.strictEqual(twice.status, 409)
    assert.strictEqual(twice.body.reason, "AlreadyExtended")

    // A child's removal is verified by an operator before it is processed.
    const child = await call(url, a.privacy, "POST", "/v1/dsar", {
      type: "child-removal",
      subjects: [{ kind: "visitor", id: pseudonym }]
    })
    assert.strictEqual(child.status, 201, JSON.stringify(child.body))
    assert.strictEqual((await call(url, a.privacy, "POST", `/v1/dsar/${child.body.id}/process`)).status, 409)
    const verified = await call(url, a.privacy, "POST", `/v1/dsar/${child.body.id}/verify`)
    assert.strictEqual(verified.status, 200, JSON.stringify(verified.body))
    assert.strictEqual(verified.body.status, "in-progress")
  })

  it("lets in keys holding privacy:manage only, on their own tenant's ids", { timeout: 60_000 }, async () => {
    const pseudonym = await visitorWithEvents(a, 1)
    const request = await call(url, a.privacy, "POST", "/v1/dsar", erasureOf(pseudonym))
    const hold = await call(url, a.privacy, "POST", "/v1/holds", { reason: "tax audit", reference: "FA-1" })
    const recipient = await call(url, a.privacy, "POST", "/v1/recipients", {
      name: "Partner",
      kind: "partner",
      url: "https://partner.example/hooks",
      secret: webhookSecret
    })
    assert.strictEqual(recipient.status, 201, JSON.stringify(recipient.body))
    const ids: Record<string, string> = {
      "/v1/dsar/:id": request.body.id,
      "/v1/holds/:id": hold.body.id,
      "/v1/recipients/:id": recipient.body.id
    }
    const routes = Object.entries(Access.routes)
      .filter(([route]) => /^\w+ \/v1\/(dsar|holds|recipients)/.test(route))
      .map(([route, access]) => {
        const [method, path] = route.split(" ") as [string, string]
        const prefix = Object.keys(ids).find((p) => path.startsWith(p))
        return { method, path: prefix === undefined ? path : path.replace(":id", ids[prefix]!), access }
      })
    assert.lengthOf(routes, 19)
    for (const { method, path, access } of routes) {
      assert.strictEqual(access, "privacy:manage", path)
      const body = method === "POST" ? {} : undefined
      const denied = await call(url, a.analyst, method, path, body)
      assert.strictEqual(denied.status, 403, `${method} ${path} with an analyst key`)
      assert.strictEqual((await call(url, "oa_not-a-key", method, path, body)).status, 401, `${method} ${path}`)
    }
    // The owner holds privacy:manage too.
    assert.strictEqual((await call(url, a.owner, "GET", `/v1/dsar/${request.body.id}`)).status, 200)

    // Another tenant's ids are 404s (never 403s), whatever the body.
    for (const { method, path } of routes.filter((route) => route.path.includes("_"))) {
      const body = path.endsWith("/extend") || path.endsWith("/refuse") ? { reason: "theirs" } : undefined
      const answer = await call(url, b.privacy, method, path, body)
      assert.strictEqual(
        answer.status,
        404,
        `${method} ${path} with another tenant's key: ${JSON.stringify(answer.body)}`
      )
    }
    assert.strictEqual((await call(url, a.privacy, "GET", `/v1/dsar/${request.body.id}`)).body.status, "received")
    assert.deepStrictEqual((await call(url, b.privacy, "GET", "/v1/dsar")).body.requests, [])
    assert.deepStrictEqual((await call(url, b.privacy, "GET", "/v1/holds")).body.holds, [])
    assert.deepStrictEqual((await call(url, b.privacy, "GET", "/v1/recipients")).body.recipients, [])
    assert.strictEqual((await call(url, a.privacy, "GET", "/v1/dsar/dsr_nope")).status, 404)
    assert.strictEqual((await call(url, a.privacy, "DELETE", "/v1/holds/x")).status, 404)

    // B's request for A's visitor is about B's own pseudonym space: it erases nothing of A's.
    const foreign = await call(url, b.privacy, "POST", "/v1/dsar", erasureOf(pseudonym, { process: true }))
    assert.strictEqual(foreign.status, 201, JSON.stringify(foreign.body))
    assert.strictEqual((await inspect(a)).filter((event) => event.visitor === pseudonym).length, 1)
  })

  it("sets a tenant's deadline policy: its new requests follow it, other tenants stay on GDPR", {
    timeout: 60_000
  }, async () => {
    const day = 86_400_000
    const c = await advertiser("Gamma Privacy")
    const initial = await call(url, c.privacy, "GET", "/v1/dsar/policy")
    assert.strictEqual(initial.status, 200, JSON.stringify(initial.body))
    assert.deepStrictEqual(initial.body, { regime: "gdpr", reminderDaysBefore: [7, 1] })

    const put = await call(url, c.privacy, "PUT", "/v1/dsar/policy", { regime: "ccpa" })
    assert.strictEqual(put.status, 200, JSON.stringify(put.body))
    assert.deepStrictEqual(put.body, { regime: "ccpa", reminderDaysBefore: [7, 1] })
    assert.deepStrictEqual((await call(url, c.owner, "GET", "/v1/dsar/policy")).body, put.body)

    const submitted = await call(url, c.privacy, "POST", "/v1/dsar", erasureOf("gamma-pseudonym"))
    assert.strictEqual(submitted.status, 201, JSON.stringify(submitted.body))
    assert.strictEqual(submitted.body.regime, "ccpa")
    assert.strictEqual(submitted.body.dueAt, submitted.body.receivedAt + 45 * day)
    const extended = await call(url, c.privacy, "POST", `/v1/dsar/${submitted.body.id}/extend`, {
      reason: "many systems to search"
    })
    assert.strictEqual(extended.status, 200, JSON.stringify(extended.body))
    assert.strictEqual(extended.body.dueAt, submitted.body.receivedAt + 90 * day)

    // Another tenant keeps the default.
    assert.deepStrictEqual((await call(url, b.privacy, "GET", "/v1/dsar/policy")).body.regime, "gdpr")
    const theirs = await call(url, b.privacy, "POST", "/v1/dsar", erasureOf("beta-pseudonym"))
    assert.strictEqual(theirs.body.regime, "gdpr")
    assert.notStrictEqual(theirs.body.dueAt, theirs.body.receivedAt + 45 * day)

    // An analyst may neither read nor set it; nothing changes.
    assert.strictEqual((await call(url, c.analyst, "PUT", "/v1/dsar/policy", { regime: "gdpr" })).status, 403)
    assert.strictEqual((await call(url, c.analyst, "GET", "/v1/dsar/policy")).status, 403)
    assert.strictEqual((await call(url, c.privacy, "GET", "/v1/dsar/policy")).body.regime, "ccpa")

    const invalid: ReadonlyArray<readonly [unknown, string]> = [
      [{ regime: "cpra" }, "regime"],
      [{ regime: "custom" }, "custom"],
      [{ regime: "gdpr", custom: { days: 30, extensionDays: 0 } }, "custom"],
      [{ regime: "custom", custom: { days: 0, extensionDays: 0 } }, "custom.days"],
      [{ regime: "custom", custom: { days: 366, extensionDays: 0 } }, "custom.days"],
      [{ regime: "custom", custom: { days: 30, extensionDays: 366 } }, "custom.extensionDays"],
      [{ regime: "custom", custom: { days: 30.5, extensionDays: 0 } }, "custom.days"],
      [{ regime: "ccpa", reminderDaysBefore: [7, -1] }, "reminderDaysBefore[1]"],
      [{ regime: "ccpa", tenant: b.id }, "tenant"]
    ]
    for (const [body, field] of invalid) {
      const answer = await call(url, c.privacy, "PUT", "/v1/dsar/policy", body)
      assert.strictEqual(answer.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`)
      assert.strictEqual(answer.body.field, field, `${JSON.stringify(body)}: ${answer.body.detail}`)
      assert.match(answer.body.type, /invalid-body$/)
    }
    assert.strictEqual((await call(url, c.privacy, "GET", "/v1/dsar/policy")).body.regime, "ccpa")

    // A custom policy with its own reminders, audited.
    const custom = { regime: "custom", custom: { days: 30, extensionDays: 15 }, reminderDaysBefore: [3] }
    const replaced = await call(url, c.privacy, "PUT", "/v1/dsar/policy", custom)
    assert.strictEqual(replaced.status, 200, JSON.stringify(replaced.body))
    assert.deepStrictEqual(replaced.body, custom)
    const later = await call(url, c.privacy, "POST", "/v1/dsar", erasureOf("gamma-pseudonym-2"))
    assert.strictEqual(later.body.dueAt, later.body.receivedAt + 30 * day)
    const audit = await call(url, c.owner, "GET", "/v1/audit?limit=1000")
    assert.strictEqual(audit.body.entries.filter((entry: any) => entry.action === "dsar.policy").length, 2)
  })

  it("refuses bad bodies and parameters with a problem naming the field", { timeout: 30_000 }, async () => {
    const cases: ReadonlyArray<readonly [string, string, unknown, string]> = [
      ["POST", "/v1/dsar", { type: "erase", subjects: [{ kind: "visitor", id: "v" }] }, "type"],
      ["POST", "/v1/dsar", { type: "erasure", subjects: [] }, "subjects"],
      ["POST", "/v1/dsar", { type: "erasure", subjects: [{ kind: "visitor", id: "" }] }, "subjects[0].id"],
      ["POST", "/v1/dsar", { type: "erasure", subjects: [{ kind: "email", id: "a@b.example" }] }, "subjects[0].kind"],
      ["POST", "/v1/dsar", { type: "erasure", subjects: [{ kind: "visitor", id: "v" }], tenant: b.id }, "tenant"],
      ["POST", "/v1/dsar", { type: "erasure", subjects: [{ kind: "visitor", id: "v" }], process: "yes" }, "process"],
      ["POST", "/v1/holds", { reference: "X-1" }, "reason"],
      ["POST", "/v1/holds", { reason: "r", reference: "X-1", subject: { kind: "user" } }, "subject.id"],
      [
        "POST",
        "/v1/dsar/releases",
        { subjects: [{ kind: "visitor", id: "v" }], what: "w", recipient: "r" },
        "reference"
      ],
      [
        "POST",
        "/v1/recipients",
        { name: "n", kind: "partner", url: "http://partner.example/", secret: webhookSecret },
        "url"
      ],
      [
        "POST",
        "/v1/recipients",
        { name: "n", kind: "partner", url: "https://u:p@partner.example/", secret: webhookSecret },
        "url"
      ],
      ["POST", "/v1/recipients", { name: "n", kind: "partner", url: "not a url", secret: webhookSecret }, "url"],
      [
        "POST",
        "/v1/recipients",
        { name: "n", kind: "partner", url: "https://partner.example/", secret: "short" },
        "secret"
      ],
      [
        "POST",
        "/v1/recipients",
        { name: "n", kind: "vendor", url: "https://partner.example/", secret: webhookSecret },
        "kind"
      ]
    ]
    for (const [method, path, body, field] of cases) {
      const answer = await call(url, a.privacy, method, path, body)
      assert.strictEqual(answer.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(answer.body)}`)
      assert.strictEqual(answer.body.field, field, `${path} ${JSON.stringify(body)}: ${answer.body.detail}`)
      assert.match(answer.body.type, /invalid-body$/)
    }
    const open = await call(url, a.privacy, "POST", "/v1/dsar", erasureOf("some-pseudonym"))
    const noReason = await call(url, a.privacy, "POST", `/v1/dsar/${open.body.id}/extend`, {})
    assert.strictEqual(noReason.status, 400)
    assert.strictEqual(noReason.body.field, "reason")
    const rectifyVisitor = await call(url, a.privacy, "POST", "/v1/dsar", {
      type: "rectification",
      subjects: [{ kind: "visitor", id: "v" }]
    })
    assert.strictEqual(rectifyVisitor.status, 400, "rectification is for users only")
    const status = await call(url, a.privacy, "GET", "/v1/dsar?status=lost")
    assert.strictEqual(status.status, 400)
    assert.strictEqual(status.body.field, "status")
    assert.strictEqual((await call(url, a.privacy, "GET", "/v1/holds?active=maybe")).status, 400)
    assert.strictEqual((await call(url, a.privacy, "GET", "/v1/recipients/deliveries?status=lost")).status, 400)
    const loopback = await call(url, a.privacy, "POST", "/v1/recipients", {
      name: "Local",
      kind: "partner",
      url: "http://localhost:9/hooks",
      secret: webhookSecret
    })
    assert.strictEqual(loopback.status, 201, "plain http is allowed on loopback")
  })
})

describe("DsarApi.problemOf", () => {
  const answer = (error: Dsar.ProcessError) =>
    Effect.runSync(Effect.flip(DsarApi.problemOf(error)).pipe(Effect.map((failure) => failure.problem)))

  it("answers an erasure that failed on an unreachable store 503 with its message (it is retried)", () => {
    const problem = answer(
      new Erasure.ErasureFailed({ reason: "Unreachable", store: "events", message: "events: connection refused" })
    )
    assert.strictEqual(problem.status, 503)
    assert.match(problem.type, /unavailable$/)
    assert.strictEqual(problem.detail, "events: connection refused")
  })

  it("maps the store's and the request's errors to 404, 409, 503 and 400", () => {
    const status = (error: Dsar.ProcessError) => answer(error).status
    assert.strictEqual(status(new DsarStore.DsarStoreError({ reason: "NotFound", message: "no" })), 404)
    assert.strictEqual(status(new DsarStore.DsarStoreError({ reason: "Conflict", message: "changed" })), 409)
    assert.strictEqual(status(new DsarStore.DsarStoreError({ reason: "Unavailable", message: "down" })), 503)
    assert.strictEqual(status(new Request.DsarError({ reason: "InvalidRequest", message: "no subject" })), 400)
    for (const reason of [
      "InvalidTransition",
      "VerificationRequired",
      "ExtensionTooLate",
      "AlreadyExtended",
      "NotExtendable",
      "Held"
    ] as const) {
      assert.strictEqual(status(new Request.DsarError({ reason, message: reason })), 409, reason)
    }
  })
})
