/** Grouping stored events by visitor, shared by backfills (`Batch`) and batched ingestion (`Pipeline`). */
import { matters, type VisitorEvent } from "../VisitorEvent.js"

/** The events that count and the objections (see `matters`), per visitor in order of first appearance, each visitor's in input order. */
export const countingByVisitor = (events: Iterable<VisitorEvent>): Map<string, Array<VisitorEvent>> => {
  const byVisitor = new Map<string, Array<VisitorEvent>>()
  for (const event of events) {
    if (!matters(event)) continue
    const list = byVisitor.get(event.visitor!)
    if (list === undefined) byVisitor.set(event.visitor!, [event])
    else list.push(event)
  }
  return byVisitor
}
