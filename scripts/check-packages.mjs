#!/usr/bin/env node
// Checks what npm users would actually download. Every library under packages/* (not private) is
// packed with `pnpm pack` into a temporary folder, which applies `publishConfig` (exports and types
// pointing at dist) and turns `workspace:^` into real ranges, and the tarball is then checked:
//   publint   packaging lint of the tarball (errors fail, warnings are printed)
//   attw      @arethetypeswrong/cli on the tarball with the esm-only profile (problems fail)
//   ranges    the packed package.json has no workspace:/link:/file:/catalog: ranges left, and its
//             runtime dependencies and peers are ranges (^1.2.3), not exact pins that would force a
//             second copy of a package on users who already have a compatible one
//   files     only package.json, README, LICENSE, CHANGELOG, dist/ and src/ ship, and no tests;
//             exports point at built files, source maps point at files that ship
// Then the licence check (scripts/check-licences.mjs) runs. Run `pnpm build` first. Exit 1 on failure.
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, posix, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { gunzipSync } from "node:zlib"
import { publint } from "publint"
import { formatMessage } from "publint/utils"
import { checkLicences, libraryPackages } from "./check-licences.mjs"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const attwBin = join(root, "node_modules", ".bin", process.platform === "win32" ? "attw.cmd" : "attw")
// The esm-only profile ignores these resolution modes: CommonJS consumers must use import().
const attwIgnoredResolutions = new Set(["node10", "node16-cjs"])

/** Runs a command, collecting its output; never rejects. */
const exec = (command, args, options) =>
  new Promise((done) => {
    const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk) => {
      stdout += chunk
    })
    child.stderr.on("data", (chunk) => {
      stderr += chunk
    })
    child.on("error", (error) => done({ code: -1, stdout, stderr: `${stderr}${error.message}` }))
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }))
  })

/** Reads the regular files of a .tgz (ustar, with pax long names) into a Map of path → bytes. */
const readTarball = (bytes) => {
  const tar = gunzipSync(bytes)
  const files = new Map()
  const text = (start, length) => tar.toString("utf8", start, start + length).replace(/\0.*$/s, "")
  let offset = 0
  let paxPath
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512)
    if (header.every((byte) => byte === 0)) break
    const name = text(offset, 100)
    const size = Number.parseInt(text(offset + 124, 12).trim() || "0", 8)
    const type = String.fromCharCode(header[156] ?? 0)
    const prefix = text(offset + 345, 155)
    const body = tar.subarray(offset + 512, offset + 512 + size)
    if (type === "x") {
      const match = /\d+ path=([^\n]*)\n/.exec(body.toString("utf8"))
      paxPath = match?.[1]
    } else {
      if (type === "0" || type === "\0") files.set(paxPath ?? (prefix ? `${prefix}/${name}` : name), body)
      paxPath = undefined
    }
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return files
}

const allowedTopLevel = /^(package\.json|(README|LICENSE|LICENCE|NOTICE)(\.[a-z]+)?|CHANGELOG\.md)$/i
const testLike = /(^|\/)(test|tests|__tests__|__snapshots__|fixtures?)\/|\.(test|spec|bench)\.[^/]*$/
const rangeFields = ["dependencies", "peerDependencies", "optionalDependencies", "devDependencies"]

/** Every string target in an exports/main/types value, for checking where entry points lead. */
const targetsOf = (value) =>
  typeof value === "string"
    ? [value]
    : value !== null && typeof value === "object"
      ? Object.values(value).flatMap(targetsOf)
      : []

const runtimeFields = ["dependencies", "peerDependencies", "optionalDependencies"]

/** An exact version (`1.2.3`, `=1.2.3`, `v1.2.3-rc.1`): one release only, where a range would do. */
export const isExactPin = (range) =>
  /^(=|v)?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(String(range).trim())

/**
 * The packed package.json must not keep ranges that only mean something inside this workspace, and what
 * users install with it (dependencies, peers) must be ranges so their package manager can share one copy.
 */
