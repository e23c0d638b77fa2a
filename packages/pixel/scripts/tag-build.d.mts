/** The gzipped size budget of `tag.js`, in bytes. */
export declare const TAG_BUDGET_GZIP: number
/** tsup options for the tag: a minified ES2017 IIFE at `<outDir>/tag.js`. */
export declare const tagBuildOptions: (outDir?: string) => Record<string, unknown>
/** Builds `tag.js` into `outDir` (default `dist`) and returns its path. */
export declare const buildTag: (outDir?: string) => Promise<string>
/** The raw and gzipped (level 9) sizes of a built tag, in bytes. */
export declare const tagSize: (file?: string) => Promise<{ file: string; bytes: number; gzipBytes: number }>
