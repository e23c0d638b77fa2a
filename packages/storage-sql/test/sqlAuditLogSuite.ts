/**
 * The behaviour every `AuditLog` implementation must have, run against the in-memory reference
 * (`AuditLog.makeMemory`), SQLite and PostgreSQL: appends form one chain, concurrent appends never fork it, `list`
 * answers one tenant's entries only, and `verify` finds an entry changed, removed or moved behind the log's back, and
 * the last entries removed. The log is one chain across tenants, so every test opens a log of its own (a new
 * database file or schema): a tampered log must not break the next test.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import { assert, describe, it } from "@effect/vitest"
import { AuditEntry, AuditLog } from "@openaudience/audit"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as TestContext from "effect/TestContext"

/** Changes made behind the log's back, as someone with write access to its storage would. */
export interface Tamper {
  /** Changes one column of an entry in place. */
  readonly set: (seq: number, change: "details" | "action" | "at") => Effect.Effect<void>
  /** Removes one entry. */
  readonly remove: (seq: number) => Effect.Effect<void>
  /** Removes one entry and moves every later one down by one, so `seq` has no gap. */
  readonly removeRenumbered: (seq: number) => Effect.Effect<void>
  /** Removes the entries from `seq` on. */
  readonly truncate: (seq: number) => Effect.Effect<void>
  /** Exchanges the contents (every field but `seq`) of two entries. */
  readonly swap: (a: number, b: number) => Effect.Effect<void>
}

/** A new, empty log and a way to tamper with its storage. */
export interface Harness {
  readonly log: AuditLog.Service
  readonly tamper: Tamper
}

/** Tampering with the in-memory log's state. */
export const memoryHarness: Effect.Effect<Harness> = Effect.sync(() => {
  const state = AuditLog.emptyMemoryState()
  const index = (seq: number) => state.entries.findIndex((e) => e.seq === seq)
  return {
    log: AuditLog.makeMemory(state),
    tamper: {
      set: (seq, change) =>
        Effect.sync(() => {
          const i = index(seq)
          const e = state.entries[i]!
          state.entries[i] =
            change === "details"
              ? { ...e, details: { ...e.details, count: 999 } }
              : change === "action"
                ? { ...e, action: "site.remove" }
                : { ...e, at: e.at + 1 }
        }),
      remove: (seq) => Effect.sync(() => void state.entries.splice(index(seq), 1)),
      removeRenumbered: (seq) =>
        Effect.sync(() => {
          const i = index(seq)
          state.entries.splice(i, 1)
          for (let j = i; j < state.entries.length; j++) {
            state.entries[j] = { ...state.entries[j]!, seq: state.entries[j]!.seq - 1 }
          }
        }),
      truncate: (seq) => Effect.sync(() => void state.entries.splice(index(seq))),
      swap: (a, b) =>
        Effect.sync(() => {
          const [i, j] = [index(a), index(b)]
          const [x, y] = [state.entries[i]!, state.entries[j]!]
          state.entries[i] = { ...y, seq: x.seq }
          state.entries[j] = { ...x, seq: y.seq }
        })
    }
  }
})

/** Tampering with the `audit_log` table through plain SQL. */
export const sqlTamper: Effect.Effect<Tamper, never, SqlClient.SqlClient> = Effect.map(
  SqlClient.SqlClient,
  (sql): Tamper => {
    const content = [
      "at",
      "tenant",
      "actor_kind",
      "actor_id",
      "action",
      "target",
      "outcome",
      "details",
      "prev_hash",
      "hash"
    ]
    return {
      set: (seq, change) =>
        Effect.orDie(
          change === "details"
            ? sql`UPDATE audit_log SET details = ${JSON.stringify({ count: 999 })} WHERE seq = ${seq}`
            : change === "action"
              ? sql`UPDATE audit_log SET action = 'site.remove' WHERE seq = ${seq}`
              : sql`UPDATE audit_log SET at = at + 1 WHERE seq = ${seq}`
        ),
      remove: (seq) => Effect.orDie(sql`DELETE FROM audit_log WHERE seq = ${seq}`),
      removeRenumbered: (seq) =>
        Effect.orDie(
          Effect.gen(function* () {
            yield* sql`DELETE FROM audit_log WHERE seq = ${seq}`
            const later = yield* sql<{
              seq: number | string
            }>`SELECT seq FROM audit_log WHERE seq > ${seq} ORDER BY seq`
            for (const row of later) yield* sql`UPDATE audit_log SET seq = seq - 1 WHERE seq = ${Number(row.seq)}`
          })
        ),
      truncate: (seq) => Effect.orDie(sql`DELETE FROM audit_log WHERE seq >= ${seq}`),
      swap: (a, b) =>
        Effect.orDie(
          Effect.gen(function* () {
            const rows = yield* sql<Record<string, unknown>>`SELECT * FROM audit_log WHERE seq IN (${a}, ${b})`
            const rowOf = (seq: number) => rows.find((row) => Number(row.seq) === seq)!
            const contentOf = (row: Record<string, unknown>) => Object.fromEntries(content.map((c) => [c, row[c]]))
            yield* sql`UPDATE audit_log SET ${sql.update(contentOf(rowOf(b)))} WHERE seq = ${a}`
            yield* sql`UPDATE audit_log SET ${sql.update(contentOf(rowOf(a)))} WHERE seq = ${b}`
          })
        )
    }
  }
)

