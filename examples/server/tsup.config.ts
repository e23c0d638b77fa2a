import { defineConfig } from "tsup"

// Bundles the server (and the workspace libraries it uses, which publish TypeScript sources in the repo) into
// one ESM file for deployment; third-party dependencies stay external and come from node_modules.
export default defineConfig({
  entry: {
    main: "src/main.ts",
    // The standard workers' thread: storage-sql's `Workers.layerThread` starts `internal/workerThread.js` beside the
    // module it is in, here the bundle.
    "internal/workerThread": "../../packages/storage-sql/src/internal/workerThread.ts",
    // The event writer's threads: storage-sql's internal `writerThread` starts them beside the module it is in, here
    // the bundle.
    sqliteWriterThread: "../../packages/storage-sql/src/internal/sqliteWriterThread.ts",
    sqlWriterThread: "../../packages/storage-sql/src/internal/sqlWriterThread.ts",
    // The ad decision log's thread (storage-sql's `SqlAdLog.layerWriteBehindFromUrl` on a SQLite file), likewise.
    adDecisionThread: "../../packages/storage-sql/src/internal/adDecisionThread.ts"
  },
  format: ["esm"],
  platform: "node",
  target: "node20",
  outDir: "dist",
  sourcemap: true,
  clean: true,
  noExternal: [/^@openaudience\//],
  // CommonJS dependencies of the bundled libraries call `require` for Node built-ins: give the ESM bundle one.
  banner: {
    js: 'import { createRequire as __oaCreateRequire } from "node:module"; const require = __oaCreateRequire(import.meta.url);'
  }
})
