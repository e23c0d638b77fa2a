// Entry of a worker thread started from TypeScript sources (see `thread.ts`): registers tsx in this thread, then
// imports the thread's module, whose URL is the first argument. A built package starts its `.js` module directly
// and never loads this file.
import { argv } from "node:process"

const { register } = await import("tsx/esm/api")
register()
await import(argv[2])
