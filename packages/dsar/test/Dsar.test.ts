import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as TestClock from "effect/TestClock"
import { Deadline, Dsar, DsarStore, Registry, Report, Subject, Webhook } from "../src/index.js"

const hour = 60 * 60_000

const key = (subject: Subject.Subject) => `${subject._tag}:${subject.tenant}:${Subject.idOf(subject)}`

/** A fake store of subject data: rows per subject; `down` makes every call fail with `StoreUnavailable`. */
interface FakeStore extends Registry.SubjectStore {
  readonly rows: Map<string, Array<Record<string, unknown>>>
  down: boolean
  readonly rowsOf: (subject: Subject.Subject) => number
}

const fakeStore = (
  name: string,
  initial: ReadonlyArray<readonly [Subject.Subject, number]>,
  retained: ReadonlyArray<Registry.Retained> = []
): FakeStore => {
  const rows = new Map(
    initial.map(
      ([subject, count]) =>
        [key(subject), Array.from({ length: count }, (_, index) => ({ store: name, index }))] as const
    )
  )
  const unavailable = () => new Registry.StoreUnavailable({ store: name, message: "connection refused" })
  const store: FakeStore = {
    name,
    kinds: ["Visitor", "Browser", "User"],
    tables: [{ table: name, subjectColumns: ["visitor"] }],
    retained,
    rows,
    down: false,
    rowsOf: (subject) => rows.get(key(subject))?.length ?? 0,
    count: (subject) => (store.down ? Effect.fail(unavailable()) : Effect.sync(() => store.rowsOf(subject))),
    export: (subject, { limit }) =>
      store.down
        ? Effect.fail(unavailable())
        : Effect.sync(() =>
            (rows.get(key(subject)) ?? []).slice(0, limit).map((fields) => ({ store: name, kind: "row", fields }))
          ),
    erase: (subject) =>
      store.down
        ? Effect.fail(unavailable())
        : Effect.sync(() => {
            const had = store.rowsOf(subject)
            rows.delete(key(subject))
            return had
          })
  }
  return store
}

const alice = new Subject.Visitor({ tenant: "shop", visitor: "v-alice-7f3" })
const aliceBrowser = new Subject.Browser({ tenant: "shop", browser: "b-alice-91c" })
const bob = new Subject.Visitor({ tenant: "shop", visitor: "v-bob-22a" })
const carol = new Subject.Visitor({ tenant: "news", visitor: "v-carol-5d0" })
const rawIds = ["v-alice-7f3", "b-alice-91c", "v-bob-22a", "v-carol-5d0"]

const signingKey = Report.SigningKey.fromSecret(Redacted.make("test server secret"))
const retainedInvoices: Registry.Retained = {
  store: "orders",
  what: "invoices of purchases",
  why: "tax law: 10 years"
}

interface Sent extends Dsar.OutgoingWebhook {
  readonly at: number
}

/** The fakes of one test: stores, the audit log, the webhooks sent, and the answers of recipients by URL. */
const harness = (overrides: Partial<Dsar.Options> = {}) => {
  const events = fakeStore("events", [
    [alice, 3],
    [aliceBrowser, 2],
    [bob, 4],
    [carol, 1]
  ])
  const orders = fakeStore(
    "orders",
    [
      [alice, 1],
      [bob, 2]
    ],
    [retainedInvoices]
  )
  const audit: Array<Dsar.AuditEntry> = []
  const sent: Array<Sent> = []
  const statusOf = new Map<string, number>()
  const objected: Array<ReadonlyArray<Subject.Subject>> = []
  const options: Dsar.Options = {
    signingKey,
    audit: (entry) => Effect.sync(() => void audit.push(entry)),
    afterObjection: (subjects) => Effect.sync(() => void objected.push(subjects)),
    sealSecret: (_tenant, secret) =>
      Effect.succeed(`sealed:${Buffer.from(Redacted.value(secret), "utf8").toString("base64")}`),
    openSecret: (_tenant, sealed) =>
      sealed === `sealed:${Buffer.from("unopenable", "utf8").toString("base64")}`
        ? Effect.fail(new DsarStore.DsarStoreError({ reason: "Unavailable", message: "vault: key not found" }))
        : Effect.succeed(Redacted.make(Buffer.from(sealed.slice("sealed:".length), "base64").toString("utf8"))),
    send: (webhook) =>
      Effect.flatMap(Clock.currentTimeMillis, (at) => {
        sent.push({ ...webhook, at })
        return Effect.succeed(statusOf.get(webhook.url) ?? 200)
      }),
    ...overrides
  }
  const layer = Dsar.layer(options).pipe(
    Layer.provideMerge(
      Layer.merge(Layer.succeed(Registry.Registry, { stores: [events, orders] }), DsarStore.layerMemory)
    )
  )
  const auditJson = () => JSON.stringify(audit)
  return { events, orders, audit, auditJson, sent, statusOf, objected, layer }
}

