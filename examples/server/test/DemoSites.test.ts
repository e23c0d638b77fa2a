/**
 * The demo's static files: `/demo/<site>/…` serves the shop's and the news site's files and nothing else of
 * `examples/demo-sites` (its package.json, hidden files, other types), whatever dot segments, encodings or
 * separators the path holds. The paths are sent raw (node:http leaves dot segments alone, as an attacker's client
 * would; `fetch` would resolve them first).
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { request } from "node:http"
import { join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"
import * as DemoSites from "../src/DemoSites.js"
import { startServer, type TestServer } from "./support/server.js"

const root = fileURLToPath(new URL("../../demo-sites/", import.meta.url))
const served = new Set([".html", ".css", ".js", ".svg", ".png"])

/** A GET with the path exactly as given. */
const raw = (base: string, path: string): Promise<{ status: number; type: string; location: string; body: string }> =>
  new Promise((resolve, reject) => {
    const url = new URL(base)
    const req = request({ host: url.hostname, port: url.port, path, method: "GET" }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (chunk: string) => (body += chunk))
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers["content-type"] ?? ""),
          location: String(res.headers.location ?? ""),
          body
        })
      )
    })
    req.on("error", reject)
    req.end()
  })

/** What `resolve` may answer: a file of the shop or the news site, of a served type, no part of it hidden. */
const allowed = (file: string): boolean => {
  const parts = relative(root, file).split(sep)
  return (
    (parts[0] === "shop" || parts[0] === "news") &&
    parts.length >= 2 &&
    parts.every((part) => part !== "" && !part.startsWith(".")) &&
    served.has(file.slice(file.lastIndexOf(".")))
  )
}

/** How a browser or a server would normalize the path before routing it. */
const normalized = (path: string): string => new URL(path, "http://localhost").pathname

describe("DemoSites.resolve", () => {
  it("maps the sites' pages and assets", () => {
    assert.strictEqual(DemoSites.resolve("/demo/shop/"), join(root, "shop", "index.html"))
    assert.strictEqual(DemoSites.resolve("/demo/news/article.html"), join(root, "news", "article.html"))
    assert.strictEqual(DemoSites.resolve("/demo/shop/images/a%20b.svg"), join(root, "shop", "images", "a b.svg"))
  })

  it("refuses everything outside a site, hidden, undecodable or of another type", () => {
    for (const path of [
      "/demo/package.json",
      "/package.json",
      "/demo/",
      "/demo/other/index.html",
      "/demo/shop/%2e%2e/package.json",
      "/demo/shop/..%2fpackage.json",
      "/demo/shop/..%5c..%5cpackage.json",
      "/demo/shop/%2e/index.html",
      "/demo/shop/.env",
      "/demo/shop/.git/config.js",
      "/demo/shop//index.html",
      "/demo/shop/index.html%00.js",
      "/demo/shop/%E0%A4%A.html",
      "/demo/shop/catalog.json",
      "/demo/shop/index",
      "/demo/shop/images%2f..%2f..%2fpackage.json",
      "/demoshop/index.html"
    ]) {
      assert.isUndefined(DemoSites.resolve(path), path)
    }
  })

  it("never maps any normalized path outside the sites (property)", () => {
    const segment = fc.constantFrom(
      "..",
      ".",
      "%2e%2e",
      "%2E%2e",
      ".%2e",
      "%2e",
      "",
      "shop",
      "news",
      "images",
      "demo",
      "package.json",
      "index.html",
      "shop.css",
      ".git",
      "..%2f..",
      "%2f",
      "%5c",
      "..%5c",
      "%00",
      "%",
      "x.svg",
      "node_modules"
    )
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 8 }), fc.boolean(), (segments, trailingSlash) => {
        const path = normalized(`/demo/${segments.join("/")}${trailingSlash ? "/" : ""}`)
        const file = DemoSites.resolve(path)
        if (file === undefined) return true
        return allowed(file) && path.startsWith("/demo/")
      }),
      { numRuns: 3_000 }
    )
  })
})

describe("GET /demo/…", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer()
  })
  afterAll(async () => {
    await server?.stop()
  })

  it("serves the sites and redirects a site without its slash", async () => {
    const shop = await raw(server.url, "/demo/shop/")
    assert.strictEqual(shop.status, 200)
    assert.match(shop.type, /^text\/html/)
    const news = await raw(server.url, "/demo/news")
    assert.strictEqual(news.status, 301)
    assert.strictEqual(news.location, "/demo/news/")
    // Dot segments that stay inside the sites are what a browser would ask for anyway.
    const across = await raw(server.url, "/demo/shop/../news/index.html")
    assert.strictEqual(across.status, 200)
    assert.match(across.body, /<html/i)
  })

  it("answers 404 for every way out of the sites, never a file", async () => {
    for (const path of [
      "/demo/shop/../../package.json",
      "/demo/shop/../../../package.json",
      "/demo/shop/%2e%2e/%2e%2e/package.json",
      "/demo/shop/..%2f..%2fpackage.json",
      "/demo/news/../package.json",
      "/demo/shop/..\\..\\package.json",
      "/demo/shop/../../../../../../etc/passwd",
      "/demo/%2e%2e/%2e%2e/README.md",
      "/demo/shop/.%2e/.%2e/package.json"
    ]) {
      const answer = await raw(server.url, path)
      assert.strictEqual(answer.status, 404, path)
      assert.match(answer.type, /^application\/problem\+json/, path)
      assert.notInclude(answer.body, '"name"', path)
      assert.notInclude(answer.body, "root:", path)
    }
  })
})
