/**
 * Every route the server serves declares who may call it (`Access.routes`), and the README's permission table is
 * exactly that declaration against every role: a new route without a declaration, or a README out of date, fails.
 */
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import * as Access from "../src/Access.js"
import { startServer, type TestServer } from "./support/server.js"

/** The rows of the first Markdown table in `text` whose header starts with `| route`, as trimmed cells. */
const tableRows = (text: string): Array<Array<string>> => {
  const lines = text.split("\n")
  const start = lines.findIndex((line) => /^\|\s*route\s*\|\s*needs\s*\|/.test(line))
  if (start < 0) return []
  const rows: Array<Array<string>> = []
  for (const line of lines.slice(start)) {
    if (!line.startsWith("|")) break
    const cells = line
      .split("|")
      .slice(1, -1)
      .map((cell) => cell.trim())
    if (cells.every((cell) => /^:?-+:?$/.test(cell))) continue
    rows.push(cells)
  }
  return rows
}

describe("route permissions", () => {
  let server: TestServer
  beforeAll(async () => {
    server = await startServer({ demo: true })
  })
  afterAll(() => server?.stop())

  it("are declared for every route the router lists, and only for those", () => {
    const served = server.routes.map((route) => `${route.method} ${route.path}`)
    const undeclared = served.filter((route) => Access.routes[route] === undefined)
    assert.deepStrictEqual(undeclared, [], "routes without a declared permission")
    const stale = Object.keys(Access.routes).filter((route) => !served.includes(route))
    assert.deepStrictEqual(stale, [], "declared routes the server does not serve")
  })

  it("match the README's permission table", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8")
    assert.deepStrictEqual(tableRows(readme), tableRows(Access.markdownTable()))
  })
})
