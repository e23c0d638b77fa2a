#!/usr/bin/env node
// The architecture rules of docs/DESIGN ("apps assemble; packages hold the logic"), checked over the
// workspace graph (the package.json of packages/* and examples/*) and the imports of every source file
// under packages/*/src, packages/*/test, examples/*/src, examples/*/test, bench and scripts:
//   library-imports-app   a library (packages/*) imports an app (examples/*), or depends on one
//   app-imports-app       an app imports another app, or depends on one
//   internal-import       a file imports another package's internal/ modules, by name
//                         (`@openaudience/x/internal/...`) or by a relative path into its folder
//   code-from-text        code is run from text: a worker started with `eval: true`, the Function
//                         constructor, or a direct call of the global eval
//   sql-in-app            SQL text in an app's src (tables and queries belong to storage-sql and the
//                         package whose port they implement)
// Files are parsed with TypeScript, so comments and prose never count, and import specifiers are read
// from import/export declarations, import(), require(), import types and `new URL(..., import.meta.url)`.
// Prints every violation as file:line with its rule and a summary; exits 1 when there is one.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

/** The rules, in the order the summary lists them, with what each one protects. */
export const rules = {
  "library-imports-app": "a library package must not import or depend on an app (examples/*)",
  "app-imports-app": "an app must not import or depend on another app",
  "internal-import": "nothing may import another package's internal/ modules",
  "code-from-text": "no code run from text (worker `eval: true`, the Function constructor, eval)",
  "sql-in-app": "no SQL text in examples/*/src: tables and queries belong in a package"
}

const sourceExtensions = /\.(?:[cm]?ts|tsx|[cm]?js)$/
const skippedFolders = new Set(["node_modules", "dist", ".git"])

/** Every file under `dir` (recursively), skipping node_modules and dist; none when `dir` is absent. */
const walk = (dir) => {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) return []
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      if (entry.isDirectory()) return skippedFolders.has(entry.name) ? [] : walk(join(dir, entry.name))
      return entry.isFile() ? [join(dir, entry.name)] : []
    })
}

const childDirs = (dir) =>
  existsSync(dir)
    ? readdirSync(dir, { withFileTypes: true })
        .filter((entry) => entry.isDirectory() && !skippedFolders.has(entry.name))
        .map((entry) => join(dir, entry.name))
        .sort()
    : []

/**
 * The workspace graph: every folder of packages/* (libraries) and examples/* (apps) with a package.json.
 * @returns {Array<{ name: string, dir: string, kind: "library" | "app", manifest: any, manifestText: string }>}
 */
export const workspacePackages = (root) =>
  [
    ...childDirs(join(root, "packages")).map((dir) => ({ dir, kind: "library" })),
    ...childDirs(join(root, "examples")).map((dir) => ({ dir, kind: "app" }))
  ].flatMap(({ dir, kind }) => {
    const file = join(dir, "package.json")
    if (!existsSync(file)) return []
    const manifestText = readFileSync(file, "utf8")
    const manifest = JSON.parse(manifestText)
    return [{ name: manifest.name ?? relative(root, dir), dir, kind, manifest, manifestText }]
  })

/** The source files the rules look at, relative to nothing (absolute paths). */
const sourceFiles = (root, packages) => {
  const folders = [
    ...packages.flatMap(({ dir }) => [join(dir, "src"), join(dir, "test")]),
    join(root, "bench"),
    join(root, "scripts")
  ]
  return [...new Set(folders.flatMap(walk))].filter((file) => sourceExtensions.test(file) || file.endsWith(".sql"))
}

const isInside = (file, dir) => file === dir || file.startsWith(dir + sep)

/** The workspace package whose folder holds `file`, if any. */
const ownerOf = (file, packages) => packages.find(({ dir }) => isInside(file, dir))

/** Splits a bare specifier into its package name and subpath: `@a/b/c/d` → [`@a/b`, `c/d`]. */
const splitBare = (specifier) => {
  const parts = specifier.split("/")
  const count = specifier.startsWith("@") ? 2 : 1
  return [parts.slice(0, count).join("/"), parts.slice(count).join("/")]
}

/** What an import specifier names: a workspace package, and whether it reaches into its internal/ folder. */
const targetOf = (specifier, fromFile, packages) => {
  if (specifier.startsWith(".") || specifier.startsWith("/")) {
    const path = resolve(dirname(fromFile), specifier)
    const target = ownerOf(path, packages)
    if (target === undefined) return undefined
    const inner = relative(target.dir, path).split(sep)
    const internal = inner[0] === "internal" || ((inner[0] === "src" || inner[0] === "dist") && inner[1] === "internal")
    return { target, internal }
  }
  const [name, subpath] = splitBare(specifier)
  const target = packages.find((candidate) => candidate.name === name)
  if (target === undefined) return undefined
  const parts = subpath.split("/")
  const internal = parts[0] === "internal" || ((parts[0] === "src" || parts[0] === "dist") && parts[1] === "internal")
  return { target, internal }
}

const stringValue = (node) =>
  node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined

