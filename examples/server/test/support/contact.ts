/**
 * The contact form end to end, shared by the SQLite and PostgreSQL tests: the form page, JSON submissions (valid,
 * with a card number, with the honeypot filled), reading them with a `privacy` key only (an `admin` key is refused),
 * closing and erasing, the rate limit per network, and nothing of the message in clear in the data folder.
 */
import { assert } from "@effect/vitest"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import type { TestServer } from "./server.js"
import { adminKey } from "./server.js"
import { operatorKey } from "./tenancy.js"

const call = async (url: string, key: string | undefined, method: string, path: string, body?: unknown) => {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(body === undefined ? {} : { "content-type": "application/json" })
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  const type = response.headers.get("content-type") ?? ""
  return {
    status: response.status,
    headers: response.headers,
    body: text === "" ? null : type.includes("json") ? JSON.parse(text) : text
  }
}

/** Every file under `dir`, as bytes. */
const filesUnder = (dir: string): Array<Buffer> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [readFileSync(path)]
  })

export const contactScenario = async (server: TestServer, scanFiles: boolean) => {
  const { url } = server
  const form = await call(url, undefined, "GET", "/contact")
  assert.strictEqual(form.status, 200)
  assert.include(form.body, 'name="message"')
  assert.strictEqual(form.headers.get("x-frame-options") ?? "DENY", "DENY")

  const posted = await fetch(`${url}/contact`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
    body: new URLSearchParams({
      site: "demo",
      name: "Form Sender",
      email: "form@example.test",
      message: "From the form"
    })
  })
  assert.strictEqual(posted.status, 200)
  assert.include(await posted.text(), "your message was received")

  const message = `Where is my parcel, order rq-${Date.now().toString(36)}? Please call me.`
  const sent = await call(url, undefined, "POST", "/v1/inquiries", {
    site: "demo",
    name: "Rosa Quill",
    email: "Rosa.Quill@Example.test",
    message
  })
  assert.strictEqual(sent.status, 201, JSON.stringify(sent.body))
  assert.match(sent.body.id, /^inq_[0-9a-f]{32}$/)
  const card = await call(url, undefined, "POST", "/v1/inquiries", {
    site: "demo",
    name: "Rosa Quill",
    email: "rosa@example.test",
    message: "my card is 4111 1111 1111 1111"
  })
  assert.strictEqual(card.status, 400)
  assert.strictEqual(card.body.field, "message")
  assert.notInclude(JSON.stringify(card.body), "4111")
  const bot = await call(url, undefined, "POST", "/v1/inquiries", {
    site: "demo",
    name: "Bot",
    email: "bot@example.test",
    message: "buy now",
    website: "https://spam.example"
  })
  assert.strictEqual(bot.status, 201, "a bot is told nothing")
  const unknownSite = { site: "nope", name: "x", email: "x@example.test", message: "hello" }
  assert.strictEqual((await call(url, undefined, "POST", "/v1/inquiries", unknownSite)).status, 404)
  // A body without the required fields is refused before anything is looked up, naming the field.
  const incomplete = await call(url, undefined, "POST", "/v1/inquiries", { site: "nope", name: "x" })
  assert.strictEqual(incomplete.status, 400)
  assert.strictEqual(incomplete.body.field, "email")

  // Readers: owner and privacy keys only.
  const privacy = await call(url, operatorKey, "POST", "/v1/tenants/demo/keys", { role: "privacy" })
  assert.strictEqual(privacy.status, 201, JSON.stringify(privacy.body))
  assert.strictEqual((await call(url, adminKey, "GET", "/v1/inquiries")).status, 403)
  const listed = await call(url, privacy.body.key, "GET", "/v1/inquiries")
  assert.strictEqual(listed.status, 200, JSON.stringify(listed.body))
  assert.deepStrictEqual(listed.body.inquiries.map((i: any) => [i.name, i.email, i.message, i.status]).sort(), [
    ["Form Sender", "form@example.test", "From the form", "open"],
    ["Rosa Quill", "rosa.quill@example.test", message, "open"]
  ])
  if (scanFiles) {
    for (const bytes of filesUnder(server.dataDir)) {
      assert.notInclude(bytes.toString("latin1"), message.slice(0, 24), "the message is never in clear on disk")
      assert.notInclude(bytes.toString("latin1"), "Rosa Quill")
    }
  }

  // Close, erase.
  const id = listed.body.inquiries.find((i: any) => i.name === "Rosa Quill").id
  assert.strictEqual((await call(url, privacy.body.key, "POST", `/v1/inquiries/${id}/close`)).status, 204)
  assert.strictEqual((await call(url, privacy.body.key, "DELETE", `/v1/inquiries/${id}`)).status, 204)
  assert.strictEqual((await call(url, privacy.body.key, "DELETE", `/v1/inquiries/${id}`)).status, 404)
  assert.deepStrictEqual(
    (await call(url, privacy.body.key, "GET", "/v1/inquiries")).body.inquiries.map((i: any) => i.name),
    ["Form Sender"]
  )

  // The audit log records the reads (never their content).
  const audit = await call(url, privacy.body.key, "GET", "/v1/audit?limit=1000")
  const actions = audit.body.entries.map((e: any) => e.action)
  for (const action of ["inquiry.list", "inquiry.close", "inquiry.erase"]) assert.include(actions, action)
  assert.notInclude(JSON.stringify(audit.body), "Rosa")

  // The rate limit: a few per network, then 429 with Retry-After.
  let limited: Awaited<ReturnType<typeof call>> | undefined
  for (let i = 0; i < 8 && limited === undefined; i++) {
    const answer = await call(url, undefined, "POST", "/v1/inquiries", {
      site: "demo",
      name: "Flood",
      email: "flood@example.test",
      message: `message ${i}`
    })
    if (answer.status === 429) limited = answer
  }
  assert.isDefined(limited, "the sixth message from one network within 10 minutes is refused")
  assert.match(limited!.headers.get("retry-after") ?? "", /^\d+$/)
}
