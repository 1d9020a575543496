/** A min-heap of scheduled settlements by settleAt (then invoice id), for the keeper. */
export class EscrowQueue {
  private readonly items: { settleAt: number; id: bigint }[] = [];

  get size() {
    return this.items.length;
  }

  peek() {
    return this.items[0];
  }

  private before(a: number, b: number) {
    const x = this.items[a];
    const y = this.items[b];
    return x.settleAt < y.settleAt || (x.settleAt === y.settleAt && x.id < y.id);
  }

  private swap(a: number, b: number) {
    [this.items[a], this.items[b]] = [this.items[b], this.items[a]];
  }

  push(item: { settleAt: number; id: bigint }) {
    this.items.push(item);
    let i = this.items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop() {
    const top = this.items[0];
    const last = this.items.pop();
    if (this.items.length > 0 && last) {
      this.items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < this.items.length && this.before(left, smallest)) smallest = left;
        if (right < this.items.length && this.before(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top;
  }
}
