/**
 * A bounded FIFO whose bound also covers items taken out but not yet
 * finished (in flight): `push` admits an item only while
 * `held + 1 ≤ maxItems` and `heldBytes + bytes ≤ maxBytes`, where "held" is
 * everything waiting or in flight. So nothing downstream (nats.js buffers,
 * un-acked JetStream publishes) can grow past the configured bound.
 *
 * A ring buffer: `push`, `shift` and `finish` are O(1), no array copying.
 */
export class Backlog<T> {
  readonly maxItems: number;
  readonly maxBytes: number;
  #ring: (T | undefined)[];
  #sizes: number[];
  #head = 0;
  #waiting = 0;
  #held = 0;
  #heldBytes = 0;

  constructor(maxItems: number, maxBytes: number) {
    if (!(Number.isInteger(maxItems) && maxItems > 0)) throw new RangeError(`maxItems must be a positive integer, got ${maxItems}`);
    if (!(maxBytes > 0)) throw new RangeError(`maxBytes must be positive, got ${maxBytes}`);
    this.maxItems = maxItems;
    this.maxBytes = maxBytes;
    this.#ring = new Array<T | undefined>(Math.min(maxItems, 64)); // grows by doubling, up to the bound;
    this.#sizes = new Array<number>(this.#ring.length).fill(0);
  }

  /** Items waiting or in flight. */
  get length(): number {
    return this.#held;
  }
  /** Bytes waiting or in flight. */
  get bytes(): number {
    return this.#heldBytes;
  }
  /** Items waiting to be taken. */
  get waiting(): number {
    return this.#waiting;
  }
  /** Items taken and not yet finished. */
  get inFlight(): number {
    return this.#held - this.#waiting;
  }

  /** Admit `item` at the back, or return false (nothing changes) when it does not fit. */
  push(item: T, bytes: number): boolean {
    if (this.#held + 1 > this.maxItems || this.#heldBytes + bytes > this.maxBytes) return false;
    if (this.#waiting === this.#ring.length) this.#grow();
    const i = (this.#head + this.#waiting) % this.#ring.length;
    this.#ring[i] = item;
    this.#sizes[i] = bytes;
    this.#waiting++;
    this.#held++;
    this.#heldBytes += bytes;
    return true;
  }

  /** Take the front item; it stays counted until `finish(bytes)`. */
  shift(): { readonly item: T; readonly bytes: number } | undefined {
    if (this.#waiting === 0) return undefined;
    const item = this.#ring[this.#head] as T;
    const bytes = this.#sizes[this.#head] ?? 0;
    this.#ring[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#ring.length;
    this.#waiting--;
    return { item, bytes };
  }

  /** `count` taken items totalling `bytes` are done (delivered or given up): release their places. */
  finish(bytes: number, count = 1): void {
    this.#held -= count;
    this.#heldBytes -= bytes;
  }

  /** Drop every waiting item; returns how many there were. In-flight items stay counted. */
  clearWaiting(): number {
    const n = this.#waiting;
    for (let k = 0; k < n; k++) {
      const taken = this.shift();
      if (taken) this.finish(taken.bytes);
    }
    return n;
  }

  #grow(): void {
    const n = this.#ring.length;
    const ring = new Array<T | undefined>(n * 2);
    const sizes = new Array<number>(n * 2).fill(0);
    for (let k = 0; k < this.#waiting; k++) {
      ring[k] = this.#ring[(this.#head + k) % n];
      sizes[k] = this.#sizes[(this.#head + k) % n] ?? 0;
    }
    this.#ring = ring;
    this.#sizes = sizes;
    this.#head = 0;
  }
}
