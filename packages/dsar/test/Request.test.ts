import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Either, FastCheck as fc, Schema, TestClock } from "effect"
import * as Deadline from "../src/Deadline.js"
import * as Hold from "../src/Hold.js"
import * as Request from "../src/Request.js"
import * as Subject from "../src/Subject.js"

const day = Deadline.day
const received = Date.parse("2026-01-31T10:00:00Z")
const gdpr = new Deadline.Policy({ regime: "gdpr" })
const ccpa = new Deadline.Policy({ regime: "ccpa" })
const visitor = new Subject.Visitor({ tenant: "shop", visitor: "v_1" })
const user = new Subject.User({ tenant: "shop", user: "u_1" })

const ok = <A>(result: Either.Either<A, Request.DsarError>): A =>
  Either.getOrThrowWith(result, (e) => new Error(`${e.reason}: ${e.message}`))

const reasonOf = (result: Either.Either<unknown, Request.DsarError>): string =>
  Either.isLeft(result) ? result.left.reason : "ok"

const make = (fields: Partial<Request.MakeInput> = {}) =>
  ok(
    Request.make({
      id: "dsr_1",
      tenant: "shop",
      type: "erasure",
      subjects: [visitor],
      receivedAt: received,
      policy: gdpr,
      ...fields
    })
  )

const run = (request: Request.Request, ...actions: ReadonlyArray<[Request.Action, number]>) =>
  actions.reduce(
    (result, [action, at]) => Either.flatMap(result, (r) => Request.transition(r, action, at, "user:op")),
    Either.right(request) as Either.Either<Request.Request, Request.DsarError>
  )

const start: Request.Action = { _tag: "Start" }
const complete = (holds: ReadonlyArray<Hold.Hold> = []): Request.Action => ({ _tag: "Complete", holds })
const extend = (policy = gdpr): Request.Action => ({ _tag: "Extend", reason: "many stores", policy })

