/**
 * Which visitor of an advertiser tenant a browser is, as the ad server sees it. The ad server recognizes a browser
 * on a publisher's site only by its own cookie (`oa_xid`), set when the consent decision allows cross-site
 * personalization; the collector's hook links that browser to the tenant's visitor pseudonym when the browser
 * visits the tenant's shop. The raw browser id is never stored: each tenant sees it through its own keyed
 * pseudonym, the `browserKey` (HMAC-SHA-256 with a key derived per tenant from the server's secret), so two tenants'
 * links cannot be joined on a common id and a leaked table does not reveal the cookie.
 *
 * `BrowserLinks` is the port; `layerMemory` keeps links in memory (storage-sql implements it in SQL, checked by the
 * same suite).
 *
 * @since 0.1.0
 */
import { createHmac, hkdfSync } from "node:crypto"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * A store of links that cannot be read or written.
 *
 * @since 0.1.0
 * @category errors
 */
export class BrowserLinksError extends Schema.TaggedError<BrowserLinksError>(
  "@openaudience/ad-selector/BrowserLinksError"
)("BrowserLinksError", {
  reason: Schema.Literal("Unavailable", "InvalidInput", "Failed"),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The links of browsers (by tenant pseudonym) to visitors (by tenant pseudonym). A browser key names at most one
 * visitor of a tenant (the latest link wins); a visitor may have several browsers.
 *
 * @since 0.1.0
 * @category services
 */
export interface Service {
  /**
   * Links the browser to the visitor at `at` (epoch ms), replacing the browser's previous link in this tenant unless
   * that one is newer (a late write of an earlier event cannot undo a newer link; at an equal time the later call
   * wins).
   */
  readonly link: (
    tenant: string,
    browserKey: string,
    visitor: string,
    at: number
  ) => Effect.Effect<void, BrowserLinksError>
  /** The visitor the browser is linked to in this tenant. */
  readonly visitorOf: (tenant: string, browserKey: string) => Effect.Effect<Option.Option<string>, BrowserLinksError>
  /**
   * Removes links of the tenant: the browser's (with `browserKey`), the visitor's (with `visitor`), or the one link
   * between both (with both); nothing with neither. The number of links removed.
   */
  readonly unlink: (
    tenant: string,
    which: { readonly browserKey?: string | undefined; readonly visitor?: string | undefined }
  ) => Effect.Effect<number, BrowserLinksError>
  /** Removes every link of a visitor of the tenant (erasure); the number removed. */
  readonly eraseVisitor: (tenant: string, visitor: string) => Effect.Effect<number, BrowserLinksError>
}

/**
 * The browser links service.
 *
 * @since 0.1.0
 * @category services
 */
export class BrowserLinks extends Context.Tag("@openaudience/ad-selector/BrowserLinks")<BrowserLinks, Service>() {}

/**
 * The HKDF label of browser keys: `ad-selector/browser-key:<tenant>`.
 *
 * @since 0.1.0
 * @category keys
 */
export const KeyDerivationLabel = "ad-selector/browser-key"

/**
 * A tenant's key for browser pseudonyms: HKDF-SHA-256 of the server's secret with salt `openaudience/v1` and info
 * `ad-selector/browser-key:<tenant>`, 32 bytes. Every process derives the same key from the same secret.
 *
 * @since 0.1.0
 * @category keys
 */
export const deriveKey = (secret: Redacted.Redacted<Uint8Array>, tenant: string): Redacted.Redacted<Uint8Array> =>
  Redacted.make(
    new Uint8Array(hkdfSync("sha256", Redacted.value(secret), "openaudience/v1", `${KeyDerivationLabel}:${tenant}`, 32))
  )

/**
 * The tenant's pseudonym of a raw browser id: base64url (no padding) of HMAC-SHA-256(tenant key, id), 43
 * characters.
 *
 * @since 0.1.0
 * @category keys
 */
export const browserKey = (tenantKey: Redacted.Redacted<Uint8Array>, browser: string): string =>
  createHmac("sha256", Redacted.value(tenantKey)).update(browser, "utf8").digest("base64url")

/**
 * An in-memory store (one per call).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): Service => {
  const tenants = new Map<string, Map<string, { visitor: string; at: number }>>()
  const of = (tenant: string) => {
    let links = tenants.get(tenant)
    if (links === undefined) {
      links = new Map()
      tenants.set(tenant, links)
    }
    return links
  }
  const removeWhere = (tenant: string, keep: (key: string, visitor: string) => boolean) => {
    const links = tenants.get(tenant)
    if (links === undefined) return 0
    let removed = 0
    for (const [key, link] of links) {
      if (!keep(key, link.visitor)) {
        links.delete(key)
        removed++
      }
    }
    return removed
  }
  return {
    link: (tenant, key, visitor, at) =>
      Effect.sync(() => {
        const links = of(tenant)
        const existing = links.get(key)
        if (existing === undefined || existing.at <= at) links.set(key, { visitor, at })
      }),
    visitorOf: (tenant, key) => Effect.sync(() => Option.fromNullable(tenants.get(tenant)?.get(key)?.visitor)),
    unlink: (tenant, { browserKey: key, visitor }) =>
      Effect.sync(() =>
        key === undefined && visitor === undefined
          ? 0
          : removeWhere(
              tenant,
              (k, v) => !((key === undefined || k === key) && (visitor === undefined || v === visitor))
            )
      ),
    eraseVisitor: (tenant, visitor) => Effect.sync(() => removeWhere(tenant, (_, v) => v !== visitor))
  }
}

/**
 * The in-memory store as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<BrowserLinks> = Layer.sync(BrowserLinks, makeMemory)