export const checkRanges = (manifest) => {
  const badRanges = rangeFields.flatMap((field) =>
    Object.entries(manifest[field] ?? {})
      .filter(([, range]) => /^(workspace|link|file|catalog):/.test(String(range)))
      .map(([name, range]) => `${field}.${name}: ${range}`)
  )
  const pins = runtimeFields.flatMap((field) =>
    Object.entries(manifest[field] ?? {})
      .filter(([, range]) => isExactPin(range))
      .map(([name, range]) => `${field}.${name}: ${range} (use ^${String(range).replace(/^[=v]+/, "")})`)
  )
  const errors = [
    ...(badRanges.length > 0 ? [`ranges: unpublishable ranges left in: ${badRanges.join(", ")}`] : []),
    ...(pins.length > 0 ? [`ranges: exact pins in runtime dependencies: ${pins.join(", ")}`] : [])
  ]
  return { errors, warnings: [] }
}

/** What ships: only dist/, src/ and the usual top-level files, no tests, built entry points, whole source maps. */
const checkContents = (files, manifest) => {
  const errors = []
  const warnings = []
  const paths = [...files.keys()].map((path) => path.replace(/^package\//, ""))
  const stray = paths.filter((path) => !(allowedTopLevel.test(path) || /^(dist|src)\//.test(path)))
  if (stray.length > 0) errors.push(`files: outside dist/, src/ and README/LICENSE: ${stray.join(", ")}`)
  const tests = paths.filter((path) => testLike.test(path))
  if (tests.length > 0) errors.push(`files: tests ship in the tarball: ${tests.join(", ")}`)
  if (!paths.some((path) => /^README(\.|$)/i.test(path))) warnings.push("files: no README in the tarball")
  if (!paths.some((path) => /^LICEN[CS]E(\.|$)/i.test(path))) warnings.push("files: no LICENSE file in the tarball")
  const buildInfo = paths.filter((path) => path.endsWith(".tsbuildinfo"))
  if (buildInfo.length > 0) warnings.push(`files: build cache ships: ${buildInfo.join(", ")}`)

  const entryTargets = [manifest.exports, manifest.main, manifest.module, manifest.types, manifest.typings]
    .flatMap(targetsOf)
    .filter((target) => /\.[cm]?tsx?$/.test(target) && !/\.d\.[cm]?ts$/.test(target))
  if (entryTargets.length > 0) {
    errors.push(`files: exports point at TypeScript sources (is publishConfig applied?): ${entryTargets.join(", ")}`)
  }

  const shipped = new Set(paths)
  for (const path of paths.filter((p) => p.endsWith(".map"))) {
    let map
    try {
      map = JSON.parse(files.get(`package/${path}`)?.toString("utf8") ?? "")
    } catch {
      errors.push(`files: ${path} is not valid JSON`)
      continue
    }
    const base = posix.join(posix.dirname(path), map.sourceRoot ?? "")
    const absent = (map.sources ?? []).filter((source) => !shipped.has(posix.normalize(posix.join(base, source))))
    if (absent.length > 0) errors.push(`files: ${path} refers to sources that do not ship: ${absent.join(", ")}`)
  }
  return { errors, warnings }
}

/** Runs publint on the tarball; errors fail, warnings are reported. */
const runPublint = async (tarball) => {
  const { messages, pkg } = await publint({
    pack: { tarball: tarball.buffer.slice(tarball.byteOffset, tarball.byteOffset + tarball.byteLength) },
    level: "warning"
  })
  const format = (message) => `publint: ${formatMessage(message, pkg, { color: false }) ?? message.code}`
  return {
    errors: messages.filter((message) => message.type === "error").map(format),
    warnings: messages.filter((message) => message.type === "warning").map(format)
  }
}

/** Runs arethetypeswrong on the tarball with the profile for ESM-only packages. */
const runAttw = async (tarballPath) => {
  const result = await exec(attwBin, [tarballPath, "--profile", "esm-only", "--format", "json", "--no-color"], {
    cwd: root
  })
  let problems = []
  try {
    const report = JSON.parse(result.stdout)
    problems = Object.values(report.problems ?? {})
      .flat()
      .filter((problem) => !attwIgnoredResolutions.has(problem.resolutionKind))
      .map((problem) => {
        const where =
          problem.entrypoint !== undefined
            ? `"${problem.entrypoint}" (${problem.resolutionKind ?? "all resolutions"})`
            : (problem.typesFileName ?? problem.fileName ?? "the package").replace(
                /^\/node_modules\/(@[^/]+\/)?[^/]+\//,
                ""
              )
        return `attw: ${problem.kind} at ${where}`
      })
  } catch {
    if (result.code !== 0) problems = [`attw: exit ${result.code}: ${(result.stderr || result.stdout).trim()}`]
  }
  if (result.code !== 0 && problems.length === 0) problems = [`attw: exit ${result.code}: ${result.stderr.trim()}`]
  return { errors: result.code === 0 ? [] : problems, warnings: result.code === 0 ? problems : [] }
}

/** Packs one library and runs every check on its tarball. */
const checkLibrary = async ({ dir, manifest }, tmp) => {
  const name = manifest.name
  const row = { package: name, files: "-", size: "-", publint: "-", attw: "-", ranges: "-", contents: "-" }
  const errors = []
  const warnings = []
  if (!existsSync(join(dir, "dist"))) {
    errors.push(`dist/ is missing in ${relative(root, dir)}: run \`pnpm build\` before the package checks`)
    return { row, errors, warnings }
  }
  const destination = mkdtempSync(join(tmp, "pack-"))
  const packed = await exec("pnpm", ["pack", "--pack-destination", destination], { cwd: dir })
  const tarballName = readdirSync(destination).find((file) => file.endsWith(".tgz"))
  if (packed.code !== 0 || tarballName === undefined) {
    errors.push(`pnpm pack failed (exit ${packed.code}): ${(packed.stderr || packed.stdout).trim()}`)
    return { row, errors, warnings }
  }
  const tarballPath = join(destination, tarballName)
  const tarball = readFileSync(tarballPath)
  const files = readTarball(tarball)
  const packedManifest = JSON.parse(files.get("package/package.json")?.toString("utf8") ?? "{}")
  row.files = String(files.size)
  row.size = `${(tarball.byteLength / 1024).toFixed(1)} kB`

  const [publintResult, attwResult] = await Promise.all([runPublint(tarball), runAttw(tarballPath)])
  const checks = {
    publint: publintResult,
    attw: attwResult,
    ranges: checkRanges(packedManifest),
    contents: checkContents(files, packedManifest)
  }
  for (const [column, result] of Object.entries(checks)) {
    row[column] = result.errors.length > 0 ? "FAIL" : result.warnings.length > 0 ? "warn" : "ok"
    errors.push(...result.errors)
    warnings.push(...result.warnings)
  }
  return { row, errors, warnings }
}

const printTable = (rows) => {
  const columns = ["package", "files", "size", "publint", "attw", "ranges", "contents", "result"]
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => String(row[column]).length)))
  const line = (cells) => `  ${cells.map((cell, i) => String(cell).padEnd(widths[i] ?? 0)).join("  ")}`.trimEnd()
  console.log(line(columns))
  console.log(line(widths.map((width) => "-".repeat(width))))
  for (const row of rows) console.log(line(columns.map((column) => row[column])))
}

const main = async () => {
  const libraries = libraryPackages(root)
  console.log(`Package checks: packing ${libraries.length} libraries with pnpm pack`)
  const tmp = mkdtempSync(join(tmpdir(), "oa-check-packages-"))
  let results
  try {
    results = await Promise.all(libraries.map((library) => checkLibrary(library, tmp)))
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
  printTable(results.map(({ row, errors }) => ({ ...row, result: errors.length > 0 ? "FAIL" : "ok" })))
  for (const { row, errors, warnings } of results) {
    for (const warning of warnings) console.log(`  ⚠ ${row.package}: ${warning}`)
    for (const error of errors) console.log(`  ✖ ${row.package}: ${error}`)
  }
  const packagesOk = libraries.length > 0 && results.every(({ errors }) => errors.length === 0)
  if (libraries.length === 0) console.log("  ✖ no library packages found under packages/")

  console.log("\nLicence check of library production dependencies")
  const licencesOk = checkLicences({ root })

  const ok = packagesOk && licencesOk
  console.log(
    ok
      ? "\n✔ package checks passed"
      : `\n✖ package checks failed:${packagesOk ? "" : " tarballs"}${licencesOk ? "" : " licences"}`
  )
  process.exit(ok ? 0 : 1)
}

// Run when invoked as a script; importing the module (its tests) only defines the checks.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
