/**
 * Who a data-subject request is about. OpenAudience holds data about three kinds of subject, each found by the
 * identifier the stores keep (never a raw first-party id, never an email address in clear):
 *
 * - a **visitor** of one tenant: the tenant's pseudonym of the browser's first-party id (`visitor` columns);
 * - a **browser** of one tenant: the tenant's keyed pseudonym of the ad server's cross-site cookie
 *   (`ad_browser_links.browser_key`), which links the browser to that tenant's visitor pseudonym;
 * - an **application user** of one tenant: the user id of an account (`users.id`).
 *
 * A visitor proves who they are by holding their browser's identifiers; `resolve` in the privacy center turns
 * what the browser holds into the list of subjects to show, export or erase.
 *
 * @since 0.1.0
 */
import type * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { decoder } from "./internal/decoder.js"

/**
 * A visitor of one tenant, by pseudonym.
 *
 * @since 0.1.0
 * @category models
 */
export class Visitor extends Schema.TaggedClass<Visitor>()("Visitor", {
  tenant: Schema.String,
  visitor: Schema.String
}) {}

/**
 * A browser as one tenant knows it, by that tenant's browser key (never the raw cross-site cookie).
 *
 * @since 0.1.0
 * @category models
 */
export class Browser extends Schema.TaggedClass<Browser>()("Browser", {
  tenant: Schema.String,
  browser: Schema.String
}) {}

/**
 * An application user of one tenant, by user id.
 *
 * @since 0.1.0
 * @category models
 */
export class User extends Schema.TaggedClass<User>()("User", {
  tenant: Schema.String,
  user: Schema.String
}) {}

/**
 * A data subject.
 *
 * @since 0.1.0
 * @category models
 */
export const Subject = Schema.Union(Visitor, Browser, User)

/**
 * A data subject.
 *
 * @since 0.1.0
 * @category models
 */
export type Subject = typeof Subject.Type

/**
 * Decodes a subject from untrusted JSON (`{"_tag": "Visitor", "tenant": …, "visitor": …}` and so on), failing with
 * a message that names every broken field. Unlike decoding with `Subject` directly, it never throws: Effect's union
 * decoding throws on a tag that cannot become text, such as `{"toString": false}`.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode: (input: unknown) => Either.Either<Subject, string> = decoder(Subject)

/**
 * The kind of a subject (`Visitor`, `Browser` or `User`).
 *
 * @since 0.1.0
 * @category models
 */
export type Kind = Subject["_tag"]

/**
 * The identifier of a subject inside its tenant (pseudonym, browser key or user id).
 *
 * @since 0.1.0
 * @category accessors
 */
export const idOf = (subject: Subject): string =>
  subject._tag === "Visitor" ? subject.visitor : subject._tag === "Browser" ? subject.browser : subject.user
