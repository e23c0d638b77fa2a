// `pnpm run build:tag`: the browser tag as dist/tag.js (see scripts/tag-build.mjs).
import { tagBuildOptions } from "./scripts/tag-build.mjs"

export default tagBuildOptions()
