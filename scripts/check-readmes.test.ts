/**
 * Tests for the README check: which fenced blocks are compiled, and, on a small workspace in a temporary
 * folder, that a block using a library's real API passes, a block using an API that does not exist fails at
 * the README's line, and a block marked skip-check is left alone.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { checkedBlocks, checkReadmes, codeBlocks } from "./check-readmes.mjs"

const fence = "```"

describe("codeBlocks", () => {
  it("finds fenced blocks with their language, flags and opening line, indented or not", () => {
    const markdown = [
      "# Title",
      `${fence}ts`,
      "const a = 1",
      fence,
      "",
      `${fence}sh`,
      "pnpm add x",
      fence,
      "- a list item:",
      `  ${fence}typescript skip-check`,
      "  const b = 2",
      `  ${fence}`,
      `~~~ts`,
      "const c = 3",
      "~~~"
    ].join("\n")
    assert.deepStrictEqual(
      codeBlocks(markdown).map(({ language, flags, line, code }) => [language, flags, line, code]),
      [
        ["ts", [], 2, "const a = 1"],
        ["sh", [], 6, "pnpm add x"],
        ["typescript", ["skip-check"], 10, "const b = 2"],
        ["ts", [], 13, "const c = 3"]
      ]
    )
    assert.deepStrictEqual(
      checkedBlocks(markdown).map((block) => block.line),
      [2, 13]
    )
  })
})

describe("checkReadmes", () => {
  it("compiles the blocks against the workspace's libraries and reports errors at README lines", () => {
    const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..")
    const root = mkdtempSync(join(tmpdir(), "oa-readmes-"))
    try {
      symlinkSync(join(repo, "node_modules"), join(root, "node_modules"), "dir")
      writeFileSync(join(root, "tsconfig.base.json"), JSON.stringify({ compilerOptions: { strict: true, types: [] } }))
      mkdirSync(join(root, "packages", "greet", "src"), { recursive: true })
      writeFileSync(
        join(root, "packages", "greet", "package.json"),
        JSON.stringify({ name: "@x/greet", type: "module", exports: { ".": "./src/index.ts" } })
      )
      writeFileSync(
        join(root, "packages", "greet", "src", "index.ts"),
        "export const greet = (name: string): string => name\n"
      )
      const readme = [
        "# greet",
        `${fence}ts`,
        'import { greet } from "@x/greet"',
        'const text: string = greet("you")',
        "await Promise.resolve(text)",
        fence,
        `${fence}ts`,
        'import { greet } from "@x/greet"',
        "",
        'greet("a", "b")',
        fence,
        `${fence}ts skip-check`,
        "greet(…)",
        fence
      ].join("\n")
      writeFileSync(join(root, "packages", "greet", "README.md"), readme)
      const result = checkReadmes(root)
      assert.strictEqual(result.blocks, 2)
      assert.deepStrictEqual(
        result.errors.map(({ readme, line, block, message }) => [readme, line, block, message.slice(0, 7)]),
        [[join("packages", "greet", "README.md"), 10, 2, "TS2554:"]]
      )
      writeFileSync(join(root, "packages", "greet", "README.md"), readme.replace('greet("a", "b")', 'greet("a")'))
      assert.deepStrictEqual(checkReadmes(root).errors, [])
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  }, 180_000)
})
