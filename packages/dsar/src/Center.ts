/**
 * The visitor's side of data-subject rights: a privacy center where a browser without an account proves who it is
 * by holding its identifiers (the EDPB's adtech example), and sees, downloads and erases what is held about it.
 *
 * What a browser holds: the tag's first-party visitor id on a shop (sent once, in a form POST body, never in a URL)
 * and the ad server's cross-site cookie on the collector's domain. `resolve` turns them into subjects through the
 * `Identifiers` port (the deployment's tenants, pseudonym keys and browser links); an identifier that is forged or
 * belongs to nobody resolves to subjects that hold no data, so the center a stranger sees is indistinguishable from
 * the center of a browser with no data.
 *
 * The subjects found are kept for the visit in a sealed session token (AES-256-GCM under a key derived from the
 * server's secret, with an expiry), so the pseudonyms never reach the browser in clear and a token cannot be forged
 * or extended. A token that does not open is an empty session, never an error page.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"
import * as Subject from "./Subject.js"

/**
 * What a browser presents to the privacy center: the first-party visitor id of a site (from the tag's link) and
 * the ad server's cross-site cookie (sent by the browser itself). Both optional.
 *
 * @since 0.1.0
 * @category models
 */
export interface Presented {
  readonly site?: { readonly siteKey: string; readonly visitorId: string } | undefined
  readonly browserCookie?: string | undefined
}

/**
 * The deployment's ways of turning identifiers into subjects.
 *
 * @since 0.1.0
 * @category models
 */
export interface Identifiers {
  /** The tenant and visitor pseudonym (current generation) of a site's first-party visitor id, if the site exists. */
  readonly siteVisitor: (
    siteKey: string,
    visitorId: string
  ) => Effect.Effect<Option.Option<{ readonly tenant: string; readonly visitor: string }>>
  /** Every tenant's key of a raw cross-site browser id. */
  readonly browserKeys: (
    browser: string
  ) => Effect.Effect<ReadonlyArray<{ readonly tenant: string; readonly browser: string }>>
  /** The visitor pseudonym a tenant's browser key is linked to, if any. */
  readonly linkedVisitor: (tenant: string, browser: string) => Effect.Effect<Option.Option<string>>
}

/**
 * At most this many subjects are kept for one browser (a browser linked to more is cut, oldest tenant last).
 *
 * @since 0.1.0
 * @category models
 */
export const maxSubjects = 32

/**
 * The subjects a browser's identifiers stand for: the site visitor, and for the cross-site cookie, each tenant's
 * browser key with the visitor it links to. Duplicates removed; at most `maxSubjects`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const resolve = (
  identifiers: Identifiers,
  presented: Presented
): Effect.Effect<ReadonlyArray<Subject.Subject>> =>
  Effect.gen(function* () {
    const subjects: Array<Subject.Subject> = []
    if (presented.site !== undefined) {
      const found = yield* identifiers.siteVisitor(presented.site.siteKey, presented.site.visitorId)
      if (Option.isSome(found)) subjects.push(new Subject.Visitor(found.value))
    }
    if (presented.browserCookie !== undefined) {
      for (const key of yield* identifiers.browserKeys(presented.browserCookie)) {
        subjects.push(new Subject.Browser(key))
        const visitor = yield* identifiers.linkedVisitor(key.tenant, key.browser)
        if (Option.isSome(visitor)) subjects.push(new Subject.Visitor({ tenant: key.tenant, visitor: visitor.value }))
      }
    }
    return dedupe(subjects).slice(0, maxSubjects)
  })

/**
 * The subjects without repeats (by kind, tenant and id), first occurrence kept.
 *
 * @since 0.1.0
 * @category combinators
 */
export const dedupe = (subjects: ReadonlyArray<Subject.Subject>): Array<Subject.Subject> => {
  const seen = new Set<string>()
  const out: Array<Subject.Subject> = []
  for (const subject of subjects) {
    const key = `${subject._tag}\u0000${subject.tenant}\u0000${Subject.idOf(subject)}`
    if (!seen.has(key)) {
      seen.add(key)
      out.push(subject)
    }
  }
  return out
}

/**
 * An erasure made in a session: its request id and tenant (so the browser can fetch its signed report).
 *
 * @since 0.1.0
 * @category models
 */
export const SessionReport = Schema.Struct({ requestId: Schema.String, tenant: Schema.String })

/**
 * An erasure made in a session.
 *
 * @since 0.1.0
 * @category models
 */
export type SessionReport = typeof SessionReport.Type

/**
 * A privacy-center session: the subjects found, the erasures made in it, and when it ends (epoch ms).
 *
 * @since 0.1.0
 * @category models
 */
export class Session extends Schema.Class<Session>("Session")({
  subjects: Schema.Array(Subject.Subject),
  expiresAt: Schema.Number,
  reports: Schema.optional(Schema.Array(SessionReport))
}) {}

const SessionJson = Schema.parseJson(Session)
const encodeSession = Schema.encodeSync(SessionJson)
const decodeSession = Schema.decodeUnknownOption(SessionJson)

/**
 * The key that seals sessions: HKDF-SHA-256 of the server's secret, salt `openaudience/v1`, info
 * `dsar/privacy-session`, 32 bytes.
 *
 * @since 0.1.0
 * @category keys
 */
export const sessionKey = (secret: Redacted.Redacted<Uint8Array>): Redacted.Redacted<Uint8Array> =>
  Redacted.make(
    new Uint8Array(hkdfSync("sha256", Redacted.value(secret), "openaudience/v1", "dsar/privacy-session", 32))
  )

const version = "s1"

/**
 * Seals a session into a token for a cookie: `s1.` and base64url of a random 96-bit IV, the AES-256-GCM ciphertext
 * of the session's JSON and its tag.
 *
 * @since 0.1.0
 * @category combinators
 */
export const seal = (key: Redacted.Redacted<Uint8Array>, session: Session): string => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", Redacted.value(key), iv)
  cipher.setAAD(Buffer.from(version))
  const body = Buffer.concat([cipher.update(encodeSession(session), "utf8"), cipher.final(), cipher.getAuthTag()])
  return `${version}.${Buffer.concat([iv, body]).toString("base64url")}`
}

/**
 * Opens a sealed token: the session if the token is authentic and not expired at `now`; `None` for anything else
 * (absent, malformed, forged, sealed under another key, expired).
 *
 * @since 0.1.0
 * @category combinators
 */
export const open = (
  key: Redacted.Redacted<Uint8Array>,
  token: string | undefined,
  now: number
): Option.Option<Session> => {
  if (token === undefined || !token.startsWith(`${version}.`) || token.length > 16_384) return Option.none()
  const bytes = Buffer.from(token.slice(version.length + 1), "base64url")
  if (bytes.length < 12 + 16 + 2) return Option.none()
  try {
    const decipher = createDecipheriv("aes-256-gcm", Redacted.value(key), bytes.subarray(0, 12))
    decipher.setAAD(Buffer.from(version))
    decipher.setAuthTag(bytes.subarray(bytes.length - 16))
    const json = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString(
      "utf8"
    )
    return decodeSession(json).pipe(Option.filter((session) => session.expiresAt > now))
  } catch {
    // A forged or foreign token fails authentication: the same as no token.
    return Option.none()
  }
}
