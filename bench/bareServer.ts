/**
 * The collector benchmark's baseline: a bare node:http server that answers every request with the same 43-byte
 * GIF and headers as the collector's `GET /px.gif`, and does nothing else. It runs in its own process (like the
 * reference server) on 127.0.0.1:$PORT; `GET /healthz` answers 200 once it listens.
 */
import { createServer } from "node:http"
import * as Gif from "../packages/pixel/src/Gif.ts"

/**
 * `BENCH_HEADERS` (JSON): the headers of a real collector answer, which bench/collector.ts reads before it starts
 * this server, so that both answer with the same bytes.
 */
const headersFromEnv = process.env.BENCH_HEADERS
if (headersFromEnv === undefined || headersFromEnv === "")
  throw new Error("bareServer: BENCH_HEADERS (the collector's answer headers, as JSON) is required")
const gifHeaders = {
  ...(JSON.parse(headersFromEnv) as Record<string, string>),
  "content-length": String(Gif.bytes.length)
}

const server = createServer({ keepAliveTimeout: 5_000 }, (_req, res) => {
  res.writeHead(200, gifHeaders)
  res.end(Gif.bytes)
})

server.listen(Number(process.env.PORT ?? "0"), "127.0.0.1", () => {
  const address = server.address()
  process.stdout.write(`bare server listening on ${typeof address === "object" && address ? address.port : address}\n`)
})

const stop = () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
