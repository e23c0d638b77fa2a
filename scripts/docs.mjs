#!/usr/bin/env node
// Generates the API reference of every library (packages/*, not private) from its entry point and the
// JSDoc in its sources, with TypeDoc, as HTML into docs/api/ (not committed). Run by `pnpm build` and
// `pnpm docs`. A missing doc comment or a type error in a module being written is not an error here
// (the typecheck step owns type errors, and the docs are only as complete as the JSDoc); an entry point
// that does not exist or that TypeDoc cannot read fails, so a broken package cannot publish silently.
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { Application, Converter, LogLevel } from "typedoc"
import ts from "typescript"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, "docs", "api")

/** The file `exports["."]` of a manifest points at, in the repository (sources, not dist). */
const entryOf = (manifest) => {
  const dot = typeof manifest.exports === "string" ? manifest.exports : manifest.exports?.["."]
  const target = typeof dot === "string" ? dot : (dot?.import ?? dot?.default ?? dot?.types)
  return typeof target === "string" ? target : (manifest.types ?? manifest.main)
}

/** Every published library with its entry point; problems for those whose entry point is broken. */
const libraries = () => {
  const found = []
  const problems = []
  const packagesDir = join(root, "packages")
  for (const dirent of readdirSync(packagesDir, { withFileTypes: true })) {
    if (!dirent.isDirectory()) continue
    const dir = join(packagesDir, dirent.name)
    if (!existsSync(join(dir, "package.json"))) continue
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"))
    if (manifest.private === true) continue
    const entry = entryOf(manifest)
    const path = entry === undefined ? undefined : join(dir, entry)
    if (path === undefined) problems.push(`${manifest.name}: package.json names no entry point (exports["."])`)
    else if (!existsSync(path))
      problems.push(`${manifest.name}: the entry point ${relative(root, path)} does not exist`)
    else found.push({ name: manifest.name, folder: dirent.name, entry: path })
  }
  return { found: found.sort((a, b) => a.name.localeCompare(b.name)), problems }
}

const main = async () => {
  const started = performance.now()
  const { found, problems } = libraries()
  for (const problem of problems) console.error(`✖ docs: ${problem}`)
  if (problems.length > 0 || found.length === 0) {
    console.error(found.length === 0 ? "✖ docs: no library entry points found" : "✖ docs: broken entry points")
    process.exit(1)
  }
  const app = await Application.bootstrap({
    entryPoints: found.map(({ entry }) => entry),
    entryPointStrategy: "resolve",
    tsconfig: join(root, "tsconfig.docs.json"),
    name: "OpenAudience API reference",
    readme: "none",
    out,
    // Types were checked by the build's tsc -b; reading them again here would double the time.
    skipErrorChecking: true,
    disableSources: true,
    excludePrivate: true,
    excludeInternal: true,
    exclude: ["**/internal/**"],
    validation: { notExported: false, notDocumented: false, invalidLink: true },
    treatWarningsAsErrors: false,
    logLevel: LogLevel.Warn
  })
  let programs = []
  app.converter.on(Converter.EVENT_BEGIN, (context) => {
    programs = context.programs
  })
  const project = await app.convert()
  if (project === undefined || app.logger.hasErrors()) {
    console.error("✖ docs: TypeDoc could not read the entry points (see the errors above)")
    process.exit(1)
  }
  // The entry points themselves must compile: a re-export of a module that is gone would otherwise leave a
  // package's reference silently empty. Only these files are checked, not everything they import.
  const entryErrors = programs.flatMap((program) =>
    found.flatMap(({ entry }) => {
      const file = program.getSourceFile(entry)
      if (file === undefined) return []
      return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)]
    })
  )
  if (entryErrors.length > 0) {
    const host = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => root, getNewLine: () => "\n" }
    console.error(ts.formatDiagnostics(entryErrors, host))
    console.error("✖ docs: broken entry points")
    process.exit(1)
  }
  // TypeDoc names a module after its path ("consent/src"): name it after the package instead.
  const byPath = new Map(found.map(({ name, folder }) => [`${folder}/src`, name]))
  for (const module of project.children ?? []) module.name = byPath.get(module.name) ?? module.name
  rmSync(out, { recursive: true, force: true })
  await app.generateDocs(project, out)
  if (app.logger.hasErrors()) {
    console.error("✖ docs: TypeDoc failed to write the reference")
    process.exit(1)
  }
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  console.log(`✔ docs: API reference of ${found.length} libraries in ${relative(root, out)}/index.html (${seconds} s)`)
}

await main()
