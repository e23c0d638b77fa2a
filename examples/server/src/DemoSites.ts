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
import { extname, join, normalize, sep } from "node:path"
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

/** Maps a `/demo/...` request path to a file inside the demo-sites folder, refusing anything outside it. */
export const resolve = (pathname: string): string | undefined => {
  let relative: string
  try {
    relative = decodeURIComponent(pathname.replace(/^\/demo\/?/, ""))
  } catch {
    return undefined
  }
  if (relative === "" || relative.endsWith("/")) relative += "index.html"
  const file = normalize(join(root, relative))
  return file.startsWith(root.endsWith(sep) ? root : root + sep) && !relative.includes("\u0000") ? file : undefined
}

export const serve = (publicUrl: () => string) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const pathname = new URL(request.url, "http://localhost").pathname
    if (pathname === "/demo" || pathname === "/demo/shop") {
      return HttpServerResponse.empty({ status: 301, headers: { location: `${pathname}/` } })
    }
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
