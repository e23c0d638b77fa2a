/**
 * The part of autocannon 8's programmatic API the benchmarks use (the package ships no types, and the bench
 * harness may not add dependencies beyond the root's autocannon).
 */
declare module "autocannon" {
  /** One request as autocannon builds it; `setupRequest` may rewrite it before each send. */
  export interface Request {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
    setupRequest?: (request: Request, context: Record<string, unknown>) => Request | null | undefined
  }

  /** Options of one run. */
  export interface Options {
    url: string
    connections?: number
    duration?: number
    pipelining?: number
    timeout?: number
    headers?: Record<string, string>
    requests?: Array<Request>
  }

  /** An HDR histogram summary: mean, spread and percentiles. */
  export interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    total: number
    p50: number
    p90: number
    p99: number
    p99_9: number
  }

  /** What a finished run reports. */
  export interface Result {
    requests: Histogram
    latency: Histogram
    throughput: Histogram
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    "2xx": number
    statusCodeStats: Record<string, { count: number }>
  }

  /** A running instance: an event emitter that is also a promise of its result. */
  export interface Instance extends PromiseLike<Result> {
    stop(): void
  }

  function autocannon(options: Options): Instance

  export default autocannon
}
