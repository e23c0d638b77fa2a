/**
 * The `openaudience` command on SQLite: the whole life of a tenant through the real command in a child process,
 * the refusals of bad input (exit code 1, a message naming the option, nothing on stdout), and `--help` on every
 * command without a database.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { StorageError } from "@openaudience/storage-sql"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { Cli } from "../src/index.js"
import { cli, cliJson, plain } from "./support/cli.js"
import { tenantLifecycle } from "./support/scenario.js"

const dir = mkdtempSync(join(tmpdir(), "oa-cli-"))
const databaseUrl = `sqlite:${join(dir, "openaudience.db")}`
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe("openaudience on SQLite", () => {
  it("manages a tenant's life: create, add a site, create a key shown once, list, revoke, delete", async () => {
    await tenantLifecycle(databaseUrl)
  }, 300_000)

  it("refuses bad input with exit code 1, a message naming the option, and nothing on stdout", async () => {
    const { id } = await cliJson<{ readonly id: string }>(databaseUrl, "tenant", "create", "--name", "Errors")
    const past = new Date(Date.now() - 86_400_000).toISOString()
    const cases: ReadonlyArray<readonly [ReadonlyArray<string>, ReadonlyArray<string>]> = [
      [
        ["site", "add", "--tenant", "ten_0000000000000000", "--site-key", "nowhere", "--origin", "https://a.example"],
        ["not found", "ten_0000000000000000"]
      ],
      [
        ["site", "add", "--tenant", id, "--site-key", "bad-origin", "--origin", "https://a.example/shop"],
        ["--origin", "https://a.example/shop"]
      ],
      [["key", "create", "--tenant", id, "--role", "partner"], ["--partner"]],
      [
        ["key", "create", "--tenant", id, "--role", "admin", "--expires", past],
        ["--expires", "future"]
      ],
      [
        ["key", "create", "--tenant", id, "--role", "admin", "--expires", "next week"],
        ["--expires", "next week"]
      ],
      [
        ["key", "create", "--tenant", id, "--role", "boss"],
        ["--role", "boss"]
      ],
      [["key", "revoke", "--tenant", id], ["--id"]]
    ]
    const runs = await Promise.all(cases.map(([args]) => cli(databaseUrl, ...args, "--json")))
    runs.forEach((run, i) => {
      const [args, expected] = cases[i]!
      const what = `openaudience ${args.join(" ")}: ${run.stderr}`
      assert.strictEqual(run.code, 1, what)
      assert.strictEqual(run.stdout, "", what)
      for (const text of expected) assert.include(run.stderr, text, what)
      assert.notInclude(run.stderr, "\x1b[", what)
    })
    // Nothing was stored by the refused commands.
    assert.deepStrictEqual(await cliJson(databaseUrl, "key", "list", "--tenant", id), [])
    assert.deepStrictEqual(await cliJson(databaseUrl, "site", "list", "--tenant", id), [])
  }, 300_000)

  it("says which database cannot be opened, never its password, with exit code 1", async () => {
    const [scheme, refused] = await Promise.all([
      cli("nope:", "tenant", "list", "--json"),
      cli("postgres://oa:s3cret-pw@127.0.0.1:1/oa", "tenant", "list", "--json")
    ])
    for (const run of [scheme, refused]) {
      assert.strictEqual(run.code, 1, run.stderr)
      assert.strictEqual(run.stdout, "")
    }
    assert.include(scheme.stderr, 'scheme "nope:"')
    assert.include(refused.stderr, "postgres://oa@127.0.0.1:1/oa")
    assert.notInclude(refused.stderr, "s3cret-pw")
  }, 120_000)
})

/** A store that cannot be opened: help must not need one. */
const noDatabase = Layer.fail(new StorageError({ reason: "Unavailable", message: "help opened the database" }))

/** Runs the command in this process, with what it prints captured. */
const runHere = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const out: Array<string> = []
    const err: Array<string> = []
    const console = yield* Console.consoleWith(Effect.succeed)
    const exit = yield* Cli.run(["node", "openaudience", ...args], noDatabase).pipe(
      Effect.withConsole({
        ...console,
        log: (...parts) => Effect.sync(() => out.push(parts.join(" "))),
        error: (...parts) => Effect.sync(() => err.push(parts.join(" ")))
      }),
      Effect.exit
    )
    return { exit, stdout: plain(out.join("\n")), stderr: plain(err.join("\n")) }
  })

/** Every command path the root's help lists (`tenant`, `tenant create`, …), and the root itself. */
const paths = (rootHelp: string): Array<ReadonlyArray<string>> => [
  [],
  ...rootHelp
    .split("\n")
    .flatMap((line) => /^\s+- ([a-z][a-z-]*(?: [a-z][a-z-]*)*)/.exec(line)?.[1] ?? [])
    .map((path) => path.split(" "))
]

describe("openaudience --help", () => {
  it.effect("prints the usage of every command and subcommand, without opening the database", () =>
    Effect.gen(function* () {
      const root = yield* runHere(["--help"])
      const all = paths(root.stdout)
      assert.includeDeepMembers(
        all.map((path) => path.join(" ")),
        [
          "",
          "tenant",
          "tenant create",
          "tenant list",
          "tenant show",
          "tenant delete",
          "site",
          "site add",
          "site list",
          "site update",
          "site remove",
          "key",
          "key create",
          "key list",
          "key revoke",
          "user",
          "user invite",
          "user list",
          "user remove",
          "keys",
          "keys rotate",
          "audit",
          "audit verify",
          "audit list"
        ]
      )
      for (const path of all) {
        const { exit, stderr, stdout } = yield* runHere([...path, "--help"])
        const what = `openaudience ${path.join(" ")} --help: ${stderr}`
        assert.isTrue(Exit.isSuccess(exit), what)
        assert.include(stdout, "USAGE", what)
        assert.include(stdout, "DESCRIPTION", what)
        assert.strictEqual(stderr, "", what)
        if (path.length > 0) assert.include(stdout, `$ ${path.at(-1)}`, what)
      }
    })
  )

  it("works as a child process with an unusable OA_DATABASE_URL, in plain text on a pipe", async () => {
    const run = await cli("nope:", "site", "add", "--help")
    assert.strictEqual(run.code, 0, run.stderr)
    assert.include(run.stdout, "--site-key KEY")
    assert.include(run.stdout, "--origin URL")
    // Written to a pipe, not a terminal: no colour codes.
    assert.notInclude(run.stdout, "\x1b[")
  }, 60_000)
})
