/**
 * Browser tag size: the bytes of the built tag (`packages/pixel/dist/tag.js`) on the wire, gzipped at level 9
 * with node:zlib. The tag is built first when it is missing or older than the pixel package's sources.
 */
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { gzipSync } from "node:zlib"
import { type Figure, log } from "./stats.ts"

const newestMtime = (dir: string): number => {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    const mtime = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs
    if (mtime > newest) newest = mtime
  }
  return newest
}

const builtAt = (file: string): number | undefined => {
  try {
    return statSync(file).mtimeMs
  } catch {
    return undefined
  }
}

/** Builds the tag if needed and measures it. */
export const run = (root: string): ReadonlyArray<Figure> => {
  const tagFile = join(root, "packages/pixel/dist/tag.js")
  const built = builtAt(tagFile)
  if (built === undefined || built < newestMtime(join(root, "packages/pixel/src"))) {
    log(`tag: ${built === undefined ? "not built" : "older than its sources"}, building it`)
    const build = spawnSync("pnpm", ["--filter", "@openaudience/pixel", "run", "build:tag"], {
      cwd: root,
      stdio: ["ignore", "inherit", "inherit"]
    })
    if (build.status !== 0) throw new Error(`tag: build:tag failed (exit ${build.status ?? build.signal})`)
  }
  const source = readFileSync(tagFile)
  const gzipped = gzipSync(source, { level: 9 })
  log(`tag: ${source.length} bytes minified, ${gzipped.length} gzipped`)
  return [
    { name: "tag.bytes", value: source.length, unit: "bytes", note: "dist/tag.js as built (minified)" },
    { name: "tag.gzip_bytes", value: gzipped.length, unit: "bytes", note: "dist/tag.js gzipped at level 9" }
  ]
}
