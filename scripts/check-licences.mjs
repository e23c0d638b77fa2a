#!/usr/bin/env node
// Fails when a published library (packages/*, not private) reaches, through its dependencies and
// peer dependencies, transitively, a package whose licence the policy in scripts/licence-policy.mjs
// denies: GPL, AGPL, LGPL, SSPL, proprietary, or no licence at all. It walks the installed
// node_modules the way Node resolves them (pnpm's symlinked layout included), so run `pnpm install`
// first. Dev dependencies are not followed: they never reach a user. Optional peers are skipped
// (the user chooses them); optional dependencies are checked when installed.
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { classify, licenceOf } from "./licence-policy.mjs"

/**
 * Packages accepted despite the policy, each with the reason a maintainer checked. Key: package name
 * (any version) or `name@version`. Example: `["some-data", "CC-BY-3.0 data file, attribution in NOTICE"]`.
 */
export const allowlist = new Map([])

const readManifest = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))

/** Finds `name` from `fromDir` the way Node does: in each ancestor's node_modules. */
const resolvePackageDir = (name, fromDir) => {
  let dir = fromDir
  for (;;) {
    const candidate = join(dir, "node_modules", name)
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate)
    const parent = dirname(dir)
    if (parent === dir) return undefined
    dir = parent
  }
}

/** The production edges of a package: dependencies, optional dependencies and non-optional peers. */
const productionEdges = (manifest) => {
  const edges = new Map()
  for (const name of Object.keys(manifest.dependencies ?? {})) edges.set(name, { optional: false })
  for (const name of Object.keys(manifest.optionalDependencies ?? {})) edges.set(name, { optional: true })
  for (const name of Object.keys(manifest.peerDependencies ?? {})) {
    if (manifest.peerDependenciesMeta?.[name]?.optional === true) continue
    if (!edges.has(name)) edges.set(name, { optional: false })
  }
  return edges
}

/** The published library packages of the workspace: packages/* that are not private. */
export const libraryPackages = (root) => {
  const packagesDir = join(root, "packages")
  return readdirSync(packagesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(packagesDir, entry.name, "package.json")))
    .map((entry) => {
      const dir = join(packagesDir, entry.name)
      return { dir, manifest: readManifest(dir) }
    })
    .filter(({ manifest }) => manifest.private !== true)
    .sort((a, b) => a.manifest.name.localeCompare(b.manifest.name))
}

/**
 * Walks one library's production dependency graph and classifies every package in it.
 * @returns {{ packages: Array<{ name: string, version: string, licence: string, allowed: boolean, reason: string, via: string[] }>, missing: Array<{ name: string, via: string[] }> }}
 */
export const auditLibrary = (library) => {
  const start = realpathSync(library.dir)
  const seen = new Set([start])
  const packages = []
  const missing = []
  const queue = [{ dir: start, manifest: library.manifest, via: [library.manifest.name] }]
  while (queue.length > 0) {
    const node = queue.shift()
    for (const [name, { optional }] of productionEdges(node.manifest)) {
      const dir = resolvePackageDir(name, node.dir)
      if (dir === undefined) {
        if (!optional) missing.push({ name, via: node.via })
        continue
      }
      if (seen.has(dir)) continue
      seen.add(dir)
      const manifest = readManifest(dir)
      const licence = licenceOf(manifest)
      const verdict = classify(licence)
      const exception = allowlist.get(`${manifest.name}@${manifest.version}`) ?? allowlist.get(manifest.name)
      packages.push({
        name: manifest.name ?? name,
        version: manifest.version ?? "?",
        licence: licence ?? "UNKNOWN",
        allowed: verdict.allowed || exception !== undefined,
        reason: verdict.allowed || exception === undefined ? verdict.reason : `allowlisted: ${exception}`,
        via: node.via
      })
      queue.push({ dir, manifest, via: [...node.via, manifest.name ?? name] })
    }
  }
  return { packages, missing }
}

/**
 * Audits every library, prints a summary and returns whether all of them pass.
 * @param {{ root?: string, log?: (line: string) => void }} [options]
 */
export const checkLicences = ({ root = process.cwd(), log = console.log } = {}) => {
  const libraries = libraryPackages(root)
  const counts = new Map()
  const unique = new Set()
  const failures = []
  for (const library of libraries) {
    const own = classify(licenceOf(library.manifest))
    if (!own.allowed) failures.push(`${library.manifest.name} itself: ${own.reason}`)
    const { packages, missing } = auditLibrary(library)
    for (const entry of packages) {
      const key = `${entry.name}@${entry.version}`
      if (!unique.has(key)) {
        unique.add(key)
        counts.set(entry.licence, (counts.get(entry.licence) ?? 0) + 1)
      }
      if (!entry.allowed) {
        failures.push(`${library.manifest.name}: ${key} (${entry.reason}) via ${entry.via.join(" > ")}`)
      }
    }
    for (const { name, via } of missing) {
      failures.push(`${library.manifest.name}: ${name} is not installed (via ${via.join(" > ")}): run pnpm install`)
    }
    const denied = packages.filter((entry) => !entry.allowed).length
    log(
      `  ${own.allowed && denied === 0 && missing.length === 0 ? "ok  " : "FAIL"} ${library.manifest.name}: ` +
        `${packages.length} production dependencies (incl. peers, transitive)` +
        (denied > 0 ? `, ${denied} denied` : "") +
        (missing.length > 0 ? `, ${missing.length} missing` : "")
    )
  }
  const byLicence = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([licence, count]) => `${licence} ${count}`)
    .join(", ")
  log(`  licences of ${unique.size} distinct packages: ${byLicence || "none"}`)
  if (allowlist.size > 0) log(`  allowlisted: ${[...allowlist.keys()].join(", ")}`)
  for (const failure of failures) log(`  ✖ ${failure}`)
  return failures.length === 0
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
  console.log(`Licence check of library production dependencies (${relative(process.cwd(), root) || "."})`)
  const ok = checkLicences({ root })
  console.log(ok ? "✔ licences: all allowed" : "✖ licences: denied or unknown licences found (see above)")
  process.exit(ok ? 0 : 1)
}
