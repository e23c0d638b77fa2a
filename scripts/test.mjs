#!/usr/bin/env node
// The whole test suite, as the README's test command runs it: every step must pass.
// Steps run in order and stop at the first failure so the failing step is the last thing printed.
import { spawnSync } from "node:child_process"
import { existsSync } from "node:fs"

const chromium = process.env.OA_CHROMIUM ?? "/usr/bin/chromium"

const run = (title, command, args) => {
  console.log(`\n▶ ${title}: ${command} ${args.join(" ")}`)
  const result = spawnSync(command, args, { stdio: "inherit", shell: false })
  if (result.status !== 0) {
    console.error(`✖ ${title} failed (exit ${result.status ?? result.signal})`)
    process.exit(result.status ?? 1)
  }
}

// Browser tests drive Debian's Chromium; install it when missing (never a downloaded browser).
if (!existsSync(chromium)) {
  if (process.getuid?.() === 0) {
    run("install chromium", "sh", [
      "-c",
      "apt-get install -y chromium || (apt-get update && apt-get install -y chromium)"
    ])
  } else {
    console.error(`✖ ${chromium} is missing: install Debian's chromium package (sudo apt-get install chromium)`)
    process.exit(1)
  }
}

run("build", "pnpm", ["run", "build"])
run("typecheck", "pnpm", ["run", "typecheck"])
run("lint", "pnpm", ["exec", "biome", "ci", "."])
run("architecture", "node", ["scripts/check-architecture.mjs"])
run("README examples", "node", ["scripts/check-readmes.mjs"])
run("unit, integration and browser tests", "pnpm", ["exec", "vitest", "run"])
if (existsSync("scripts/check-packages.mjs")) run("package checks", "node", ["scripts/check-packages.mjs"])
console.log("\n✔ all test steps passed")