describe("Request", () => {
  it("is received with its regime's deadline and a first history entry", () => {
    const request = make()
    assert.strictEqual(request.status, "received")
    assert.strictEqual(new Date(request.dueAt).toISOString(), "2026-02-28T10:00:00.000Z")
    assert.strictEqual(request.initialDueAt, request.dueAt)
    assert.deepStrictEqual(
      request.history.map((t) => [t.from, t.to, t.action, t.actor]),
      [[null, "received", "receive", "system"]]
    )
    assert.strictEqual(make({ policy: ccpa }).dueAt, received + 45 * day)
  })

  it("refuses requests that cannot be made", () => {
    const attempt = (fields: Partial<Request.MakeInput>) =>
      reasonOf(
        Request.make({
          id: "dsr_1",
          tenant: "shop",
          type: "erasure",
          subjects: [visitor],
          receivedAt: received,
          policy: gdpr,
          ...fields
        })
      )
    assert.strictEqual(attempt({ subjects: [] }), "InvalidRequest")
    assert.strictEqual(
      attempt({ subjects: [new Subject.Visitor({ tenant: "news", visitor: "v_1" })] }),
      "InvalidRequest"
    )
    assert.strictEqual(attempt({ type: "rectification" }), "InvalidRequest")
    assert.strictEqual(attempt({ type: "rectification", subjects: [user] }), "ok")
    assert.strictEqual(attempt({ type: "objection", subjects: [user] }), "InvalidRequest")
    assert.strictEqual(attempt({ type: "objection" }), "ok")
  })

  it("goes received → verifying → in-progress → completed, recording who did what when", () => {
    const done = ok(
      run(
        make(),
        [{ _tag: "Acknowledge" }, received + 1],
        [{ _tag: "StartVerification" }, received + 2],
        [{ _tag: "Verify" }, received + 3],
        [complete(), received + 4]
      )
    )
    assert.strictEqual(done.status, "completed")
    assert.strictEqual(done.acknowledgedAt, received + 1)
    assert.strictEqual(done.completedAt, received + 4)
    assert.deepStrictEqual(
      done.history.map((t) => [t.at - received, t.from, t.to, t.action]),
      [
        [0, null, "received", "receive"],
        [1, "received", "received", "acknowledge"],
        [2, "received", "verifying", "start-verification"],
        [3, "verifying", "in-progress", "verify"],
        [4, "in-progress", "completed", "complete"]
      ]
    )
    assert.strictEqual(done.history[1]!.actor, "user:op")
  })

  it("illegal transitions are typed failures and leave the request as it was", () => {
    const request = make()
    assert.strictEqual(reasonOf(Request.transition(request, complete(), received, "op")), "InvalidTransition")
    assert.strictEqual(reasonOf(Request.transition(request, { _tag: "Verify" }, received, "op")), "InvalidTransition")
    const done = ok(run(request, [start, received], [complete(), received]))
    for (const action of [start, complete(), extend(), { _tag: "Refuse", reason: "x" } as const]) {
      assert.strictEqual(reasonOf(Request.transition(done, action, received, "op")), "InvalidTransition")
    }
    const acknowledged = ok(run(request, [{ _tag: "Acknowledge" }, received]))
    assert.strictEqual(
      reasonOf(Request.transition(acknowledged, { _tag: "Acknowledge" }, received, "op")),
      "InvalidTransition"
    )
    assert.strictEqual(request.status, "received")
    assert.strictEqual(request.history.length, 1)
  })

  it("is refused with a reason from any open status", () => {
    const refused = ok(
      run(
        make(),
        [{ _tag: "StartVerification" }, received],
        [{ _tag: "Refuse", reason: "identity not proven" }, received + 9]
      )
    )
    assert.deepStrictEqual(
      [refused.status, refused.refusedReason, refused.refusedAt],
      ["refused", "identity not proven", received + 9]
    )
    assert.strictEqual(refused.history.at(-1)!.note, "identity not proven")
    assert.strictEqual(reasonOf(run(make(), [{ _tag: "Refuse", reason: "  " }, received])), "InvalidTransition")
    assert.strictEqual(
      reasonOf(run(make(), [{ _tag: "Extend", reason: "", policy: gdpr }, received])),
      "InvalidTransition"
    )
  })

  it("a child removal cannot skip the operator's verification", () => {
    const child = make({ type: "child-removal" })
    assert.strictEqual(reasonOf(Request.transition(child, start, received, "op")), "VerificationRequired")
    const done = run(
      child,
      [{ _tag: "StartVerification" }, received],
      [{ _tag: "Verify" }, received],
      [complete(), received]
    )
    assert.strictEqual(ok(done).status, "completed")
  })

  it("is extended once, with notice inside the first deadline, to three calendar months from receipt", () => {
    const request = make()
    const extended = ok(run(request, [extend(), request.initialDueAt]))
    assert.strictEqual(new Date(extended.dueAt).toISOString(), "2026-04-30T10:00:00.000Z")
    assert.deepStrictEqual([extended.extendedAt, extended.extensionReason], [request.initialDueAt, "many stores"])
    assert.strictEqual(extended.status, "received")
    assert.strictEqual(reasonOf(Request.transition(extended, extend(), received, "op")), "AlreadyExtended")
    assert.strictEqual(reasonOf(run(request, [extend(), request.initialDueAt + 1])), "ExtensionTooLate")
    assert.strictEqual(reasonOf(run(request, [extend(ccpa), received])), "InvalidTransition")
    const fixed = new Deadline.Policy({ regime: "custom", custom: new Deadline.Custom({ days: 10, extensionDays: 0 }) })
    assert.strictEqual(reasonOf(run(make({ policy: fixed }), [extend(fixed), received])), "NotExtendable")
  })

  it("an erasure under a legal hold is Held until the hold is released; an access request is not", () => {
    const hold = new Hold.Hold({
      id: "hold_1",
      tenant: "shop",
      subject: visitor,
      reason: "litigation",
      reference: "Court order 12/2026",
      createdAt: received - day,
      createdBy: "user:legal"
    })
    const working = ok(run(make(), [start, received]))
    const held = Request.transition(working, complete([hold]), received + day, "op")
    assert.strictEqual(reasonOf(held), "Held")
    assert.include(Either.isLeft(held) ? held.left.message : "", "Court order 12/2026")
    const released = Either.getOrThrow(Hold.release(hold, received + day, "user:legal"))
    assert.strictEqual(
      ok(Request.transition(working, complete([released]), received + 2 * day, "op")).status,
      "completed"
    )
    const access = ok(run(make({ type: "access" }), [start, received]))
    assert.strictEqual(ok(Request.transition(access, complete([hold]), received, "op")).status, "completed")
  })

  it.effect("sends each reminder once, when the clock reaches it, then reports the request overdue", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(received)
      const request = ok(run(make(), [start, yield* Clock.currentTimeMillis]))
      const due = (r: Request.Request) =>
        Effect.map(Clock.currentTimeMillis, (now) => Request.remindersDue(r, gdpr, now).map((x) => x.daysBefore))

      yield* TestClock.adjust(Duration.days(20))
      assert.deepStrictEqual(yield* due(request), [])
      yield* TestClock.adjust(Duration.days(1))
      assert.deepStrictEqual(yield* due(request), [7])
      const reminded = Request.markReminded(
        request,
        Request.remindersDue(request, gdpr, yield* Clock.currentTimeMillis)
      )
      assert.deepStrictEqual(yield* due(reminded), [])
      yield* TestClock.adjust(Duration.days(6))
      assert.deepStrictEqual(yield* due(reminded), [1])
      assert.isFalse(Request.overdue(reminded, yield* Clock.currentTimeMillis))
      yield* TestClock.adjust(Duration.days(2))
      assert.deepStrictEqual(yield* due(reminded), [], "no reminder after the deadline")
      assert.isTrue(Request.overdue(reminded, yield* Clock.currentTimeMillis))
      const done = ok(Request.transition(reminded, complete(), yield* Clock.currentTimeMillis, "op"))
      assert.isFalse(Request.overdue(done, yield* Clock.currentTimeMillis))
    })
  )

  it("an extension moves the reminders to the new deadline", () => {
    const reminded = Request.markReminded(make(), Request.remindersDue(make(), gdpr, make().dueAt - day))
    assert.deepStrictEqual(reminded.remindersSent.length, 2)
    const extended = ok(run(reminded, [extend(), reminded.dueAt - day]))
    assert.deepStrictEqual(Request.remindersDue(extended, gdpr, reminded.dueAt), [])
    assert.deepStrictEqual(
      Request.remindersDue(extended, gdpr, extended.dueAt - 7 * day).map((r) => r.daysBefore),
      [7]
    )
  })

  it.prop(
    "a worker polling at any times sends each reminder exactly once, before the deadline",
    [
      fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2090, 0, 1) }),
      fc.array(fc.integer({ min: 0, max: 40 * day }), { maxLength: 30 })
    ],
    ([at, offsets]) => {
      let request = make({ receivedAt: at })
      const sent: Array<number> = []
      for (const now of [...offsets].sort((a, b) => a - b).map((offset) => at + offset)) {
        const due = Request.remindersDue(request, gdpr, now)
        for (const reminder of due) {
          assert.isAtMost(reminder.at, now)
          assert.isBelow(now, request.dueAt)
          sent.push(reminder.at)
        }
        request = Request.markReminded(request, due)
      }
      assert.strictEqual(new Set(sent).size, sent.length, "a reminder was sent twice")
    }
  )

  it("actions decode from JSON, as an HTTP adapter receives them", () => {
    const decode = Schema.decodeUnknownEither(Request.Action)
    const extend = Either.getOrThrow(decode({ _tag: "Extend", reason: "complex", policy: { regime: "ccpa" } }))
    assert.strictEqual(extend._tag === "Extend" && extend.policy.reminderDaysBefore.join(), "7,1")
    assert.isTrue(Either.isLeft(decode({ _tag: "Teleport" })))
    assert.isTrue(Either.isLeft(decode({ _tag: "Refuse" })), "a refusal needs a reason")
  })

  it.effect("ids are dsr_ and 32 hex digits", () =>
    Effect.gen(function* () {
      const [a, b] = [yield* Request.makeId, yield* Request.makeId]
      assert.match(a, /^dsr_[0-9a-f]{32}$/)
      assert.notStrictEqual(a, b)
    })
  )

  it.prop(
    "a request round-trips through its schema (what a store writes and reads back)",
    [fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.constantFrom(...Request.RequestType.literals)],
    ([at, type]) => {
      const subjects = type === "rectification" ? [user] : [visitor, user]
      const request = ok(
        run(make({ type, subjects, receivedAt: at }), [{ _tag: "Acknowledge" }, at + 1], [extend(), at + 2])
      )
      const json = Schema.encodeSync(Schema.parseJson(Request.Request))(request)
      assert.deepStrictEqual(Schema.decodeSync(Schema.parseJson(Request.Request))(json), request)
    }
  )
})
