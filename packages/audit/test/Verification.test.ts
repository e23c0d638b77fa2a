/**
 * The verifier: an intact chain of any length verifies with its head; after any single tamper (a changed field, a
 * removed entry, two entries swapped, the tail cut off, the rest renumbered after a removal) it fails, at the
 * tampered position or before it.
 */
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { AuditEntry, Verification } from "../src/index.js"

const actorArb = fc.record({
  kind: fc.constantFrom("key" as const, "user" as const, "operator" as const, "system" as const),
  id: fc.stringMatching(/^[a-z0-9_]{1,20}$/)
})

const inputArb: fc.Arbitrary<AuditEntry.Input & { at: number }> = fc.record({
  at: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  tenant: fc.option(fc.constantFrom("t1", "t2", "t3"), { nil: null }),
  actor: actorArb,
  action: fc.constantFrom("site.add", "key.revoke", "events.read", "audience.update", "dsar.erase"),
  target: fc.string({ minLength: 1, maxLength: 20 }),
  outcome: fc.constantFrom("success" as const, "denied" as const, "failed" as const),
  details: fc.dictionary(
    fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/),
    fc.oneof(
      fc.string({ maxLength: 10 }),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null)
    ),
    { maxKeys: 4 }
  )
})

/** Seals inputs into a chain; returns the entries and the head. */
const chainOf = (inputs: ReadonlyArray<AuditEntry.Input & { at: number }>) => {
  const entries: Array<AuditEntry.Entry> = []
  let head = AuditEntry.emptyHead
  for (const input of inputs) {
    const entry = AuditEntry.seal(head, input)
    entries.push(entry)
    head = { seq: entry.seq, hash: entry.hash }
  }
  return { entries, head }
}

type Tamper =
  | { readonly _tag: "Field"; readonly at: number; readonly field: keyof AuditEntry.Entry; readonly salt: number }
  | { readonly _tag: "Remove"; readonly at: number }
  | { readonly _tag: "RemoveRenumbered"; readonly at: number }
  | { readonly _tag: "Swap"; readonly at: number; readonly other: number }
  | { readonly _tag: "Truncate"; readonly at: number }

const fields: ReadonlyArray<keyof AuditEntry.Entry> = [
  "seq",
  "at",
  "tenant",
  "actor",
  "action",
  "target",
  "outcome",
  "details",
  "prevHash",
  "hash"
]

/** A value of `field` surely different from `entry`'s. */
const changed = (entry: AuditEntry.Entry, field: keyof AuditEntry.Entry, salt: number): AuditEntry.Entry => {
  const hex = (h: string) => (h[0] === "a" ? `b${h.slice(1)}` : `a${h.slice(1)}`)
  switch (field) {
    case "seq":
      return { ...entry, seq: entry.seq + 1 + salt }
    case "at":
      return { ...entry, at: entry.at + 1 + salt }
    case "tenant":
      return { ...entry, tenant: entry.tenant === null ? "t9" : null }
    case "actor":
      return { ...entry, actor: { kind: entry.actor.kind, id: `${entry.actor.id}x` } }
    case "action":
      return { ...entry, action: `${entry.action}x` }
    case "target":
      return { ...entry, target: `${entry.target}x` }
    case "outcome":
      return { ...entry, outcome: entry.outcome === "success" ? "denied" : "success" }
    case "details":
      return { ...entry, details: { ...entry.details, tampered: salt } }
    case "prevHash":
      return { ...entry, prevHash: hex(entry.prevHash) }
    case "hash":
      return { ...entry, hash: hex(entry.hash) }
  }
}

/** Applies a tamper; answers the tampered log and the first seq it touched. */
const apply = (entries: ReadonlyArray<AuditEntry.Entry>, tamper: Tamper) => {
  const copy = [...entries]
  const i = tamper.at
  switch (tamper._tag) {
    case "Field":
      copy[i] = changed(copy[i]!, tamper.field, tamper.salt)
      return { entries: copy, seq: i + 1 }
    case "Remove":
      copy.splice(i, 1)
      return { entries: copy, seq: i + 1 }
    case "RemoveRenumbered":
      copy.splice(i, 1)
      return { entries: copy.map((e, j) => (j >= i ? { ...e, seq: e.seq - 1 } : e)), seq: i + 1 }
    case "Swap": {
      const j = tamper.other
      const [a, b] = [copy[i]!, copy[j]!]
      copy[i] = { ...b, seq: a.seq }
      copy[j] = { ...a, seq: b.seq }
      return { entries: copy, seq: Math.min(i, j) + 1 }
    }
    case "Truncate":
      return { entries: copy.slice(0, i), seq: i + 1 }
  }
}

