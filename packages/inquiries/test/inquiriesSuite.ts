/**
 * The behaviour of the inquiries service over a store, run here over `InquiryStore.layerMemory` and by
 * @openaudience/storage-sql over `SqlInquiryStore` on SQLite and PostgreSQL: encrypted round trips, statuses,
 * tenant isolation (another tenant's inquiry is `NotFound`), erasure and the retention purge with its boundary, and
 * shredding (an old ciphertext no longer decrypts). Every test uses tenants of its own. `purge` spans every tenant,
 * so every purge here runs at `now`, and every inquiry closed outside the purge tests is closed at `now` or later:
 * a purge only ever finds the inquiries its own test closed long before.
 */
import { randomUUID } from "node:crypto"
import { assert, type Vitest } from "@effect/vitest"
import { type KeyStore, MasterKeys, Vault } from "@openaudience/vault"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { Inquiries, type Inquiry, InquiryStore } from "../src/index.js"

/** A fresh tenant id. */
export const tenantId = (prefix = "t"): string => `${prefix}-${randomUUID().slice(0, 8)}`

/** The time every purge of the suite runs at (epoch ms). */
export const now = Date.UTC(2026, 5, 1)

const day = 86_400_000

/** The service and the vault over `stores` (an `InquiryStore` and a `KeyStore`), with a synthetic master secret. */
export const servicesOver = <E, R>(stores: Layer.Layer<InquiryStore.InquiryStore | KeyStore.KeyStore, E, R>) =>
  Inquiries.layer.pipe(
    Layer.provideMerge(Vault.layer),
    Layer.provide(MasterKeys.layer({ current: { version: 1, secret: "5a".repeat(32) } })),
    Layer.provideMerge(stores)
  )

/** Synthetic form input. */
export const input = (n = 1) => ({
  name: `Ada Testperson ${n}`,
  email: ` Ada.Test+${n}@Example.TEST `,
  message: `Hello,\r\nplease call me back about order ${n}.\u0007`
})

/** The failure of `effect`, which must be an `InquiryError` of `reason`. */
export const failure = <A>(effect: Effect.Effect<A, Inquiry.InquiryError>, reason: Inquiry.InquiryError["reason"]) =>
  Effect.gen(function* () {
    const result = yield* Effect.either(effect)
    if (Either.isRight(result)) return assert.fail(`expected ${reason}, got a success`)
    assert.strictEqual(result.left._tag, "InquiryError")
    assert.strictEqual(result.left.reason, reason, result.left.message)
    return result.left
  })

type Services = Inquiries.Inquiries | InquiryStore.InquiryStore | Vault.Vault

/** The service, its store and the vault. */
const services = Effect.all({ inquiries: Inquiries.Inquiries, store: InquiryStore.InquiryStore, vault: Vault.Vault })

