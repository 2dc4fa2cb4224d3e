import { TicketLine } from '../../src/rooms/queue/ticket-line';

describe('the in-process waiting line (Fenwick order index)', () => {
  it('answers rank and k-th like a sorted array, through growth, removals and rebasing', () => {
    const index = new TicketLine();
    const reference: number[] = [];
    let random = 7;
    const next = () => (random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let ticket = 0;
    for (let step = 0; step < 20_000; step++) {
      if (next() < 0.55 || reference.length === 0) {
        ticket += 1 + Math.floor(next() * 3);
        index.add(ticket);
        reference.push(ticket);
      } else {
        const i = next() < 0.5 ? 0 : Math.floor(next() * reference.length);
        const [removed] = reference.splice(i, 1);
        expect(index.remove(removed ?? -1)).toBe(true);
      }
      if (step % 97 === 0) {
        expect(index.size).toBe(reference.length);
        expect(index.kth(1)).toBe(reference[0]);
        const probe = reference[Math.floor(next() * reference.length)];
        if (probe !== undefined) {
          expect(index.rank(probe)).toBe(reference.indexOf(probe));
          expect(index.kth(reference.indexOf(probe) + 1)).toBe(probe);
        }
      }
    }
  });

  it('starts over from the next ticket once the line is empty', () => {
    const index = new TicketLine();
    for (let t = 1; t <= 5000; t++) index.add(t);
    for (let t = 1; t <= 5000; t++) index.remove(t);
    index.add(1_000_000);
    index.add(1_000_003);
    expect(index.size).toBe(2);
    expect(index.rank(1_000_003)).toBe(1);
    expect(index.kth(2)).toBe(1_000_003);
    expect(index.has(5)).toBe(false);
    expect(index.remove(5)).toBe(false);
    expect(() => index.add(10)).toThrow(/below the line/);
  });
});
