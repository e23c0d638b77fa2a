/**
 * A bounded least-recently-used map: a `Map` from key to node plus a doubly linked list in recency order, so a
 * hit costs one map lookup and a few pointer moves (no map mutation), and an insert beyond capacity evicts the
 * least recently used entry.
 */
interface Node<K, V> {
  readonly key: K
  value: V
  newer: Node<K, V> | undefined
  older: Node<K, V> | undefined
}

export class Lru<K, V> {
  private readonly nodes = new Map<K, Node<K, V>>()
  private newest: Node<K, V> | undefined
  private oldest: Node<K, V> | undefined

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.nodes.size
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

  set(key: K, value: V): void {
    if (this.capacity <= 0) return
    const existing = this.nodes.get(key)
    if (existing !== undefined) {
      existing.value = value
      this.get(key)
      return
    }
    const node: Node<K, V> = { key, value, newer: undefined, older: undefined }
    this.nodes.set(key, node)
    this.pushNewest(node)
    if (this.nodes.size > this.capacity && this.oldest !== undefined) {
      const evicted = this.oldest
      this.unlink(evicted)
      this.nodes.delete(evicted.key)
    }
  }

  clear(): void {
    this.nodes.clear()
    this.newest = undefined
    this.oldest = undefined
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