const tamperArb = (length: number): fc.Arbitrary<Tamper> => {
  const index = fc.integer({ min: 0, max: length - 1 })
  const options: Array<fc.Arbitrary<Tamper>> = [
    fc.record({ _tag: fc.constant("Field" as const), at: index, field: fc.constantFrom(...fields), salt: fc.nat(5) }),
    fc.record({ _tag: fc.constant("Remove" as const), at: index }),
    fc.record({ _tag: fc.constant("RemoveRenumbered" as const), at: index }),
    fc.record({ _tag: fc.constant("Truncate" as const), at: index })
  ]
  if (length >= 2) {
    options.push(
      fc
        .tuple(index, index)
        .filter(([a, b]) => a !== b)
        .map(([at, other]) => ({ _tag: "Swap" as const, at, other }))
    )
  }
  return fc.oneof(...options)
}

describe("Verification", () => {
  it("verifies an intact chain of any length with its head", () => {
    fc.assert(
      fc.property(fc.array(inputArb, { maxLength: 30 }), (inputs) => {
        const { entries, head } = chainOf(inputs)
        assert.deepStrictEqual(Verification.verifyEntries(entries, head), { ok: true, entries: inputs.length, head })
      })
    )
  })

  it("fails at or before the tampered entry after any single tamper", () => {
    fc.assert(
      fc.property(
        fc
          .array(inputArb, { minLength: 1, maxLength: 30 })
          .chain((inputs) => fc.tuple(fc.constant(inputs), tamperArb(inputs.length))),
        ([inputs, tamper]) => {
          const { entries, head } = chainOf(inputs)
          const tampered = apply(entries, tamper)
          const result = Verification.verifyEntries(tampered.entries, head)
          assert.isFalse(result.ok, JSON.stringify(tamper))
          if (!result.ok) assert.isAtMost(result.seq, tampered.seq, `${JSON.stringify(tamper)}: ${result.message}`)
        }
      ),
      { numRuns: 500 }
    )
  })

  it("names the reason: a changed entry, a gap, a renumbered removal, a truncated tail, a moved head", () => {
    const inputs = Array.from({ length: 5 }, (_, i) => ({
      at: 1_000 + i,
      tenant: "t1",
      actor: { kind: "key" as const, id: "key_1" },
      action: "events.read",
      target: `events:${i}`,
      outcome: "success" as const
    }))
    const { entries, head } = chainOf(inputs)
    const check = (log: ReadonlyArray<AuditEntry.Entry>, h: AuditEntry.Head) => {
      const r = Verification.verifyEntries(log, h)
      return r.ok ? r : { seq: r.seq, reason: r.reason }
    }
    assert.deepStrictEqual(check(apply(entries, { _tag: "Field", at: 2, field: "details", salt: 0 }).entries, head), {
      seq: 3,
      reason: "HashMismatch"
    })
    assert.deepStrictEqual(check(apply(entries, { _tag: "Remove", at: 2 }).entries, head), { seq: 3, reason: "SeqGap" })
    assert.deepStrictEqual(check(apply(entries, { _tag: "RemoveRenumbered", at: 2 }).entries, head), {
      seq: 3,
      reason: "HashMismatch"
    })
    assert.deepStrictEqual(check(apply(entries, { _tag: "Truncate", at: 3 }).entries, head), {
      seq: 4,
      reason: "HeadMismatch"
    })
    // An entry appended without moving the head, and a head moved without its entry.
    const extra = AuditEntry.seal(head, inputs[0]!)
    assert.deepStrictEqual(check([...entries, extra], head), { seq: 6, reason: "HeadMismatch" })
    assert.deepStrictEqual(check(entries, { seq: 5, hash: "f".repeat(64) }), { seq: 5, reason: "HeadMismatch" })
    // An entry whose recomputed hash is right but that chains to nothing: rehashed after a removal.
    const { hash: _, ...third } = { ...entries[3]!, seq: 3 }
    const rehashed = [...entries.slice(0, 2), { ...third, hash: AuditEntry.hashOf(third) }]
    assert.deepStrictEqual(check(rehashed, { seq: 3, hash: AuditEntry.hashOf(third) }), {
      seq: 3,
      reason: "PrevHashMismatch"
    })
  })
})
