/**
 * The built browser tag, served at `GET /tag.js` with a strong ETag and a short public cache lifetime so a new
 * release reaches sites within the hour. The file is built by `pnpm --filter @openaudience/pixel build:tag`.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"

export interface Tag {
  readonly body: Uint8Array
  readonly etag: string
}

/** Where the built tag lives, next to the pixel package's entry point. */
export const tagPath = (): string =>
  join(dirname(createRequire(import.meta.url).resolve("@openaudience/pixel")), "..", "dist", "tag.js")

export const load = Effect.tryPromise({
  try: () => readFile(tagPath()),
  catch: () =>
    new Error(`the browser tag is not built (${tagPath()}): run 'pnpm --filter @openaudience/pixel run build:tag'`)
}).pipe(
  Effect.map(
    (body): Tag => ({
      body: new Uint8Array(body),
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 16)}"`
    })
  )
)

export const respond = (tag: Tag) =>
  HttpServerResponse.uint8Array(tag.body, {
    contentType: "application/javascript; charset=utf-8",
    headers: { "cache-control": "public, max-age=3600", etag: tag.etag, "x-content-type-options": "nosniff" }
  })
