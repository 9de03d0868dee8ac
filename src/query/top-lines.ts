/**
 * The best `capacity` lines of a search in the query's order, kept as a binary heap with the
 * worst kept line at the root: offering a line costs O(log capacity), and the line a full top
 * would push out next is at hand for the walk's stop test. Sorting the whole top again for
 * every segment that added lines made a page of 10,000 cost hundreds of 10,000-line sorts.
 */
import type { StoredLine } from './types.js';
import { compareInOrder } from './order.js';

export class TopLines {
  private readonly heap: StoredLine[] = [];

  constructor(
    private readonly capacity: number,
    private readonly order: 'asc' | 'desc',
  ) {}

  get size(): number {
    return this.heap.length;
  }

  /** The last line of a full top (the first a better line pushes out); undefined until full. */
  get worst(): StoredLine | undefined {
    return this.heap.length === this.capacity ? this.heap[0] : undefined;
  }

  /** Keeps the line when it is among the best `capacity` seen. */
  offer(line: StoredLine): void {
    const heap = this.heap;
    if (heap.length < this.capacity) {
      heap.push(line);
      this.siftUp(heap.length - 1);
    } else if (heap.length > 0 && this.later(heap[0]!, line)) {
      heap[0] = line;
      this.siftDown(0);
    }
  }

  /**
   * The kept lines, best first. Sorted by their timestamps as doubles first: Number() of a
   * bigint rounds monotonically, so times that differ as doubles are in that order, and only
   * ties (within a double's precision) are compared in full. Comparing bigints was most of
   * sorting a page of 10,000 lines.
   */
  sorted(): StoredLine[] {
    const lines = this.heap;
    const times = new Float64Array(lines.length);
    const index = new Uint32Array(lines.length);
    for (let i = 0; i < lines.length; i++) {
      times[i] = Number(lines[i]!.timestamp);
      index[i] = i;
    }
    const order = this.order;
    const first = order === 'asc' ? -1 : 1;
    index.sort((i, j) => {
      const a = times[i]!;
      const b = times[j]!;
      if (a < b) return first;
      if (a > b) return -first;
      return compareInOrder(lines[i]!, lines[j]!, order);
    });
    return Array.from(index, (i) => lines[i]!);
  }

  private later(a: StoredLine, b: StoredLine): boolean {
    return compareInOrder(a, b, this.order) > 0;
  }

  private siftUp(index: number): void {
    const heap = this.heap;
    const line = heap[index]!;
    while (index > 0) {
      const parent = (index - 1) >>> 1;
      if (!this.later(line, heap[parent]!)) break;
      heap[index] = heap[parent]!;
      index = parent;
    }
    heap[index] = line;
  }

  private siftDown(index: number): void {
    const heap = this.heap;
    const line = heap[index]!;
    const length = heap.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && this.later(heap[child + 1]!, heap[child]!)) child++;
      if (!this.later(heap[child]!, line)) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = line;
  }
}
