import { assert, describe, it } from "@effect/vitest"
import { Registry } from "prom-client"
import * as Prometheus from "../src/Prometheus.js"

describe("Prometheus.make", () => {
  it("counts events, requests by status class and redactions as prom-client counters in the registry given", async () => {
    const registry = new Registry()
    const metrics = Prometheus.make(registry)
    metrics.countEvent("page_view", "accepted")
    metrics.countEvent("page_view", "accepted")
    metrics.countEvent("unknown", "rejected")
    metrics.countRequest("pixel", 200)
    metrics.countRequest("collect", 413)
    metrics.countRequest("collect", 400)
    metrics.countRedaction("productId", "email")
    const text = await registry.metrics()
    assert.include(text, "# TYPE oa_events_total counter")
    assert.include(text, 'oa_events_total{type="page_view",outcome="accepted"} 2')
    assert.include(text, 'oa_events_total{type="unknown",outcome="rejected"} 1')
    assert.include(text, 'oa_http_requests_total{route="pixel",status="2xx"} 1')
    assert.include(text, 'oa_http_requests_total{route="collect",status="4xx"} 2')
    assert.include(text, 'oa_redactions_total{field="productId",kind="email"} 1')
  })

  it("keeps each registry's counts apart (one set per server)", async () => {
    const [a, b] = [new Registry(), new Registry()]
    Prometheus.make(a).countEvent("page_view", "accepted")
    Prometheus.make(b)
    assert.include(await a.metrics(), 'oa_events_total{type="page_view",outcome="accepted"} 1')
    assert.notInclude(await b.metrics(), "page_view")
  })
})