const entry = (n: number, tenant: string | null = "t1"): AuditEntry.Input => ({
  at: 1_700_000_000_000 + n,
  tenant,
  actor: tenant === null ? { kind: "operator", id: "cli" } : { kind: "key", id: `key_${n % 3}` },
  action: ["site.add", "key.revoke", "events.read", "audience.update", "dsar.erase"][n % 5]!,
  target: `object:${n}`,
  outcome: n % 7 === 0 ? "denied" : "success",
  details: { n, role: "admin", fields: ["name", "status"] }
})

/** A new log with `count` entries of tenant `t1`. */
const filled = <E>(open: Effect.Effect<Harness, E, Scope.Scope>, count: number) =>
  Effect.tap(open, ({ log }) =>
    Effect.forEach(
      Array.from({ length: count }, (_, i) => entry(i + 1)),
      log.append
    )
  )

export const auditLogSuite = <E>(name: string, open: Effect.Effect<Harness, E, Scope.Scope>) =>
  describe(name, () => {
    it.scopedLive("chains appends from seq 1, without gaps, and verifies up to its head", () =>
      Effect.gen(function* () {
        const { log } = yield* open
        assert.deepStrictEqual(yield* log.verify, { ok: true, entries: 0, head: AuditEntry.emptyHead })
        const appended = yield* Effect.forEach([entry(1), entry(2, null), entry(3, "t2")], log.append)
        assert.deepStrictEqual(
          appended.map((e) => e.seq),
          [1, 2, 3]
        )
        assert.strictEqual(appended[0]!.prevHash, "0".repeat(64))
        assert.strictEqual(appended[1]!.prevHash, appended[0]!.hash)
        assert.strictEqual(appended[2]!.prevHash, appended[1]!.hash)
        for (const e of appended) {
          const { hash, ...rest } = e
          assert.strictEqual(AuditEntry.hashOf(rest), hash)
        }
        assert.deepStrictEqual(appended[1]!.details, { n: 2, role: "admin", fields: ["name", "status"] })
        assert.deepStrictEqual(yield* log.verify, {
          ok: true,
          entries: 3,
          head: { seq: 3, hash: appended[2]!.hash }
        })
        // What is stored is what was answered.
        assert.deepStrictEqual(yield* log.list({ tenant: "t1", limit: 10 }), [appended[0]!])
      })
    )

    it.scopedLive("stamps an entry with the Clock's time unless it has one", () =>
      Effect.gen(function* () {
        const { log } = yield* open
        const { at: _, ...untimed } = entry(1)
        const stamped = yield* Effect.gen(function* () {
          yield* TestClock.setTime(1_234_567)
          return yield* log.append(untimed)
        }).pipe(Effect.provide(TestContext.TestContext))
        assert.strictEqual(stamped.at, 1_234_567)
        assert.strictEqual((yield* log.append(entry(2))).at, entry(2).at)
      })
    )

    it.scopedLive("makes one unbroken chain of 200 concurrent appends", () =>
      Effect.gen(function* () {
        const { log } = yield* open
        const appended = yield* Effect.forEach(
          Array.from({ length: 200 }, (_, i) => entry(i + 1, i % 2 === 0 ? "t1" : "t2")),
          log.append,
          { concurrency: 200 }
        )
        assert.deepStrictEqual(
          appended.map((e) => e.seq).sort((a, b) => a - b),
          Array.from({ length: 200 }, (_, i) => i + 1)
        )
        assert.strictEqual(new Set(appended.map((e) => e.prevHash)).size, 200)
        const result = yield* log.verify
        assert.isTrue(result.ok, JSON.stringify(result))
        assert.strictEqual(result.ok && result.entries, 200)
      })
    )

    it.scopedLive("finds an entry changed in place: its details, its action or its time", () =>
      Effect.forEach(["details", "action", "at"] as const, (change) =>
        Effect.scoped(
          Effect.gen(function* () {
            const { log, tamper } = yield* filled(open, 5)
            yield* tamper.set(3, change)
            const result = yield* log.verify
            assert.deepStrictEqual(result.ok ? result : { seq: result.seq, reason: result.reason }, {
              seq: 3,
              reason: "HashMismatch"
            })
            // Appending goes on; the break stays visible.
            yield* log.append(entry(6))
            assert.isFalse((yield* log.verify).ok)
          })
        )
      )
    )

    it.scopedLive("finds a removed entry, renumbered or not", () =>
      Effect.gen(function* () {
        const gap = yield* Effect.scoped(
          Effect.gen(function* () {
            const { log, tamper } = yield* filled(open, 5)
            yield* tamper.remove(3)
            return yield* log.verify
          })
        )
        assert.deepStrictEqual(gap.ok ? gap : { seq: gap.seq, reason: gap.reason }, { seq: 3, reason: "SeqGap" })
        const renumbered = yield* Effect.scoped(
          Effect.gen(function* () {
            const { log, tamper } = yield* filled(open, 5)
            yield* tamper.removeRenumbered(3)
            return yield* log.verify
          })
        )
        assert.isFalse(renumbered.ok)
        assert.strictEqual(!renumbered.ok && renumbered.seq, 3)
      })
    )

    it.scopedLive("finds the last entries removed, through the head", () =>
      Effect.gen(function* () {
        const { log, tamper } = yield* filled(open, 5)
        yield* tamper.truncate(4)
        const result = yield* log.verify
        assert.deepStrictEqual(result.ok ? result : { seq: result.seq, reason: result.reason }, {
          seq: 4,
          reason: "HeadMismatch"
        })
      })
    )

    it.scopedLive("finds two entries swapped", () =>
      Effect.gen(function* () {
        const { log, tamper } = yield* filled(open, 5)
        yield* tamper.swap(2, 4)
        const result = yield* log.verify
        assert.deepStrictEqual(result.ok ? result : { seq: result.seq, reason: result.reason }, {
          seq: 2,
          reason: "HashMismatch"
        })
      })
    )

    it.scopedLive("lists one tenant's entries only: oldest first, after a seq, up to a limit, for some actions", () =>
      Effect.gen(function* () {
        const { log } = yield* open
        const appended = yield* Effect.forEach(
          Array.from({ length: 30 }, (_, i) => entry(i + 1, [null, "t1", "t2"][i % 3]!)),
          log.append
        )
        const own = (tenant: string) => appended.filter((e) => e.tenant === tenant)
        assert.deepStrictEqual(yield* log.list({ tenant: "t1", limit: 1000 }), own("t1"))
        assert.deepStrictEqual(yield* log.list({ tenant: "t2", limit: 1000 }), own("t2"))
        assert.deepStrictEqual(yield* log.list({ tenant: "t3", limit: 1000 }), [])
        const page = yield* log.list({ tenant: "t1", limit: 3 })
        assert.deepStrictEqual(page, own("t1").slice(0, 3))
        assert.deepStrictEqual(yield* log.list({ tenant: "t1", after: page[2]!.seq, limit: 3 }), own("t1").slice(3, 6))
        assert.deepStrictEqual(
          yield* log.list({ tenant: "t2", limit: 1000, actions: ["events.read", "dsar.erase"] }),
          own("t2").filter((e) => e.action === "events.read" || e.action === "dsar.erase")
        )
        assert.deepStrictEqual(yield* log.list({ tenant: "t2", limit: 10, actions: [] }), [])
      })
    )

    it.scopedLive("refuses an entry with personal data in its details, and writes nothing", () =>
      Effect.gen(function* () {
        const { log } = yield* open
        yield* log.append(entry(1))
        const refused = yield* Effect.either(log.append({ ...entry(2), details: { invitee: "jane@example.com" } }))
        assert.isTrue(Either.isLeft(refused) && refused.left.reason === "InvalidInput")
        assert.deepStrictEqual((yield* log.list({ tenant: "t1", limit: 10 })).length, 1)
        const next = yield* log.append(entry(3))
        assert.strictEqual(next.seq, 2)
        assert.isTrue((yield* log.verify).ok)
      })
    )
  })
