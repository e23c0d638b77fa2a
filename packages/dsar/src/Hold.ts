/**
 * Legal holds and releases of data under a legal order. A hold (a litigation hold, a court or authority order) keeps
 * a subject's data — or the whole tenant's, when it names no subject — from being erased until it is released: an
 * erasure of a held subject is deferred (`blocking` finds the holds in the way), and placing or releasing a hold is
 * audited by the caller. A `LegalRelease` records data handed over under a legal order (what, to whom, on which
 * reference), for the caller to append to the audit log (`auditDetails` holds no personal data).
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Subject } from "./Subject.js"

/**
 * A legal hold on one subject of a tenant, or on the whole tenant when `subject` is absent. Active from `createdAt`
 * until `releasedAt`.
 *
 * @since 0.1.0
 * @category models
 */
export class Hold extends Schema.Class<Hold>("@openaudience/dsar/Hold")({
  id: Schema.String,
  tenant: Schema.String,
  subject: Schema.optional(Subject),
  /** Why the data is held (e.g. "litigation: Doe v. Shop"). */
  reason: Schema.String,
  /** The order or case it rests on (e.g. a court order number). */
  reference: Schema.String,
  createdAt: Schema.Int,
  createdBy: Schema.String,
  releasedAt: Schema.optional(Schema.Int),
  releasedBy: Schema.optional(Schema.String)
}) {}

/**
 * A hold could not be released: it already was.
 *
 * @since 0.1.0
 * @category errors
 */
export class HoldError extends Schema.TaggedError<HoldError>("@openaudience/dsar/HoldError")("HoldError", {
  reason: Schema.Literal("AlreadyReleased", "InvalidRelease"),
  message: Schema.String
}) {}

/**
 * Whether a hold is in force at `at`: placed at or before it and not released by then.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isActive = (hold: Hold, at: number): boolean =>
  hold.createdAt <= at && (hold.releasedAt === undefined || hold.releasedAt > at)

/**
 * Whether two subjects are the same subject (same kind, tenant and identifier).
 *
 * @since 0.1.0
 * @category predicates
 */
export const sameSubject = (a: Subject, b: Subject): boolean => {
  if (a.tenant !== b.tenant) return false
  switch (a._tag) {
    case "Visitor":
      return b._tag === "Visitor" && a.visitor === b.visitor
    case "Browser":
      return b._tag === "Browser" && a.browser === b.browser
    case "User":
      return b._tag === "User" && a.user === b.user
  }
}

/**
 * Whether a hold covers a subject: same tenant, and it names that subject or no subject at all.
 *
 * @since 0.1.0
 * @category predicates
 */
export const covers = (hold: Hold, subject: Subject): boolean =>
  hold.tenant === subject.tenant && (hold.subject === undefined || sameSubject(hold.subject, subject))

/**
 * The holds in force at `at` that defer the erasure of `subject` (empty: it may be erased).
 *
 * @since 0.1.0
 * @category combinators
 */
export const blocking = (holds: ReadonlyArray<Hold>, subject: Subject, at: number): ReadonlyArray<Hold> =>
  holds.filter((hold) => isActive(hold, at) && covers(hold, subject))

/**
 * Releases a hold at `at` by `by`; a hold released already (or a release before it was placed) is a `HoldError`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const release = (hold: Hold, at: number, by: string): Either.Either<Hold, HoldError> => {
  if (hold.releasedAt !== undefined) {
    return Either.left(
      new HoldError({ reason: "AlreadyReleased", message: `Hold ${JSON.stringify(hold.id)} is released already` })
    )
  }
  if (at < hold.createdAt) {
    return Either.left(
      new HoldError({
        reason: "InvalidRelease",
        message: `Hold ${JSON.stringify(hold.id)} cannot be released before it was placed`
      })
    )
  }
  return Either.right(new Hold({ ...hold, releasedAt: at, releasedBy: by }))
}

/**
 * The audit action of a release of data under a legal order.
 *
 * @since 0.1.0
 * @category constants
 */
export const releaseAuditAction = "dsar.legal-release"

/**
 * Data released under a legal order: which subjects' data, what (a description of the data, e.g. "ad impressions
 * 2026-01 to 2026-03"), to whom (the authority or party), on which reference (the order), when and by whom; `hold`
 * is the hold it came with, if any.
 *
 * @since 0.1.0
 * @category models
 */
export class LegalRelease extends Schema.Class<LegalRelease>("@openaudience/dsar/Hold/LegalRelease")({
  id: Schema.String,
  tenant: Schema.String,
  subjects: Schema.Array(Subject),
  what: Schema.String,
  recipient: Schema.String,
  reference: Schema.String,
  releasedAt: Schema.Int,
  releasedBy: Schema.String,
  hold: Schema.optional(Schema.String)
}) {}

/**
 * The audit details of a release: its id, reference, recipient, what was released and how many subjects — never a
 * subject's identifier (the audit log outlives erasures; the subjects stay in the release record itself).
 *
 * @since 0.1.0
 * @category combinators
 */
export const auditDetails = (release: LegalRelease): Readonly<Record<string, string | number>> => ({
  release: release.id,
  reference: release.reference,
  recipient: release.recipient,
  what: release.what,
  subjects: release.subjects.length,
  ...(release.hold === undefined ? {} : { hold: release.hold })
})
