import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as Hold from "../src/Hold.js"
import * as Subject from "../src/Subject.js"

const at = Date.parse("2026-04-01T00:00:00Z")
const v1 = new Subject.Visitor({ tenant: "shop", visitor: "v_1" })
const v2 = new Subject.Visitor({ tenant: "shop", visitor: "v_2" })
const u1 = new Subject.User({ tenant: "shop", user: "v_1" })

const hold = (fields: Partial<ConstructorParameters<typeof Hold.Hold>[0]> = {}) =>
  new Hold.Hold({
    id: "hold_1",
    tenant: "shop",
    reason: "litigation",
    reference: "Court order 12/2026",
    createdAt: at,
    createdBy: "user:legal",
    ...fields
  })

describe("Hold", () => {
  it("a subject hold blocks that subject only, a tenant hold every subject of the tenant", () => {
    const onV1 = hold({ subject: v1 })
    assert.deepStrictEqual(Hold.blocking([onV1], v1, at), [onV1])
    assert.deepStrictEqual(Hold.blocking([onV1], v2, at), [])
    assert.deepStrictEqual(Hold.blocking([onV1], u1, at), [], "a user with the same id is another subject")
    const whole = hold({ id: "hold_2" })
    assert.deepStrictEqual(Hold.blocking([onV1, whole], v2, at), [whole])
    assert.deepStrictEqual(
      Hold.blocking([onV1, whole], new Subject.Visitor({ tenant: "news", visitor: "v_1" }), at),
      []
    )
  })

  it("blocks from its creation until its release", () => {
    const placed = hold({ subject: v1 })
    assert.deepStrictEqual(Hold.blocking([placed], v1, at - 1), [])
    const released = Either.getOrThrow(Hold.release(placed, at + 10, "user:legal"))
    assert.deepStrictEqual([released.releasedAt, released.releasedBy], [at + 10, "user:legal"])
    assert.deepStrictEqual(Hold.blocking([released], v1, at + 9), [released])
    assert.deepStrictEqual(Hold.blocking([released], v1, at + 10), [])
  })

  it("is released once, never before it was placed", () => {
    const released = Either.getOrThrow(Hold.release(hold(), at, "user:legal"))
    const again = Hold.release(released, at + 1, "user:legal")
    assert.isTrue(Either.isLeft(again) && again.left.reason === "AlreadyReleased")
    const early = Hold.release(hold(), at - 1, "user:legal")
    assert.isTrue(Either.isLeft(early) && early.left.reason === "InvalidRelease")
  })

  it("a legal release's audit details name the order and recipient, never a subject", () => {
    const release = new Hold.LegalRelease({
      id: "rel_1",
      tenant: "shop",
      subjects: [v1, u1],
      what: "ad impressions 2026-01 to 2026-03",
      recipient: "District Court Berlin",
      reference: "Court order 12/2026",
      releasedAt: at,
      releasedBy: "user:legal",
      hold: "hold_1"
    })
    const details = Hold.auditDetails(release)
    assert.deepStrictEqual(details, {
      release: "rel_1",
      reference: "Court order 12/2026",
      recipient: "District Court Berlin",
      what: "ad impressions 2026-01 to 2026-03",
      subjects: 2,
      hold: "hold_1"
    })
    assert.notInclude(JSON.stringify(details), "v_1")
    assert.strictEqual(Hold.releaseAuditAction, "dsar.legal-release")
  })
})
