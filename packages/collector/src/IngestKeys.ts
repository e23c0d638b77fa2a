/**
 * The collector's port for server-to-server calls (`POST /v1/events`): which tenant an API key belongs to, when
 * that key may ingest events. Synchronous, because it runs once per request on the hot path. A server with its own
 * key store and roles implements it in one line; `make` keeps a fixed list of keys, as SHA-256 digests compared in
 * constant time.
 *
 * @since 0.1.0
 */
import * as Redacted from "effect/Redacted"
import { createHash, timingSafeEqual } from "node:crypto"
import type { Tenant } from "./Tenant.js"

/**
 * Resolves an API key to the tenant it may ingest events for, or `undefined` (the request is answered 401).
 *
 * @since 0.1.0
 * @category models
 */
export interface IngestKeys {
  readonly tenantOf: (apiKey: string) => Tenant | undefined
}

/**
 * No key may ingest: every server-to-server call is answered 401.
 *
 * @since 0.1.0
 * @category constructors
 */
export const none: IngestKeys = { tenantOf: () => undefined }

const digest = (key: string): Buffer => createHash("sha256").update(key, "utf8").digest()

/**
 * A fixed list of ingest keys. Only their digests are kept; every candidate is compared with every key so that
 * timing does not reveal which one matched.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  keys: ReadonlyArray<{ readonly key: Redacted.Redacted<string>; readonly tenant: Tenant }>
): IngestKeys => {
  const entries = keys.map(({ key, tenant }) => ({ digest: digest(Redacted.value(key)), tenant }))
  return {
    tenantOf: (apiKey) => {
      const candidate = digest(apiKey)
      let found: Tenant | undefined
      for (const entry of entries) if (timingSafeEqual(entry.digest, candidate)) found = entry.tenant
      return found
    }
  }
}

/**
 * The API key of an `Authorization: Bearer <key>` header, if that is what the header holds.
 *
 * @since 0.1.0
 * @category parsing
 */
export const bearer = (authorization: string | undefined | null): string | undefined =>
  authorization === undefined || authorization === null ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1]