export const inquiriesSuite = (it: Vitest.MethodsNonLive<Services, true>) => {
  it.effect("stores an inquiry encrypted and reads it back decrypted, cleaned and normalized", () =>
    Effect.gen(function* () {
      const { inquiries, store } = yield* services
      const tenant = tenantId()
      const summary = yield* inquiries.submit(tenant, input())
      assert.match(summary.id, /^inq_[0-9a-f]{32}$/)
      assert.deepStrictEqual([summary.tenant, summary.status, summary.closedAt], [tenant, "open", null])

      const read = yield* inquiries.get(tenant, summary.id)
      assert.strictEqual(Redacted.value(read.name), "Ada Testperson 1")
      assert.strictEqual(Redacted.value(read.email), "ada.test+1@example.test")
      assert.strictEqual(Redacted.value(read.message), "Hello,\nplease call me back about order 1.")
      assert.notInclude(String(read.name), "Ada", "a logged inquiry prints its name")
      assert.strictEqual(read.createdAt, summary.createdAt)

      const stored = yield* store.get(tenant, summary.id)
      for (const field of ["name", "email", "message"] as const) {
        assert.match(stored[field], /^v1\./)
        assert.notInclude(stored[field], "Ada")
      }
      assert.deepStrictEqual(Object.keys(stored).sort(), [
        "closedAt",
        "createdAt",
        "email",
        "id",
        "message",
        "name",
        "status",
        "tenant"
      ])
    })
  )

  it.effect("lists a tenant's inquiries oldest first, by status; answers and closes them", () =>
    Effect.gen(function* () {
      const { inquiries } = yield* services
      const tenant = tenantId()
      const a = yield* inquiries.submit(tenant, input(1))
      const b = yield* inquiries.submit(tenant, input(2))
      const c = yield* inquiries.submit(tenant, input(3))
      // The documented order, creation time then id: two inquiries submitted in the same millisecond (the clock is
      // the real one) come in id order, which is random, not in the order they were submitted.
      const expected = (
        [
          [a, 1],
          [b, 2],
          [c, 3]
        ] as const
      )
        .slice()
        .sort(([x], [y]) => InquiryStore.byCreation(x, y))
        .map(([, n]) => `Ada Testperson ${n}`)
      assert.deepStrictEqual(
        (yield* inquiries.list(tenant)).map((i) => Redacted.value(i.name)),
        expected
      )
      assert.strictEqual((yield* inquiries.answer(tenant, b.id)).status, "answered")
      const closed = yield* inquiries.close(tenant, c.id, now)
      assert.deepStrictEqual([closed.status, closed.closedAt], ["closed", now])
      // Closing again keeps the first time (a retention period is never extended); answering a closed one conflicts.
      assert.strictEqual((yield* inquiries.close(tenant, c.id, now + day)).closedAt, now)
      yield* failure(inquiries.answer(tenant, c.id), "Conflict")

      const ids = (status: Inquiry.Status) =>
        Effect.map(inquiries.list(tenant, { status }), (list) => list.map((i) => i.id))
      assert.deepStrictEqual(yield* ids("open"), [a.id])
      assert.deepStrictEqual(yield* ids("answered"), [b.id])
      assert.deepStrictEqual(yield* ids("closed"), [c.id])
    })
  )

  it.effect("another tenant's inquiry is NotFound for every operation, and never listed", () =>
    Effect.gen(function* () {
      const { inquiries, store } = yield* services
      const [a, b] = [tenantId("a"), tenantId("b")]
      const mine = yield* inquiries.submit(a, input())
      yield* failure(inquiries.get(b, mine.id), "NotFound")
      yield* failure(inquiries.answer(b, mine.id), "NotFound")
      yield* failure(inquiries.close(b, mine.id, now), "NotFound")
      yield* failure(inquiries.erase(b, mine.id), "NotFound")
      yield* failure(store.get(b, mine.id), "NotFound")
      assert.isFalse(yield* store.delete(b, mine.id))
      assert.deepStrictEqual(yield* inquiries.list(b), [])
      // Untouched in its own tenant.
      const read = yield* inquiries.get(a, mine.id)
      assert.deepStrictEqual([read.status, Redacted.value(read.name)], ["open", "Ada Testperson 1"])
      // Ids that are no inquiry's (or could not be one) are NotFound too.
      yield* failure(inquiries.get(a, "inq_nope"), "NotFound")
      yield* failure(inquiries.get(a, "inq_\u0000"), "NotFound")
    })
  )

  it.effect("refuses bad input naming the field, a card number in the message, and a filled honeypot", () =>
    Effect.gen(function* () {
      const { inquiries } = yield* services
      const tenant = tenantId()
      const field = (i: Inquiry.Input) => Effect.map(Effect.flip(inquiries.submit(tenant, i)), (e) => e.field)
      assert.strictEqual(yield* field({ ...input(), name: " " }), "name")
      assert.strictEqual(yield* field({ ...input(), email: "not-an-address" }), "email")
      assert.strictEqual(yield* field({ ...input(), message: "x".repeat(5001) }), "message")
      const card = yield* failure(
        inquiries.submit(tenant, { ...input(), message: "My card is 4111 1111 1111 1111, exp 12/29" }),
        "InvalidInput"
      )
      assert.strictEqual(card.field, "message")
      assert.notInclude(card.message, "4111")
      assert.strictEqual(
        (yield* failure(inquiries.submit(tenant, { ...input(), honeypot: "x" }), "Spam")).field,
        "honeypot"
      )
      assert.deepStrictEqual(yield* inquiries.list(tenant), [], "a refused inquiry was stored")
    })
  )

  it.effect("erase deletes the row and shreds the data key, whatever the status", () =>
    Effect.gen(function* () {
      const { inquiries, store, vault } = yield* services
      const tenant = tenantId()
      const { id } = yield* inquiries.submit(tenant, input())
      const stored = yield* store.get(tenant, id)
      yield* inquiries.erase(tenant, id)
      yield* failure(inquiries.get(tenant, id), "NotFound")
      yield* failure(store.get(tenant, id), "NotFound")
      assert.strictEqual((yield* Effect.flip(vault.decrypt(tenant, id, "email", stored.email))).reason, "Shredded")
      yield* failure(inquiries.erase(tenant, id), "NotFound")
    })
  )

  it.effect("purge keeps what closed 89 (and exactly 90) days ago and open inquiries, deletes what closed 91", () =>
    Effect.gen(function* () {
      const { inquiries, store } = yield* services
      const tenant = tenantId()
      const open = yield* inquiries.submit(tenant, input(1))
      const answered = yield* inquiries.submit(tenant, input(2))
      yield* inquiries.answer(tenant, answered.id)
      const closed89 = yield* inquiries.submit(tenant, input(3))
      yield* inquiries.close(tenant, closed89.id, now - 89 * day)
      const closed90 = yield* inquiries.submit(tenant, input(4))
      yield* inquiries.close(tenant, closed90.id, now - 90 * day)
      const closed91 = yield* inquiries.submit(tenant, input(5))
      yield* inquiries.close(tenant, closed91.id, now - 91 * day)

      assert.strictEqual(yield* inquiries.purge(now), 1)
      const left = (yield* store.list(tenant)).map((i) => i.id)
      assert.sameMembers(left, [open.id, answered.id, closed89.id, closed90.id])
      assert.strictEqual(yield* inquiries.purge(now), 0, "a second purge found something")
      // A shorter retention, given explicitly, takes the others closed before it; never the open ones.
      assert.strictEqual(yield* inquiries.purge(now, 30), 2)
      assert.sameMembers(
        (yield* inquiries.list(tenant)).map((i) => i.id),
        [open.id, answered.id]
      )
      yield* failure(inquiries.purge(now, -1), "InvalidInput")
    })
  )

  it.effect("after purge the rows are gone and their old ciphertexts no longer decrypt (shredded)", () =>
    Effect.gen(function* () {
      const { inquiries, store, vault } = yield* services
      const [a, b] = [tenantId("a"), tenantId("b")]
      const old = yield* inquiries.submit(a, input(1))
      const other = yield* inquiries.submit(b, input(2))
      const kept = yield* inquiries.submit(b, input(3))
      const ciphertexts = yield* Effect.all([store.get(a, old.id), store.get(b, other.id)])
      yield* inquiries.close(a, old.id, now - 200 * day)
      yield* inquiries.close(b, other.id, now - 100 * day)
      yield* inquiries.close(b, kept.id, now)

      assert.strictEqual(yield* inquiries.purge(now), 2, "purge spans every tenant")
      for (const stored of ciphertexts) {
        yield* failure(store.get(stored.tenant, stored.id), "NotFound")
        for (const field of ["name", "email", "message"] as const) {
          const error = yield* Effect.flip(vault.decrypt(stored.tenant, stored.id, field, stored[field]))
          assert.strictEqual(error.reason, "Shredded")
        }
      }
      assert.strictEqual(Redacted.value((yield* inquiries.get(b, kept.id)).name), "Ada Testperson 3")
    })
  )

  it.effect("an inquiry whose key was shredded but whose row is left (an interrupted purge) reads as gone", () =>
    Effect.gen(function* () {
      const { inquiries, store, vault } = yield* services
      const tenant = tenantId()
      const { id } = yield* inquiries.submit(tenant, input())
      yield* vault.shred(tenant, id)
      yield* failure(inquiries.get(tenant, id), "NotFound")
      assert.deepStrictEqual(yield* inquiries.list(tenant), [])
      yield* inquiries.erase(tenant, id)
      yield* failure(store.get(tenant, id), "NotFound")
    })
  )
}
