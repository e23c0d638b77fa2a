/**
 * Entries: the canonical encoding does not depend on key order and covers every field but `hash`; `details` refuses
 * personal data and anything not small and flat; the log refuses invalid entries and queries before writing.
 */
import { createHash } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { FastCheck as fc } from "effect"
import * as Schema from "effect/Schema"
import { AuditEntry, AuditLog } from "../src/index.js"

const input: AuditEntry.Input & { at: number } = {
  at: 1_700_000_000_000,
  tenant: "t1",
  actor: { kind: "key", id: "key_0123456789abcdef" },
  action: "site.add",
  target: "site:shop",
  outcome: "success",
  details: { origin: "https://shop.example", cookieless: true }
}

describe("AuditEntry", () => {
  it("hashes the canonical JSON of every field but the hash, whatever the key order", () => {
    const first = AuditEntry.seal(AuditEntry.emptyHead, input)
    assert.strictEqual(first.seq, 1)
    assert.strictEqual(first.prevHash, "0".repeat(64))
    assert.strictEqual(
      AuditEntry.canonical(first),
      '{"action":"site.add","actor":{"id":"key_0123456789abcdef","kind":"key"},"at":1700000000000,' +
        '"details":{"cookieless":true,"origin":"https://shop.example"},"outcome":"success",' +
        `"prevHash":"${"0".repeat(64)}","seq":1,"target":"site:shop","tenant":"t1"}`
    )
    assert.strictEqual(first.hash, createHash("sha256").update(AuditEntry.canonical(first)).digest("hex"))
    const reordered = AuditEntry.seal(AuditEntry.emptyHead, {
      ...input,
      details: { cookieless: true, origin: "https://shop.example" }
    })
    assert.strictEqual(reordered.hash, first.hash)
    const second = AuditEntry.seal({ seq: first.seq, hash: first.hash }, input)
    assert.strictEqual(second.seq, 2)
    assert.strictEqual(second.prevHash, first.hash)
    assert.notStrictEqual(second.hash, first.hash)
  })

  it("changes the hash when any field changes", () => {
    const base = AuditEntry.seal(AuditEntry.emptyHead, input)
    const { hash: _, ...fields } = base
    const variants: ReadonlyArray<Omit<AuditEntry.Entry, "hash">> = [
      { ...fields, seq: 2 },
      { ...fields, at: fields.at + 1 },
      { ...fields, tenant: null },
      { ...fields, actor: { kind: "user", id: fields.actor.id } },
      { ...fields, actor: { kind: "key", id: "key_other" } },
      { ...fields, action: "site.remove" },
      { ...fields, target: "site:other" },
      { ...fields, outcome: "denied" },
      { ...fields, details: { ...fields.details, cookieless: false } },
      { ...fields, prevHash: "1".repeat(64) }
    ]
    for (const variant of variants) assert.notStrictEqual(AuditEntry.hashOf(variant), base.hash)
  })

  it("refuses personal data and oversized or nested details", () => {
    const valid = Schema.is(AuditEntry.Details)
    assert.isTrue(valid({ role: "analyst", count: 3, fields: ["name", "status"], partner: null }))
    assert.isTrue(valid({ at: "1700000000000", key: "key_4111111111111111" }))
    assert.isFalse(valid({ email: "jane.doe@example.com" }))
    assert.isFalse(valid({ note: "card 4111 1111 1111 1111" }))
    assert.isFalse(valid({ note: "4111-1111-1111-1111" }))
    assert.isFalse(valid({ list: ["ok", "someone@mail.example.org"] }))
    assert.isFalse(valid({ nested: { a: 1 } } as never))
    assert.isFalse(valid({ n: Number.POSITIVE_INFINITY }))
    assert.isFalse(valid({ long: "x".repeat(257) }))
    assert.isFalse(valid(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, i]))))
    assert.isFalse(valid(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, "y".repeat(250)]))))
  })

  it("finds exactly one card number among the ten check digits of any 13 to 19 digit number standing alone", () => {
    // Exactly one check digit makes a number pass the Luhn check.
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{12,18}$/), fc.constantFrom("", "card ", "n="), (body, prefix) => {
        const flagged = Array.from({ length: 10 }, (_, d) => `${prefix}${body}${d}`).filter(AuditEntry.looksPersonal)
        assert.strictEqual(flagged.length, 1, flagged.join(", "))
      })
    )
  })

  it("reads a number joined to a name by - or . as part of an id, never as a card number", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9]{13,19}$/),
        fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/),
        fc.constantFrom("-", "."),
        fc.boolean(),
        (digits, name, joiner, after) => {
          const id = after ? `${digits}${joiner}${name}` : `${name}${joiner}${digits}`
          assert.isFalse(AuditEntry.looksPersonal(id), id)
          assert.isFalse(AuditEntry.looksPersonal(`site ${id} added`), id)
        }
      )
    )
    // Standing alone, or written in groups, a card number is still seen.
    assert.isTrue(AuditEntry.looksPersonal("4111-1111-1111-1111"))
    assert.isTrue(AuditEntry.looksPersonal("shop: 4111111111111111"))
    assert.isTrue(AuditEntry.looksPersonal("(4111 1111 1111 1111)"))
  })

  it("redactDetails replaces what looks personal, in lists too, and leaves valid details as they are", () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
          fc.oneof(
            fc.string({ maxLength: 40 }),
            fc.constantFrom("jane.doe@example.com", "4111 1111 1111 1111", "ok"),
            fc.integer(),
            fc.boolean(),
            fc.constant(null),
            fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constant("bob@mail.example.org")), { maxLength: 4 })
          ),
          { maxKeys: 8 }
        ),
        (details) => {
          const out = AuditEntry.redactDetails(details)
          assert.isTrue(Schema.is(AuditEntry.Details)(out), JSON.stringify(out))
          assert.deepStrictEqual(Object.keys(out), Object.keys(details))
          for (const key of Object.keys(details)) {
            const before = details[key]
            const after = out[key]
            if (typeof before === "string") {
              assert.strictEqual(after, AuditEntry.looksPersonal(before) ? AuditEntry.redacted : before)
            } else if (!Array.isArray(before)) assert.strictEqual(after, before)
          }
          if (Schema.is(AuditEntry.Details)(details)) assert.strictEqual(out, details)
        }
      )
    )
  })

  it.effect("the log refuses an invalid entry or query with InvalidInput and writes nothing", () =>
    Effect.gen(function* () {
      const log = AuditLog.makeMemory()
      const bad: ReadonlyArray<AuditEntry.Input> = [
        { ...input, action: "Site Add" },
        { ...input, details: { email: "jane@example.com" } },
        { ...input, tenant: "" },
        { ...input, actor: { kind: "robot" as never, id: "x" } },
        { ...input, target: "" }
      ]
      for (const entry of bad) {
        const result = yield* Effect.either(log.append(entry))
        assert.isTrue(Either.isLeft(result) && result.left.reason === "InvalidInput", JSON.stringify(entry))
      }
      for (const query of [
        { tenant: "t1", limit: 0 },
        { tenant: "t1", limit: 1001 },
        { tenant: "", limit: 10 },
        { tenant: "t1", limit: 10, after: -1 }
      ]) {
        const result = yield* Effect.either(log.list(query))
        assert.isTrue(Either.isLeft(result) && result.left.reason === "InvalidInput", JSON.stringify(query))
      }
      assert.deepStrictEqual(yield* log.verify, { ok: true, entries: 0, head: AuditEntry.emptyHead })
    })
  )
})
