#!/usr/bin/env node
// Compiles every TypeScript block of the READMEs, so the examples users copy keep up with the API.
// Each ```ts or ```typescript block of README.md and packages/*/README.md is written as a module of its
// own into .readme-check/<run>/<package>/<n>.ts (gitignored, inside the repository so the workspace
// packages resolve: each folder sees every library by its npm name, the README's package's own
// dependencies, and what the workspace installed), and all of them are typechecked in one TypeScript
// program with tsconfig.base.json's strict options. Errors are reported at the README's path and line.
// Each run writes a folder of its own (two checks at once never delete each other's files) and removes
// it afterwards; OA_KEEP_README_CHECK=1 keeps it for a look.
// A block that is deliberately a fragment is marked ```ts skip-check; prefer making it compile.
// Exit 1 when a block does not compile.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

/** The languages of a fenced block that are checked. */
const checkedLanguages = new Set(["ts", "typescript", "mts"])

/**
 * The fenced code blocks of a Markdown text, with the 1-based line of each opening fence.
 * @returns {Array<{ language: string, flags: Array<string>, line: number, code: string }>}
 */
export const codeBlocks = (markdown) => {
  const lines = markdown.split(/\r?\n/)
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    const open = /^( {0,3})(`{3,}|~{3,})\s*([^\s`]*)(.*)$/.exec(lines[i] ?? "")
    if (open === null) continue
    const [, indent = "", fence = "", language = "", rest = ""] = open
    const body = []
    let j = i + 1
    for (; j < lines.length; j++) {
      const line = lines[j] ?? ""
      const close = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(line)
      if (close !== null && close[1]?.[0] === fence[0] && (close[1]?.length ?? 0) >= fence.length) break
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart())
    }
    blocks.push({
      language: language.toLowerCase(),
      flags: rest.trim().split(/\s+/).filter(Boolean),
      line: i + 1,
      code: body.join("\n")
    })
    i = j
  }
  return blocks
}

/** The TypeScript blocks a README asks to be checked. */
export const checkedBlocks = (markdown) =>
  codeBlocks(markdown).filter((block) => checkedLanguages.has(block.language) && !block.flags.includes("skip-check"))

/** The READMEs to check: the root one and every package's, with a folder name for their blocks. */
const readmes = (root) => {
  const found = existsSync(join(root, "README.md")) ? [{ path: join(root, "README.md"), folder: "root" }] : []
  const packagesDir = join(root, "packages")
  if (existsSync(packagesDir)) {
    for (const name of readdirSync(packagesDir).sort()) {
      const path = join(packagesDir, name, "README.md")
      if (existsSync(path)) found.push({ path, folder: name, packageDir: join(packagesDir, name) })
    }
  }
  return found
}

/** Every library of the workspace by npm name, so a block may import any of them as a user would. */
const libraries = (root) => {
  const packagesDir = join(root, "packages")
  if (!existsSync(packagesDir)) return []
  return readdirSync(packagesDir)
    .sort()
    .map((name) => join(packagesDir, name))
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => ({ dir, name: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name }))
    .filter((library) => typeof library.name === "string")
}

const link = (target, path) => {
  mkdirSync(dirname(path), { recursive: true })
  symlinkSync(relative(dirname(path), target), path, "dir")
}

/** Gives a block folder a node_modules: every library by name, and the README's package's own dependencies. */
const linkModules = (folder, packageDir, libs) => {
  const modules = join(folder, "node_modules")
  for (const lib of libs) link(lib.dir, join(modules, ...lib.name.split("/")))
  const own = packageDir === undefined ? undefined : join(packageDir, "node_modules")
  if (own === undefined || !existsSync(own)) return
  for (const entry of readdirSync(own)) {
    if (entry.startsWith(".")) continue
    const source = join(own, entry)
    if (entry.startsWith("@")) {
      for (const scoped of readdirSync(source)) {
        const path = join(modules, entry, scoped)
        if (!existsSync(path)) link(join(source, scoped), path)
      }
    } else if (!existsSync(join(modules, entry))) {
      link(source, join(modules, entry))
    }
  }
}