const isImportMetaUrl = (node) =>
  ts.isPropertyAccessExpression(node) &&
  node.name.text === "url" &&
  ts.isMetaProperty(node.expression) &&
  node.expression.keywordToken === ts.SyntaxKind.ImportKeyword

const propertyName = (name) =>
  ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isNoSubstitutionTemplateLiteral(name) ? name.text : undefined

/** Where SQL would be handed to a driver: a tagged template or a call whose name says so. */
const sqlSinks = /^(sql|unsafe|literal|prepare|exec|query|run|all|get|raw)$/i

/** Statement shapes, keywords in capitals; matched case-sensitively outside SQL sinks, in any case inside. */
const sqlShapes = [
  ["CREATE TABLE", /\bCREATE\s+(?:TEMP(?:ORARY)?\s+)?(?:UNIQUE\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\s/],
  ["INSERT INTO", /\bINSERT\s+(?:OR\s+\w+\s+)?INTO\s+[\w."`$]/],
  ["SELECT … FROM", /\bSELECT\s[\s\S]{0,2000}?\sFROM\s+[\w."`$(?]/],
  ["UPDATE … SET", /\bUPDATE\s+(?:[\w."`$]+\s+)?SET\s+[\w."`$]+\s*=/],
  ["DELETE FROM", /\bDELETE\s+FROM\s+[\w."`$]/],
  ["ALTER TABLE", /\bALTER\s+TABLE\s+[\w."`$]/],
  ["PRAGMA", /\bPRAGMA\s+\w/]
].map(([kind, pattern]) => ({ kind, exact: pattern, anyCase: new RegExp(pattern.source, "i") }))

/**
 * The SQL statement kind found in a piece of string or template text, if any. Prose such as "select one
 * from the list" must not count: outside an SQL sink (an `sql` tag, `sql.literal`, `prepare`, `exec`,
 * `unsafe`, …) the keywords must be written in capitals, as SQL is written in this repository.
 * @returns {string | undefined}
 */
export const sqlKind = (text, inSink) =>
  sqlShapes.find((shape) => (inSink ? shape.anyCase : shape.exact).test(text))?.kind

/** The text of a string-like node, with `${…}` holes as `?` placeholders. */
const literalText = (node) => {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text
  if (ts.isTemplateExpression(node))
    return [node.head.text, ...node.templateSpans.map((span) => span.literal.text)].join("?")
  return undefined
}

const calleeName = (expression) =>
  ts.isIdentifier(expression)
    ? expression.text
    : ts.isPropertyAccessExpression(expression)
      ? expression.name.text
      : undefined

/** Whether a string-like node is SQL handed to a driver: `sql\`…\``, `db.prepare("…")`, `sql.unsafe("…")`. */
const inSqlSink = (node) => {
  const parent = node.parent
  if (parent !== undefined && ts.isTaggedTemplateExpression(parent)) return sqlSinks.test(calleeName(parent.tag) ?? "")
  if (parent !== undefined && ts.isCallExpression(parent) && parent.arguments.includes(node)) {
    return sqlSinks.test(calleeName(parent.expression) ?? "")
  }
  return false
}

/** Reads one source file: its import specifiers, code run from text, and SQL text. */
const scanSource = (file, text) => {
  const kind = /\.[cm]?jsx?$/.test(file) ? ts.ScriptKind.JS : file.endsWith("x") ? ts.ScriptKind.TSX : ts.ScriptKind.TS
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind)
  const lineOf = (node) => source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1
  const imports = []
  const codeFromText = []
  const sql = []
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined) {
      const specifier = stringValue(node.moduleSpecifier)
      if (specifier !== undefined) imports.push({ specifier, line: lineOf(node) })
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const specifier = stringValue(node.moduleReference.expression)
      if (specifier !== undefined) imports.push({ specifier, line: lineOf(node) })
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const specifier = stringValue(node.argument.literal)
      if (specifier !== undefined) imports.push({ specifier, line: lineOf(node) })
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression
      const first = node.arguments[0]
      if (callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require")) {
        const specifier = stringValue(first)
        if (specifier !== undefined) imports.push({ specifier, line: lineOf(node) })
      } else if (
        ts.isPropertyAccessExpression(callee) &&
        callee.name.text === "resolve" &&
        ts.isMetaProperty(callee.expression)
      ) {
        const specifier = stringValue(first)
        if (specifier !== undefined) imports.push({ specifier, line: lineOf(node) })
      }
      const name = calleeName(callee)
      const global =
        ts.isIdentifier(callee) ||
        (ts.isPropertyAccessExpression(callee) &&
          ts.isIdentifier(callee.expression) &&
          ["globalThis", "window", "self", "global"].includes(callee.expression.text))
      if (global && name === "eval") codeFromText.push({ line: lineOf(node), what: "eval(…) runs text as code" })
      if (global && name === "Function") {
        codeFromText.push({ line: lineOf(node), what: "Function(…) builds code from text" })
      }
    } else if (ts.isNewExpression(node)) {
      const name = calleeName(node.expression)
      if (name === "Function") codeFromText.push({ line: lineOf(node), what: "new Function(…) builds code from text" })
      if (name === "URL" && node.arguments?.length === 2 && isImportMetaUrl(node.arguments[1])) {
        // A module loaded by path (a worker's entry); a folder or an asset is not an import.
        const specifier = stringValue(node.arguments[0])
        if (specifier?.startsWith(".") && sourceExtensions.test(specifier)) {
          imports.push({ specifier, line: lineOf(node) })
        }
      }
    } else if (ts.isPropertyAssignment(node) && propertyName(node.name) === "eval") {
      if (node.initializer.kind === ts.SyntaxKind.TrueKeyword) {
        codeFromText.push({ line: lineOf(node), what: "`eval: true` starts a worker from source text" })
      }
    } else if (ts.isShorthandPropertyAssignment(node) && node.name.text === "eval") {
      codeFromText.push({ line: lineOf(node), what: "`eval` option starts a worker from source text" })
    }
    const literal = literalText(node)
    if (literal !== undefined && !ts.isImportDeclaration(node.parent) && !ts.isExportDeclaration(node.parent)) {
      const kind = sqlKind(literal, inSqlSink(node))
      if (kind !== undefined) sql.push({ line: lineOf(node), kind })
    }
    // A template's parts are read as a whole above; their spans' expressions may hold more.
    ts.forEachChild(node, visit)
  }
  visit(source)
  return { imports, codeFromText, sql }
}

/** The line (1-based) of `"key"` in a package.json text, for pointing at a dependency. */
const manifestLine = (text, key) => {
  const index = text.indexOf(`"${key}"`)
  return index < 0 ? 1 : text.slice(0, index).split("\n").length
}

const dependencyFields = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]

/**
 * Checks the rules over the workspace at `root`.
 * @returns {{ violations: Array<{ file: string, line: number, rule: string, message: string }>, files: number, packages: number }}
 */
export const checkArchitecture = (root) => {
  const packages = workspacePackages(root)
  const violations = []
  const report = (file, line, rule, message) => violations.push({ file: relative(root, file), line, rule, message })

  for (const pkg of packages) {
    for (const field of dependencyFields) {
      for (const name of Object.keys(pkg.manifest[field] ?? {})) {
        const target = packages.find((candidate) => candidate.name === name)
        if (target?.kind !== "app" || target === pkg) continue
        const rule = pkg.kind === "library" ? "library-imports-app" : "app-imports-app"
        report(
          join(pkg.dir, "package.json"),
          manifestLine(pkg.manifestText, name),
          rule,
          `${field} lists the app ${name}`
        )
      }
    }
  }

  const files = sourceFiles(root, packages)
  for (const file of files) {
    const text = readFileSync(file, "utf8")
    const owner = ownerOf(file, packages)
    const inAppSource = owner?.kind === "app" && isInside(file, join(owner.dir, "src"))
    if (file.endsWith(".sql")) {
      if (inAppSource && text.trim() !== "") report(file, 1, "sql-in-app", "an .sql file in an app")
      continue
    }
    const scanned = scanSource(file, text)
    for (const { specifier, line } of scanned.imports) {
      const found = targetOf(specifier, file, packages)
      if (found === undefined || found.target === owner) continue
      const { target, internal } = found
      if (target.kind === "app" && owner?.kind === "library") {
        report(file, line, "library-imports-app", `imports "${specifier}" from the app ${target.name}`)
      } else if (target.kind === "app" && owner?.kind === "app") {
        report(file, line, "app-imports-app", `imports "${specifier}" from the app ${target.name}`)
      }
      if (internal) report(file, line, "internal-import", `imports "${specifier}", internal to ${target.name}`)
    }
    for (const { line, what } of scanned.codeFromText) report(file, line, "code-from-text", what)
    if (inAppSource) {
      for (const { line, kind } of scanned.sql) report(file, line, "sql-in-app", `SQL text (${kind})`)
    }
  }
  violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.rule.localeCompare(b.rule))
  return { violations, files: files.length, packages: packages.length }
}

/** Prints the violations grouped by rule and a one-line summary; returns whether there were none. */
export const printReport = ({ violations, files, packages }, log = console.log) => {
  for (const [rule, description] of Object.entries(rules)) {
    const found = violations.filter((violation) => violation.rule === rule)
    if (found.length === 0) continue
    log(`\n✖ ${rule}: ${description} (${found.length})`)
    for (const { file, line, message } of found) log(`  ${file}:${line}  ${message}`)
  }
  const counts = Object.keys(rules)
    .map((rule) => `${rule} ${violations.filter((violation) => violation.rule === rule).length}`)
    .join(", ")
  log(
    violations.length === 0
      ? `\n✔ architecture: ${files} files in ${packages} workspace packages, no violations`
      : `\n✖ architecture: ${violations.length} violations in ${files} files (${counts})`
  )
  return violations.length === 0
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
  process.exit(printReport(checkArchitecture(root)) ? 0 : 1)
}
