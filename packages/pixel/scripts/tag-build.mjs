// Builds the browser tag with tsup's API and measures it. Used by `tsup.tag.config.ts` (the `build:tag`
// script), by the size-budget test and by the benchmark: `node scripts/tag-build.mjs` prints the sizes.
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"

const root = fileURLToPath(new URL("..", import.meta.url))

/** The gzipped size budget of `tag.js`, in bytes. */
export const TAG_BUDGET_GZIP = 2200 // keep in step with TagBundle.gzipBudgetBytes

// Terser squeezes a few dozen bytes more than esbuild's minifier out of the tag. It runs as our own tsup plugin
// (tsup's built-in one looks terser up from the working directory, which is the repository root in tests).
const terserPlugin = {
  name: "oa-terser",
  async renderChunk(code, info) {
    if (!info.path.endsWith(".js")) return
    const { minify } = await import("terser")
    const result = await minify(code, {
      ecma: 2017,
      toplevel: true,
      compress: { passes: 3, unsafe: true, unsafe_arrows: true, pure_getters: true },
      mangle: { toplevel: true }
    })
    // esbuild marks the IIFE strict because the sources are modules; the tag does not depend on strict mode.
    return { code: result.code.replace(/^"use strict";/, "") }
  }
}

/** tsup options for the tag: a minified ES2017 IIFE at `<outDir>/tag.js`. */
export const tagBuildOptions = (outDir = `${root}dist`) => ({
  entry: { tag: `${root}src/tag/main.ts` },
  outDir,
  format: ["iife"],
  platform: "browser",
  target: "es2017",
  minify: true,
  plugins: [terserPlugin],
  sourcemap: false,
  dts: false,
  clean: false,
  splitting: false,
  silent: true,
  outExtension: () => ({ js: ".js" })
})

/** Builds `tag.js` into `outDir` (default `dist`) and returns its path. */
export const buildTag = async (outDir) => {
  const { build } = await import("tsup")
  const options = tagBuildOptions(outDir)
  await build({ config: false, ...options })
  return `${options.outDir}/tag.js`
}

/** The raw and gzipped (level 9) sizes of a built tag, in bytes. */
export const tagSize = async (file = `${root}dist/tag.js`) => {
  const source = await readFile(file)
  return { file, bytes: source.byteLength, gzipBytes: gzipSync(source, { level: 9 }).byteLength }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = await buildTag()
  const size = await tagSize(file)
  console.log(`${size.file}: ${size.bytes} bytes, ${size.gzipBytes} bytes gzipped (budget ${TAG_BUDGET_GZIP})`)
}
