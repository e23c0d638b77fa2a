/**
 * Tests for the architecture check: a small synthetic workspace (two libraries, two apps) in a temporary
 * folder starts clean, then each rule is broken by one file and must be reported at that file and line,
 * and must pass again once the file is gone.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { afterEach, assert, beforeEach, describe, it } from "@effect/vitest"
import { checkArchitecture, printReport, sqlKind } from "./check-architecture.mjs"

let root = ""

const write = (path: string, text: string) => {
  mkdirSync(dirname(join(root, path)), { recursive: true })
  writeFileSync(join(root, path), text)
}

const remove = (path: string) => rmSync(join(root, path), { force: true })

const manifest = (name: string, dependencies: Record<string, string> = {}) =>
  `${JSON.stringify({ name, version: "0.0.0", type: "module", dependencies }, null, 2)}\n`

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "oa-architecture-"))
  write("packages/base/package.json", manifest("@x/base"))
  write("packages/base/src/index.ts", 'export * as Thing from "./Thing.js"\n')
  write("packages/base/src/Thing.ts", 'import { helper } from "./internal/helper.js"\nexport const thing = helper\n')
  write("packages/base/src/internal/helper.ts", "export const helper = 1\n")
  write("packages/base/test/Thing.test.ts", 'import { helper } from "../src/internal/helper.js"\nhelper\n')
  write("packages/top/package.json", manifest("@x/top", { "@x/base": "workspace:^" }))
  write("packages/top/src/index.ts", 'import { Thing } from "@x/base"\nexport const top = Thing.thing\n')
  write("examples/server/package.json", manifest("@x/server", { "@x/top": "workspace:^" }))
  write(
    "examples/server/src/main.ts",
    [
      'import { top } from "@x/top"',
      "// Comments may say SELECT name FROM visitors, new Function(text) or eval(text): only code counts.",
      'const label = "Select one from the list, then delete from your basket"',
      'const worker = new URL("./thread.js", import.meta.url)',
      'const assets = new URL("../../site/", import.meta.url)',
      "export { top, label, worker, assets }",
      ""
    ].join("\n")
  )
  write("examples/server/src/thread.ts", "export {}\n")
  write("examples/worker/package.json", manifest("@x/worker", { "@x/base": "workspace:^" }))
  write("examples/worker/src/main.ts", 'import { Thing } from "@x/base"\nexport const main = Thing\n')
  write("scripts/tool.mjs", 'import { readFileSync } from "node:fs"\nreadFileSync\n')
})

afterEach(() => {
  rmSync(root, { recursive: true, force: true })
})

const found = () => checkArchitecture(root).violations.map(({ file, line, rule }) => `${file}:${line} ${rule}`)

describe("checkArchitecture", () => {
  it("passes a workspace where apps assemble packages, with prose and comments that only mention SQL or eval", () => {
    const report = checkArchitecture(root)
    assert.deepStrictEqual(report.violations, [])
    assert.strictEqual(report.packages, 4)
    assert.strictEqual(report.files, 9)
    const lines: Array<string> = []
    assert.isTrue(printReport(report, (line) => lines.push(line)))
    assert.match(lines.join("\n"), /no violations/)
  })

  it("library-imports-app: a library importing an app, by name or by path, or depending on one", () => {
    write("packages/top/src/Bad.ts", 'export const a = 1\nexport { main } from "@x/worker"\n')
    write("packages/base/test/Bad.test.ts", 'import "../../../examples/server/src/main.js"\n')
    assert.deepStrictEqual(found(), [
      "packages/base/test/Bad.test.ts:1 library-imports-app",
      "packages/top/src/Bad.ts:2 library-imports-app"
    ])
    write("packages/top/package.json", manifest("@x/top", { "@x/base": "workspace:^", "@x/server": "workspace:^" }))
    assert.include(found(), "packages/top/package.json:7 library-imports-app")
    remove("packages/top/src/Bad.ts")
    remove("packages/base/test/Bad.test.ts")
    write("packages/top/package.json", manifest("@x/top", { "@x/base": "workspace:^" }))
    assert.deepStrictEqual(found(), [])
  })

  it("app-imports-app: an app importing another app, by name, by path, by dynamic import or worker URL", () => {
    write(
      "examples/server/src/Bad.ts",
      [
        'import type { main } from "@x/worker"',
        'export const load = () => import("../../worker/src/main.js")',
        'export const thread = new URL("../../worker/src/main.ts", import.meta.url)',
        "export type Main = typeof main",
        ""
      ].join("\n")
    )
    assert.deepStrictEqual(found(), [
      "examples/server/src/Bad.ts:1 app-imports-app",
      "examples/server/src/Bad.ts:2 app-imports-app",
      "examples/server/src/Bad.ts:3 app-imports-app"
    ])
    write(
      "examples/server/package.json",
      manifest("@x/server", { "@x/top": "workspace:^", "@x/worker": "workspace:^" })
    )
    assert.include(found(), "examples/server/package.json:7 app-imports-app")
    remove("examples/server/src/Bad.ts")
    write("examples/server/package.json", manifest("@x/server", { "@x/top": "workspace:^" }))
    assert.deepStrictEqual(found(), [])
  })

  it("internal-import: another package's internal/ by name or relative path; a package's own tests may", () => {
    write("packages/top/src/Bad.ts", 'import { helper } from "@x/base/internal/helper.js"\nexport const a = helper\n')
    write("examples/worker/src/Bad.ts", 'export * from "../../../packages/base/src/internal/helper.js"\n')
    write("scripts/bad.mjs", 'const { helper } = await import("@x/base/internal/helper.js")\nhelper\n')
    assert.deepStrictEqual(found(), [
      "examples/worker/src/Bad.ts:1 internal-import",
      "packages/top/src/Bad.ts:1 internal-import",
      "scripts/bad.mjs:1 internal-import"
    ])
    remove("packages/top/src/Bad.ts")
    remove("examples/worker/src/Bad.ts")
    remove("scripts/bad.mjs")
    assert.deepStrictEqual(found(), [])
  })

  it("code-from-text: a worker from source text, the Function constructor and eval, anywhere", () => {
    write(
      "packages/base/src/Bad.ts",
      [
        'import { Worker } from "node:worker_threads"',
        'export const w = new Worker("postMessage(1)", { eval: true })',
        'export const f = new Function("a", "return a")',
        'export const g = Function("return this")',
        "export const h = (text: string) => eval(text)",
        'export const i = globalThis.eval("1")',
        "export const notEval = { evaluate: true, eval: false }",
        ""
      ].join("\n")
    )
    write("bench/bad.ts", 'export const w = { "eval": true }\n')
    assert.deepStrictEqual(found(), [
      "bench/bad.ts:1 code-from-text",
      "packages/base/src/Bad.ts:2 code-from-text",
      "packages/base/src/Bad.ts:3 code-from-text",
      "packages/base/src/Bad.ts:4 code-from-text",
      "packages/base/src/Bad.ts:5 code-from-text",
      "packages/base/src/Bad.ts:6 code-from-text"
    ])
    remove("packages/base/src/Bad.ts")
    remove("bench/bad.ts")
    assert.deepStrictEqual(found(), [])
  })

  it("sql-in-app: SQL text in an app's src fails; in a package, an app's tests or prose it does not", () => {
    write(
      "examples/worker/src/Bad.ts",
      [
        "declare const sql: (parts: TemplateStringsArray, ...values: Array<unknown>) => unknown",
        "declare const db: { prepare: (text: string) => unknown }",
        "export const a = sql`CREATE TABLE IF NOT EXISTS counts (day INTEGER)`",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the fixture is source text holding a template
        "export const b = (tenant: string) => sql`SELECT day, n FROM counts WHERE tenant = ${tenant}`",
        'export const c = db.prepare("insert into counts (day) values (?)")',
        "export const d = `UPDATE counts SET n = n + 1`",
        'export const e = "DELETE FROM counts"',
        'export const f = "ALTER TABLE counts ADD COLUMN x"',
        'export const g = "PRAGMA journal_mode = WAL"',
        ""
      ].join("\n")
    )
    write("examples/worker/src/schema.sql", "CREATE TABLE t (x INTEGER);\n")
    write("packages/base/src/Store.ts", 'export const q = "SELECT day FROM counts"\n')
    write("examples/worker/test/Store.test.ts", 'export const q = "SELECT day FROM counts"\n')
    assert.deepStrictEqual(found(), [
      "examples/worker/src/Bad.ts:3 sql-in-app",
      "examples/worker/src/Bad.ts:4 sql-in-app",
      "examples/worker/src/Bad.ts:5 sql-in-app",
      "examples/worker/src/Bad.ts:6 sql-in-app",
      "examples/worker/src/Bad.ts:7 sql-in-app",
      "examples/worker/src/Bad.ts:8 sql-in-app",
      "examples/worker/src/Bad.ts:9 sql-in-app",
      "examples/worker/src/schema.sql:1 sql-in-app"
    ])
    remove("examples/worker/src/Bad.ts")
    remove("examples/worker/src/schema.sql")
    assert.deepStrictEqual(found(), [])
  })

  it("prints each violation as file:line under its rule, and a failing summary", () => {
    write("examples/server/src/Bad.ts", 'export * from "@x/worker"\n')
    const lines: Array<string> = []
    assert.isFalse(printReport(checkArchitecture(root), (line) => lines.push(line)))
    const text = lines.join("\n")
    assert.include(text, "app-imports-app")
    assert.include(text, "examples/server/src/Bad.ts:1")
    assert.match(text, /1 violations in 10 files/)
  })
})

describe("sqlKind", () => {
  it("tells statements from prose", () => {
    assert.strictEqual(sqlKind("SELECT a, b FROM t", false), "SELECT … FROM")
    assert.strictEqual(
      sqlKind("(SELECT CASE WHEN x > 1 THEN 'm' END\n FROM json_each(p) AS item)", false),
      "SELECT … FROM"
    )
    assert.strictEqual(
      sqlKind("INSERT INTO audience_daily ? ON CONFLICT (tenant) DO UPDATE SET n = 1", false),
      "INSERT INTO"
    )
    assert.strictEqual(sqlKind("select a from t", true), "SELECT … FROM")
    for (const prose of [
      "Select one from the list",
      "select a product from the list",
      "Delete from your basket, then insert into the cart",
      "Update your settings",
      "<select name=country>from</select>"
    ]) {
      assert.strictEqual(sqlKind(prose, false), undefined, prose)
    }
  })
})
