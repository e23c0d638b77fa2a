/**
 * Demo mode serves examples/demo-sites under `/demo/`: static pages whose `<!-- OA_SNIPPET -->` marker is replaced
 * by the snippet the README documents (`Snippet.snippet`), pointed at this server, so the pages embed the tag
 * exactly as integrators are told to.
 */
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Policy } from "@openaudience/consent"
import { Snippet } from "@openaudience/pixel"
import * as Effect from "effect/Effect"
import { readFile } from "node:fs/promises"
import { extname, join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Problem from "./Problem.js"

const root = fileURLToPath(new URL("../../demo-sites/", import.meta.url))

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "application/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png"
}

/** The demo's sites: `/demo/<site>/…` serves `examples/demo-sites/<site>/…`, and nothing else of that folder. */
const sites: ReadonlySet<string> = new Set(["shop", "news"])
const prefix = "/demo/"

/**
 * Maps a normalized `/demo/…` URL path (a WHATWG URL's `pathname`: dot segments already resolved, still
 * percent-encoded) to a file of one of the demo sites, or `undefined`. Refused: a path outside `/demo/<site>/`
 * (`/demo/shop/../../package.json` normalizes to `/package.json`), a segment that decodes to a dot segment, to a name
 * starting with a dot, or to one holding `/`, `\` or NUL, text that does not decode, and a file type the demo does not
 * serve (`types`).
 */
export const resolve = (pathname: string): string | undefined => {
  if (!pathname.startsWith(prefix)) return undefined
  const encoded = pathname.slice(prefix.length).split("/")
  if (encoded[encoded.length - 1] === "") encoded[encoded.length - 1] = "index.html"
  const segments: Array<string> = []
  for (const part of encoded) {
    let segment: string
    try {
      segment = decodeURIComponent(part)
    } catch {
      return undefined
    }
    if (segment === "" || segment.startsWith(".") || /[/\\\u0000]/.test(segment)) return undefined
    segments.push(segment)
  }
  if (segments.length < 2 || !sites.has(segments[0]!) || !Object.hasOwn(types, extname(segments.at(-1)!))) {
    return undefined
  }
  return join(root, ...segments)
}

/** `/demo/<site>` (no slash): where its index is, for a redirect. */
const siteIndex = (pathname: string): string | undefined =>
  pathname.startsWith(prefix) && sites.has(pathname.slice(prefix.length)) ? `${pathname}/` : undefined

export const serve = (publicUrl: () => string) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const pathname = new URL(request.url, "http://localhost").pathname
    const index = siteIndex(pathname)
    if (index !== undefined) return HttpServerResponse.empty({ status: 301, headers: { location: index } })
    const file = resolve(pathname)
    const body = file === undefined ? undefined : yield* Effect.promise(() => readFile(file).catch(() => undefined))
    if (file === undefined || body === undefined)
      return Problem.response(Problem.make("not-found", "no such demo page"))
    const type = types[extname(file)] ?? "application/octet-stream"
    if (type.startsWith("text/html")) {
      return HttpServerResponse.text(
        body
          .toString("utf8")
          .replace("<!-- OA_SNIPPET -->", Snippet.snippet(publicUrl(), "demo", { tcfVendorId: Policy.DemoVendorId })),
        {
          contentType: type,
          headers: { "cache-control": "no-cache" }
        }
      )
    }
    return HttpServerResponse.uint8Array(new Uint8Array(body), { contentType: type })
  })

export const home = (demo: boolean): string => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OpenAudience</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; line-height: 1.5">
<h1>OpenAudience</h1>
<p>A privacy-first retargeting platform. This server collects events from the tag at <code>/tag.js</code>.</p>
<ul>
${demo ? '<li><a href="/demo/shop/">Demo shop</a> (embeds the tag)</li>' : ""}
<li><a href="/healthz">Health</a> · <a href="/metrics">Metrics</a></li>
</ul>
</body></html>`