const start = Date.UTC(2026, 2, 15, 10, 0, 0)

describe("Dsar", () => {
  it.effect("acknowledges a request at once, due one calendar month later, audited without the subject", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 0, 31, 9, 30))
      const dsar = yield* Dsar.Dsar
      const request = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [alice], actor: "user:op" })
      assert.strictEqual(request.status, "received")
      assert.strictEqual(request.acknowledgedAt, Date.UTC(2026, 0, 31, 9, 30))
      // one calendar month, clamped to the last day of February
      assert.strictEqual(request.dueAt, Date.UTC(2026, 1, 28, 9, 30))
      assert.strictEqual(request.regime, "gdpr")
      const entry = h.audit.find((e) => e.action === "dsar.submit")
      assert.isDefined(entry)
      assert.strictEqual(entry!.target, request.id)
      assert.strictEqual(entry!.tenant, "shop")
      for (const id of rawIds) assert.notInclude(h.auditJson(), id)
      assert.deepStrictEqual((yield* dsar.get("shop", request.id)).acknowledgedAt, request.acknowledgedAt)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("erases a subject from every store, completes, and serves a signed report that verifies", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const request = yield* dsar.submit({
        tenant: "shop",
        type: "erasure",
        subjects: [alice, aliceBrowser],
        actor: "user:op"
      })
      const done = yield* dsar.process("shop", request.id, "user:op")
      assert.strictEqual(done.status, "completed")
      assert.strictEqual((yield* dsar.get("shop", request.id)).status, "completed")
      for (const store of [h.events, h.orders]) {
        assert.strictEqual(store.rowsOf(alice), 0)
        assert.strictEqual(store.rowsOf(aliceBrowser), 0)
      }
      assert.strictEqual(h.events.rowsOf(bob), 4)
      assert.strictEqual(h.orders.rowsOf(bob), 2)
      assert.strictEqual(h.events.rowsOf(carol), 1)

      const signed = yield* dsar.report("shop", request.id)
      assert.isTrue(Report.verify(signed, dsar.publicJwk))
      assert.strictEqual(signed.report.requestId, request.id)
      assert.deepStrictEqual(
        signed.report.stores.map((s) => [s.name, s.erased, s.remaining]),
        [
          ["events", 5, 0],
          ["orders", 1, 0]
        ]
      )
      assert.deepStrictEqual(signed.report.retained, [retainedInvoices])
      assert.deepStrictEqual(dsar.retained, [retainedInvoices])
      assert.deepStrictEqual(signed.report.subjects, [Report.digest(alice), Report.digest(aliceBrowser)].sort())
      const tampered = { ...signed, report: { ...signed.report, stores: [] } }
      assert.isFalse(Report.verify(tampered, dsar.publicJwk))
      assert.isTrue(h.audit.some((e) => e.action === "dsar.erase" && e.target === request.id))
      for (const id of rawIds) assert.notInclude(h.auditJson(), id)
      // another tenant sees neither the request nor its report
      assert.strictEqual((yield* Effect.flip(dsar.get("news", request.id))).reason, "NotFound")
      assert.strictEqual((yield* Effect.flip(dsar.report("news", request.id))).reason, "NotFound")
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("leaves an erasure in progress when a store is unreachable, and retryPending completes it", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      yield* dsar.putRecipient({
        tenant: "shop",
        name: "CDP",
        kind: "sub-processor",
        url: "https://cdp.example/hook",
        secret: Redacted.make("cdp-secret"),
        actor: "user:op"
      })
      const request = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [alice], actor: "user:op" })
      h.orders.down = true
      const failed = yield* Effect.flip(dsar.process("shop", request.id, "user:op"))
      assert.strictEqual(failed._tag, "ErasureFailed")
      assert.strictEqual(h.events.rowsOf(alice), 3)
      const missing = yield* Effect.flip(dsar.report("shop", request.id))
      assert.strictEqual(missing.reason, "NotFound")
      const pending = yield* dsar.get("shop", request.id)
      assert.strictEqual(pending.status, "in-progress")
      assert.strictEqual(pending.history.at(-1)?.action, "erasure-failed")
      assert.deepStrictEqual(yield* dsar.deliveries("shop"), [])
      assert.isFalse(h.audit.some((e) => e.action === "dsar.erase"))

      // still down: the retry fails again and records the failure once
      yield* TestClock.adjust("10 minutes")
      yield* dsar.retryPending
      const still = yield* dsar.get("shop", request.id)
      assert.strictEqual(still.status, "in-progress")
      assert.strictEqual(still.history.filter((t) => t.action === "erasure-failed").length, 1)

      h.orders.down = false
      yield* TestClock.adjust("10 minutes")
      yield* dsar.retryPending
      const completed = yield* dsar.get("shop", request.id)
      assert.strictEqual(completed.status, "completed")
      assert.strictEqual(h.events.rowsOf(alice), 0)
      assert.strictEqual(h.orders.rowsOf(alice), 0)
      const signed = yield* dsar.report("shop", request.id)
      assert.isTrue(Report.verify(signed, dsar.publicJwk))
      assert.strictEqual((yield* dsar.deliveries("shop", "pending")).length, 1)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("defers an erasure under a legal hold on the subject until the hold is released", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const hold = yield* dsar.addHold({
        tenant: "shop",
        subject: alice,
        reason: "litigation",
        reference: "case 42",
        actor: "user:legal"
      })
      // a hold on Bob does not hold Alice's erasure, and the other way round
      const bobs = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [bob], actor: "user:op" })
      assert.strictEqual((yield* dsar.process("shop", bobs.id, "user:op")).status, "completed")

      const request = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [alice], actor: "user:op" })
      const error = yield* Effect.flip(dsar.process("shop", request.id, "user:op"))
      assert.strictEqual(error._tag, "DsarError")
      assert.strictEqual(error._tag === "DsarError" ? error.reason : undefined, "Held")
      assert.strictEqual(h.events.rowsOf(alice), 3)
      assert.strictEqual(h.orders.rowsOf(alice), 1)
      assert.strictEqual((yield* dsar.get("shop", request.id)).status, "in-progress")
      assert.isTrue(h.audit.some((e) => e.action === "dsar.held" && e.target === request.id))
      assert.strictEqual((yield* Effect.flip(dsar.report("shop", request.id))).reason, "NotFound")

      // the worker leaves a held request alone: no erasure, no audit entry per poll
      yield* dsar.retryPending
      yield* TestClock.adjust("1 hour")
      yield* dsar.retryPending
      assert.strictEqual(h.audit.filter((e) => e.action === "dsar.held").length, 1)
      assert.strictEqual(h.events.rowsOf(alice), 3)
      assert.strictEqual((yield* dsar.get("shop", request.id)).status, "in-progress")

      yield* TestClock.adjust("1 day")
      yield* dsar.releaseHold("shop", hold.id, "user:legal")
      assert.deepStrictEqual(yield* dsar.holds("shop", true), [])
      const done = yield* dsar.process("shop", request.id, "user:op")
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(h.events.rowsOf(alice), 0)
      assert.isTrue(Report.verify(yield* dsar.report("shop", request.id), dsar.publicJwk))
      for (const id of rawIds) assert.notInclude(h.auditJson(), id)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("defers every erasure of a tenant under a tenant-wide hold, and not another tenant's", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const hold = yield* dsar.addHold({ tenant: "shop", reason: "audit", reference: "order 7", actor: "user:legal" })
      const request = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [bob], actor: "user:op" })
      const error = yield* Effect.flip(dsar.process("shop", request.id, "user:op"))
      assert.strictEqual(error._tag === "DsarError" ? error.reason : error._tag, "Held")
      assert.strictEqual(h.events.rowsOf(bob), 4)
      assert.isTrue(h.audit.some((e) => e.action === "dsar.held"))

      const other = yield* dsar.submit({ tenant: "news", type: "erasure", subjects: [carol], actor: "user:op" })
      assert.strictEqual((yield* dsar.process("news", other.id, "user:op")).status, "completed")

      yield* dsar.releaseHold("shop", hold.id, "user:legal")
      // once the hold is released, the worker completes the deferred erasure
      yield* TestClock.adjust("1 minute")
      yield* dsar.retryPending
      assert.strictEqual((yield* dsar.get("shop", request.id)).status, "completed")
      assert.isTrue(Report.verify(yield* dsar.report("shop", request.id), dsar.publicJwk))
      assert.strictEqual(h.events.rowsOf(bob), 0)
      assert.strictEqual(h.orders.rowsOf(bob), 0)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("records an objection as a permanent opt-out and tells the deployment, keeping the data", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const store = yield* DsarStore.DsarStore
      const request = yield* dsar.submit({ tenant: "shop", type: "objection", subjects: [alice], actor: "visitor" })
      assert.isFalse(yield* store.objections.has("shop", alice.visitor))
      const done = yield* dsar.process("shop", request.id, "visitor")
      assert.strictEqual(done.status, "completed")
      assert.isTrue(yield* store.objections.has("shop", alice.visitor))
      assert.isFalse(yield* store.objections.has("shop", bob.visitor))
      assert.isFalse(yield* store.objections.has("news", alice.visitor))
      assert.deepStrictEqual(h.objected, [[alice]])
      assert.strictEqual(h.events.rowsOf(alice), 3)
      assert.isTrue(h.audit.some((e) => e.action === "dsar.objection" && e.target === request.id))
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("requires a child's removal to be verified before it is processed", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const request = yield* dsar.submit({
        tenant: "shop",
        type: "child-removal",
        subjects: [bob],
        actor: "user:op"
      })
      const error = yield* Effect.flip(dsar.process("shop", request.id, "user:op"))
      assert.strictEqual(error._tag === "DsarError" ? error.reason : error._tag, "VerificationRequired")
      assert.strictEqual(h.events.rowsOf(bob), 4)
      assert.strictEqual((yield* dsar.get("shop", request.id)).status, "received")

      const verified = yield* dsar.verify("shop", request.id, "user:op")
      assert.strictEqual(verified.status, "in-progress")
      const done = yield* dsar.process("shop", request.id, "user:op")
      assert.strictEqual(done.status, "completed")
      assert.strictEqual(h.events.rowsOf(bob), 0)
      assert.strictEqual(h.orders.rowsOf(bob), 0)
      const signed = yield* dsar.report("shop", request.id)
      assert.strictEqual(signed.report.type, "child-removal")
      assert.isTrue(Report.verify(signed, dsar.publicJwk))
    }).pipe(Effect.provide(h.layer))
  })

  it.effect(
    "sends signed webhooks to every recipient, retries a failing one and dead-letters it after 72 hours",
    () => {
      const h = harness()
      return Effect.gen(function* () {
        yield* TestClock.setTime(start)
        const dsar = yield* Dsar.Dsar
        const secrets = new Map([
          ["https://cdp.example/hook", "cdp-secret"],
          ["https://partner.example/dsar", "partner-secret"]
        ])
        const cdp = yield* dsar.putRecipient({
          tenant: "shop",
          name: "CDP",
          kind: "sub-processor",
          url: "https://cdp.example/hook",
          secret: Redacted.make("cdp-secret"),
          actor: "user:op"
        })
        const partner = yield* dsar.putRecipient({
          tenant: "shop",
          name: "Partner",
          kind: "partner",
          url: "https://partner.example/dsar",
          secret: Redacted.make("partner-secret"),
          actor: "user:op"
        })
        assert.notInclude(JSON.stringify(yield* dsar.recipients("shop")), 'secret":')
        h.statusOf.set("https://partner.example/dsar", 500)

        const request = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [alice], actor: "user:op" })
        yield* dsar.process("shop", request.id, "user:op")
        const queued = yield* dsar.deliveries("shop", "pending")
        assert.deepStrictEqual(queued.map((d) => d.recipientId).sort(), [cdp.id, partner.id].sort())
        assert.isTrue(queued.every((d) => d.event === "dsar.erasure"))

        assert.strictEqual(yield* dsar.deliverDue(), 2)
        assert.strictEqual(h.sent.length, 2)
        const now = yield* Clock.currentTimeMillis
        for (const webhook of h.sent) {
          const header = webhook.headers["openaudience-signature"]!
          const secret = secrets.get(webhook.url)!
          assert.isTrue(Either.isRight(Webhook.verify(header, webhook.body, secret, { now })))
          assert.isTrue(Either.isLeft(Webhook.verify(header, `${webhook.body} `, secret, { now })))
          const other = [...secrets.values()].find((s) => s !== secret)!
          assert.isTrue(Either.isLeft(Webhook.verify(header, webhook.body, other, { now })))
          const event = JSON.parse(webhook.body)
          assert.strictEqual(event.type, "dsar.erasure")
          assert.strictEqual(event.requestId, request.id)
          assert.deepStrictEqual(event.subjects, [{ kind: "visitor", id: alice.visitor }])
        }
        assert.deepStrictEqual(
          (yield* dsar.deliveries("shop", "delivered")).map((d) => d.recipientId),
          [cdp.id]
        )
        const failing = (yield* dsar.deliveries("shop", "pending"))[0]!
        assert.strictEqual(failing.recipientId, partner.id)
        assert.isAbove(failing.nextAttemptAt, now)

        // not due yet: nothing is sent
        assert.strictEqual(yield* dsar.deliverDue(), 0)
        yield* TestClock.setTime(failing.nextAttemptAt + 1)
        assert.strictEqual(yield* dsar.deliverDue(), 1)
        assert.strictEqual(h.sent.length, 3)
        assert.strictEqual(h.sent[2]!.url, "https://partner.example/dsar")

        let deadAt: number | undefined
        for (let step = 0; step < 600 && deadAt === undefined; step++) {
          yield* TestClock.adjust("10 minutes")
          yield* dsar.deliverDue()
          if ((yield* dsar.deliveries("shop", "dead")).length > 0) deadAt = yield* Clock.currentTimeMillis
          if (deadAt === undefined && (yield* Clock.currentTimeMillis) < start + 70 * hour) {
            assert.strictEqual((yield* dsar.deliveries("shop", "pending")).length, 1)
          }
        }
        assert.isDefined(deadAt)
        assert.isAtLeast(deadAt! - start, 70 * hour)
        assert.isAtMost(deadAt! - start, 72 * hour + 10 * 60_000)
        const dead = yield* dsar.deliveries("shop", "dead")
        assert.strictEqual(dead[0]!.recipientId, partner.id)
        assert.strictEqual(dead[0]!.lastError, "HTTP 500")
        assert.isAbove(dead[0]!.attempts, 10)
        assert.strictEqual(h.sent.filter((w) => w.url === "https://cdp.example/hook").length, 1)
        const attempts = h.sent.length
        yield* TestClock.adjust("1 day")
        yield* dsar.deliverDue()
        assert.strictEqual(h.sent.length, attempts)
      }).pipe(Effect.provide(h.layer))
    }
  )

  it.effect("marks the request completed when the erasure completed, not when it started", () => {
    // the erase phase runs in the deployment's transaction, which takes two seconds here
    const h = harness({ transaction: (self) => Effect.zipRight(TestClock.adjust("2 seconds"), self) })
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const request = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [alice], actor: "user:op" })
      const done = yield* dsar.process("shop", request.id, "user:op")
      const signed = yield* dsar.report("shop", request.id)
      assert.strictEqual(signed.report.startedAt, start)
      assert.strictEqual(signed.report.completedAt, start + 2000)
      assert.strictEqual(done.completedAt, signed.report.completedAt)
      assert.strictEqual(done.history.at(-1)?.at, signed.report.completedAt)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("keeps delivering to other recipients when one recipient's secret cannot be opened", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const broken = yield* dsar.putRecipient({
        tenant: "shop",
        name: "Broken",
        kind: "partner",
        url: "https://broken.example/hook",
        secret: Redacted.make("unopenable"),
        actor: "user:op"
      })
      yield* dsar.putRecipient({
        tenant: "shop",
        name: "CDP",
        kind: "sub-processor",
        url: "https://cdp.example/hook",
        secret: Redacted.make("cdp-secret"),
        actor: "user:op"
      })
      const request = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [alice], actor: "user:op" })
      yield* dsar.process("shop", request.id, "user:op")
      assert.strictEqual(yield* dsar.deliverDue(), 2)
      assert.deepStrictEqual(
        h.sent.map((w) => w.url),
        ["https://cdp.example/hook"]
      )
      assert.strictEqual((yield* dsar.deliveries("shop", "delivered")).length, 1)
      const pending = yield* dsar.deliveries("shop", "pending")
      assert.strictEqual(pending.length, 1)
      assert.strictEqual(pending[0]!.recipientId, broken.id)
      assert.include(pending[0]!.lastError ?? "", "key not found")
      assert.isAbove(pending[0]!.nextAttemptAt, start)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("erases a visitor's subjects of two tenants now: one request and one verified report per tenant", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const results = yield* dsar.eraseNow([alice, aliceBrowser, carol], "visitor")
      assert.strictEqual(results.length, 2)
      const byTenant = new Map(results.map((r) => [r.request.tenant, r]))
      for (const tenant of ["shop", "news"]) {
        const result = byTenant.get(tenant)!
        assert.strictEqual(result.request.status, "completed")
        assert.isDefined(result.report)
        assert.strictEqual(result.report!.report.tenant, tenant)
        assert.strictEqual(result.report!.report.requestId, result.request.id)
        assert.isTrue(Report.verify(result.report!, dsar.publicJwk))
        assert.strictEqual((yield* dsar.list(tenant)).length, 1)
      }
      assert.deepStrictEqual(
        byTenant.get("shop")!.report!.report.subjects,
        [alice, aliceBrowser].map(Report.digest).sort()
      )
      assert.deepStrictEqual(byTenant.get("news")!.report!.report.subjects, [Report.digest(carol)])
      assert.strictEqual(h.events.rowsOf(alice), 0)
      assert.strictEqual(h.events.rowsOf(aliceBrowser), 0)
      assert.strictEqual(h.events.rowsOf(carol), 0)
      assert.strictEqual(h.events.rowsOf(bob), 4)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("tells which holds defer a tenant's part of an erasure done now, and erases the other tenant's", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const hold = yield* dsar.addHold({ tenant: "shop", reason: "audit", reference: "order 7", actor: "user:legal" })
      const results = yield* dsar.eraseNow([alice, carol], "visitor")
      const shop = results.find((r) => r.request.tenant === "shop")!
      const news = results.find((r) => r.request.tenant === "news")!
      assert.isUndefined(shop.report)
      assert.deepStrictEqual(shop.heldBy, [hold.id])
      assert.strictEqual(shop.request.status, "in-progress")
      assert.deepStrictEqual(shop.request, yield* dsar.get("shop", shop.request.id))
      assert.strictEqual(h.events.rowsOf(alice), 3)
      assert.strictEqual(news.request.status, "completed")
      assert.isTrue(Report.verify(news.report!, dsar.publicJwk))
      assert.strictEqual(h.events.rowsOf(carol), 0)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("records the 7-day and the 1-day reminders once each, whenever retryPending runs", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      const request = yield* dsar.submit({ tenant: "shop", type: "access", subjects: [alice], actor: "user:op" })
      const reminders = () => h.audit.filter((e) => e.action === "dsar.reminder" && e.target === request.id).length

      yield* dsar.retryPending
      yield* TestClock.setTime(request.dueAt - 7 * Deadline.day - 1)
      yield* dsar.retryPending
      assert.strictEqual(reminders(), 0)

      yield* TestClock.adjust(1)
      yield* dsar.retryPending
      yield* dsar.retryPending
      yield* TestClock.adjust("2 days")
      yield* dsar.retryPending
      assert.strictEqual(reminders(), 1)

      yield* TestClock.setTime(request.dueAt - Deadline.day)
      yield* dsar.retryPending
      yield* TestClock.adjust("1 hour")
      yield* dsar.retryPending
      assert.strictEqual(reminders(), 2)

      yield* TestClock.setTime(request.dueAt + Deadline.day)
      yield* dsar.retryPending
      assert.strictEqual(reminders(), 2)
      assert.deepStrictEqual((yield* dsar.get("shop", request.id)).remindersSent, [
        request.dueAt - 7 * Deadline.day,
        request.dueAt - Deadline.day
      ])
      for (const id of rawIds) assert.notInclude(h.auditJson(), id)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("follows a tenant's stored policy: CCPA gives 45 days and 45 more, another tenant stays GDPR", () => {
    const h = harness()
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      assert.deepStrictEqual(yield* dsar.policy("shop"), Deadline.defaultPolicy)
      const ccpa = new Deadline.Policy({ regime: "ccpa", reminderDaysBefore: [10] })
      assert.deepStrictEqual(yield* dsar.setPolicy("shop", ccpa, "user:op"), ccpa)
      assert.deepStrictEqual(yield* dsar.policy("shop"), ccpa)
      assert.deepStrictEqual(yield* dsar.policy("news"), Deadline.defaultPolicy)
      const entry = h.audit.find((e) => e.action === "dsar.policy")
      assert.deepStrictEqual(entry, {
        tenant: "shop",
        actor: "user:op",
        action: "dsar.policy",
        target: "tenant:shop",
        details: { regime: "ccpa", reminderDaysBefore: "10" }
      })

      const shop = yield* dsar.submit({ tenant: "shop", type: "erasure", subjects: [alice], actor: "user:op" })
      assert.strictEqual(shop.regime, "ccpa")
      assert.strictEqual(shop.dueAt, start + 45 * Deadline.day)
      const extended = yield* dsar.extend("shop", shop.id, "many systems to search", "user:op")
      assert.strictEqual(extended.dueAt, start + 90 * Deadline.day)

      const news = yield* dsar.submit({ tenant: "news", type: "erasure", subjects: [carol], actor: "user:op" })
      assert.strictEqual(news.regime, "gdpr")
      assert.strictEqual(news.dueAt, Date.UTC(2026, 3, 15, 10, 0, 0))
      const newsExtended = yield* dsar.extend("news", news.id, "many systems to search", "user:op")
      assert.strictEqual(newsExtended.dueAt, Date.UTC(2026, 5, 15, 10, 0, 0))

      // Reminders follow the stored policy too: 10 days before the shop's deadline, none at 7 days.
      const reminded = (id: string) => h.audit.filter((e) => e.action === "dsar.reminder" && e.target === id).length
      yield* TestClock.setTime(extended.dueAt - 10 * Deadline.day)
      yield* dsar.retryPending
      assert.strictEqual(reminded(shop.id), 1)
      yield* TestClock.setTime(extended.dueAt - 7 * Deadline.day)
      yield* dsar.retryPending
      assert.strictEqual(reminded(shop.id), 1)

      // Replaced: later requests follow the new policy; the deadline already set stays.
      const custom = new Deadline.Policy({
        regime: "custom",
        custom: new Deadline.Custom({ days: 20, extensionDays: 0 })
      })
      yield* dsar.setPolicy("shop", custom, "user:op")
      const now = yield* Clock.currentTimeMillis
      const later = yield* dsar.submit({ tenant: "shop", type: "access", subjects: [alice], actor: "user:op" })
      assert.strictEqual(later.dueAt, now + 20 * Deadline.day)
      assert.strictEqual((yield* dsar.get("shop", shop.id)).dueAt, start + 90 * Deadline.day)
    }).pipe(Effect.provide(h.layer))
  })

  it.effect("uses policyOf for a tenant without a stored policy", () => {
    const custom = new Deadline.Policy({
      regime: "custom",
      custom: new Deadline.Custom({ days: 14, extensionDays: 0 })
    })
    const h = harness({ policyOf: (tenant) => (tenant === "news" ? custom : Deadline.defaultPolicy) })
    return Effect.gen(function* () {
      yield* TestClock.setTime(start)
      const dsar = yield* Dsar.Dsar
      assert.deepStrictEqual(yield* dsar.policy("news"), custom)
      const news = yield* dsar.submit({ tenant: "news", type: "access", subjects: [carol], actor: "user:op" })
      assert.strictEqual(news.dueAt, start + 14 * Deadline.day)
      yield* dsar.setPolicy("news", new Deadline.Policy({ regime: "ccpa" }), "user:op")
      const next = yield* dsar.submit({ tenant: "news", type: "access", subjects: [carol], actor: "user:op" })
      assert.strictEqual(next.dueAt, start + 45 * Deadline.day)
    }).pipe(Effect.provide(h.layer))
  })
})
