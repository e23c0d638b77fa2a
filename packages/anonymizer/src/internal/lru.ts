/**
 * A bounded least-recently-used map: a `Map` from key to node plus a doubly linked list in recency order, so a
 * hit costs one map lookup and a few pointer moves (no map mutation). Bounded twice: by entry count and by the
 * total weight of the entries (an estimate of their memory), evicting the least recently used first; an entry
 * heavier than the whole budget is not kept at all.
 */
interface Node<K, V> {
  readonly key: K
  value: V
  weight: number
  newer: Node<K, V> | undefined
  older: Node<K, V> | undefined
}

export class Lru<K, V> {
  private readonly nodes = new Map<K, Node<K, V>>()
  private newest: Node<K, V> | undefined
  private oldest: Node<K, V> | undefined
  private totalWeight = 0

  constructor(
    readonly capacity: number,
    readonly maxWeight: number = Number.POSITIVE_INFINITY
  ) {}

  get size(): number {
    return this.nodes.size
  }

  get weight(): number {
    return this.totalWeight
  }

  get(key: K): V | undefined {
    const node = this.nodes.get(key)
    if (node === undefined) return undefined
    if (node !== this.newest) {
      this.unlink(node)
      this.pushNewest(node)
    }
    return node.value
  }

  set(key: K, value: V, weight = 1): void {
    const existing = this.nodes.get(key)
    if (existing !== undefined) this.remove(existing)
    if (this.capacity <= 0 || weight > this.maxWeight) return
    const node: Node<K, V> = { key, value, weight, newer: undefined, older: undefined }
    this.nodes.set(key, node)
    this.pushNewest(node)
    this.totalWeight += weight
    while ((this.nodes.size > this.capacity || this.totalWeight > this.maxWeight) && this.oldest !== undefined) {
      this.remove(this.oldest)
    }
  }

  clear(): void {
    this.nodes.clear()
    this.newest = undefined
    this.oldest = undefined
    this.totalWeight = 0
  }

  private remove(node: Node<K, V>): void {
    this.unlink(node)
    this.nodes.delete(node.key)
    this.totalWeight -= node.weight
  }

  private unlink(node: Node<K, V>): void {
    if (node.newer !== undefined) node.newer.older = node.older
    else this.newest = node.older
    if (node.older !== undefined) node.older.newer = node.newer
    else this.oldest = node.newer
    node.newer = undefined
    node.older = undefined
  }

  private pushNewest(node: Node<K, V>): void {
    node.older = this.newest
    node.newer = undefined
    if (this.newest !== undefined) this.newest.newer = node
    this.newest = node
    if (this.oldest === undefined) this.oldest = node
  }
}
