/**
 * The privacy center over HTTP, shared by the SQLite and PostgreSQL tests: a browser (played by fetch) views a
 * product in the demo shop, opens the privacy center by posting its first-party visitor id (as `oa("privacy")`
 * does), sees and downloads the event, deletes its data from the center's own page, gets a signed report that
 * verifies with the published key, and the inspector holds none of its events afterwards; its next visit with the
 * same first-party id is stored under a new pseudonym.
 */
import { assert } from "@effect/vitest"
import { Report } from "@openaudience/dsar"
import { WireFormat } from "@openaudience/pixel"
import * as Schema from "effect/Schema"
import { randomBytes } from "node:crypto"
import { inspect } from "./server.js"

const pixel = async (url: string, event: Record<string, unknown>) => {
  const answer = await fetch(`${url}/px.gif?${WireFormat.encodeQuery(event as never)}`)
  await answer.arrayBuffer()
  assert.strictEqual(answer.status, 200)
}

const eventually = async <A>(what: string, attempt: () => Promise<A | undefined>, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await attempt()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
}

/** The `name=value` of a cookie the answer sets. */
const setCookie = (response: Response, name: string): string | undefined =>
  response.headers
    .getSetCookie()
    .find((line) => line.startsWith(`${name}=`))
    ?.split(";")[0]

export const privacyFlowScenario = async (url: string) => {
  const vid = randomBytes(16).toString("hex")
  const product = `sku-privacy-${randomBytes(4).toString("hex")}`
  const eventId = `ev-${randomBytes(6).toString("hex")}`
  await pixel(url, { type: "product_view", id: eventId, site: "demo", visitorId: vid, productId: product })
  const stored = await eventually("the product view in the inspector", async () =>
    (await inspect(url, 1000)).find((event) => event.id === eventId)
  )
  const pseudonym: string = stored.visitor
  assert.isString(pseudonym)
  assert.notInclude(pseudonym, vid)

  // The center opens with the posted id (a form body: no identifier in a URL).
  const opened = await fetch(`${url}/privacy`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ site: "demo", vid }),
    redirect: "manual"
  })
  assert.strictEqual(opened.status, 303)
  assert.strictEqual(opened.headers.get("location"), "/privacy")
  const session = setCookie(opened, "oa_privacy")!
  assert.isDefined(session)
  assert.notInclude(session, vid)
  assert.notInclude(session, pseudonym)

  const page = await fetch(`${url}/privacy`, { headers: { cookie: session } })
  assert.strictEqual(page.status, 200)
  const html = await page.text()
  assert.include(html, product)
  assert.notInclude(html, "Nothing is held about this browser.")

  const download = await fetch(`${url}/privacy/download.json`, { headers: { cookie: session } })
  assert.strictEqual(download.status, 200)
  assert.include(download.headers.get("content-disposition") ?? "", "attachment")
  const exported = await download.text()
  assert.include(exported, product)
  assert.notInclude(exported, vid, "the raw first-party id is never stored, so never exported")

  // A deletion from another site is refused; from the center's own page it runs.
  const forged = await fetch(`${url}/privacy/delete`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: session, "sec-fetch-site": "cross-site" },
    body: "confirm=yes",
    redirect: "manual"
  })
  assert.strictEqual(forged.status, 403)
  assert.isDefined((await inspect(url, 1000)).find((event) => event.id === eventId))

  const deleted = await fetch(`${url}/privacy/delete`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: session, "sec-fetch-site": "same-origin" },
    body: "confirm=yes",
    redirect: "manual"
  })
  assert.strictEqual(deleted.status, 200)
  const afterHtml = await deleted.text()
  assert.include(afterHtml, "Your data is deleted")
  const requestId = /\/privacy\/report\/(dsr_[0-9a-f]{32})/.exec(afterHtml)?.[1]
  assert.isDefined(requestId, afterHtml)
  const reportSession = setCookie(deleted, "oa_privacy")!

  const reportAnswer = await fetch(`${url}/privacy/report/${requestId}`, { headers: { cookie: reportSession } })
  assert.strictEqual(reportAnswer.status, 200)
  const signed = Schema.decodeUnknownSync(Report.Signed)(await reportAnswer.json())
  const keys = (await (await fetch(`${url}/.well-known/openaudience-dsar-key`)).json()) as {
    keys: Array<Report.PublicJwk>
  }
  assert.isTrue(Report.verify(signed, keys.keys[0]!))
  assert.isTrue(signed.report.stores.every((store) => store.remaining === 0))
  assert.isAtLeast(
    signed.report.stores.reduce((sum, store) => sum + store.erased, 0),
    1
  )
  const tampered = { ...signed, report: { ...signed.report, stores: signed.report.stores.slice(1) } }
  assert.isFalse(Report.verify(tampered, keys.keys[0]!))
  // Another browser (no session) cannot fetch the report.
  assert.strictEqual((await fetch(`${url}/privacy/report/${requestId}`)).status, 404)

  // The inspector holds none of the subject's events; the center is empty.
  assert.deepStrictEqual(
    (await inspect(url, 1000)).filter((event) => event.visitor === pseudonym),
    []
  )
  const empty = await (await fetch(`${url}/privacy`, { headers: { cookie: session } })).text()
  assert.include(empty, "Nothing is held about this browser.", empty)

  // The next visit with the same first-party id (the shop's cookie still holds it) gets a new pseudonym.
  const nextId = `ev-${randomBytes(6).toString("hex")}`
  await pixel(url, { type: "product_view", id: nextId, site: "demo", visitorId: vid, productId: product })
  const next = await eventually("the next visit in the inspector", async () =>
    (await inspect(url, 1000)).find((event) => event.id === nextId)
  )
  assert.isString(next.visitor)
  assert.notStrictEqual(next.visitor, pseudonym)
}