/** Compiler options of the check: the repository's strict base, for modules that are only checked. */
const tsconfigFor = (root, dir) => ({
  extends: relative(dir, join(root, "tsconfig.base.json")),
  compilerOptions: {
    noEmit: true,
    composite: false,
    incremental: false,
    declaration: false,
    declarationMap: false,
    sourceMap: false,
    module: "NodeNext",
    moduleResolution: "NodeNext",
    moduleDetection: "force",
    // An example may name a value to show it without using it.
    noUnusedLocals: false,
    noUnusedParameters: false
  },
  files: []
})

/**
 * Writes the blocks into `<root>/.readme-check` and typechecks them in one program.
 * @returns {{ blocks: number, readmes: number, errors: Array<{ readme: string, line: number, block: number, message: string }> }}
 */
export const checkReadmes = (root) => {
  const dir = join(root, ".readme-check", `run-${process.pid}-${Date.now().toString(36)}`)
  mkdirSync(dir, { recursive: true })
  try {
    return checkIn(root, dir)
  } finally {
    if (process.env.OA_KEEP_README_CHECK !== "1") {
      rmSync(dir, { recursive: true, force: true })
      // The parent goes too once no other run is using it (rmdir refuses a folder that is not empty).
      try {
        rmdirSync(dirname(dir))
      } catch {
        // another run's folder is still there
      }
    }
  }
}

const checkIn = (root, dir) => {
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ private: true, type: "module" }, null, 2)}\n`)
  writeFileSync(join(dir, "tsconfig.json"), `${JSON.stringify(tsconfigFor(root, dir), null, 2)}\n`)
  // What the workspace installed (pnpm's hoisted folder), for imports a README's package does not list itself.
  const hoisted = join(root, "node_modules", ".pnpm", "node_modules")
  if (existsSync(hoisted)) link(hoisted, join(dir, "node_modules"))

  const libs = libraries(root)
  const files = new Map()
  const checked = readmes(root)
  for (const readme of checked) {
    const blocks = checkedBlocks(readFileSync(readme.path, "utf8"))
    if (blocks.length === 0) continue
    const folder = join(dir, readme.folder)
    mkdirSync(folder, { recursive: true })
    linkModules(folder, readme.packageDir, libs)
    blocks.forEach((block, index) => {
      const file = join(folder, `${index + 1}.ts`)
      writeFileSync(file, `${block.code}\n`)
      files.set(resolve(file), { readme: relative(root, readme.path), line: block.line, block: index + 1 })
    })
  }
  if (files.size === 0) return { blocks: 0, readmes: checked.length, errors: [] }

  const configPath = join(dir, "tsconfig.json")
  const config = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} }
  )
  if (config === undefined) throw new Error(`cannot read ${configPath}`)
  const program = ts.createProgram({ rootNames: [...files.keys()], options: config.options })
  const errors = []
  const seen = new Set()
  for (const diagnostic of [...config.errors, ...ts.getPreEmitDiagnostics(program)]) {
    if (diagnostic.category !== ts.DiagnosticCategory.Error) continue
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")
    const origin = diagnostic.file === undefined ? undefined : files.get(resolve(diagnostic.file.fileName))
    if (origin === undefined) {
      // An error outside the blocks (a package's own source) is the typecheck step's to report, unless
      // it is global (no file): then the check itself is broken.
      if (diagnostic.file === undefined) errors.push({ readme: "(config)", line: 0, block: 0, message })
      continue
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0)
    // One error per line and message: `f(a, a)` with two bad arguments says it once.
    const key = `${diagnostic.file.fileName}:${line}:${diagnostic.code}:${message}`
    if (seen.has(key)) continue
    seen.add(key)
    errors.push({
      readme: origin.readme,
      line: origin.line + 1 + line,
      block: origin.block,
      message: `TS${diagnostic.code}: ${message}`
    })
  }
  return { blocks: files.size, readmes: checked.length, errors }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
  const started = performance.now()
  const { blocks, readmes: count, errors } = checkReadmes(root)
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  for (const { readme, line, block, message } of errors)
    console.log(`  ✖ ${readme}:${line} (block ${block}): ${message}`)
  if (errors.length > 0) {
    const where = new Set(errors.map((error) => `${error.readme}#${error.block}`)).size
    console.log(`\n✖ READMEs: ${errors.length} errors in ${where} of ${blocks} TypeScript blocks (${seconds} s)`)
    process.exit(1)
  }
  console.log(`✔ READMEs: ${blocks} TypeScript blocks in ${count} READMEs compile (${seconds} s)`)
}
