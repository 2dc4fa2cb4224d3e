import { ReservationOwners, type ReservationOwner } from '../../src/models/reservation-owners';

/** A findOwner over a fixed table that counts its reads. */
function table(rows: Record<number, ReservationOwner>) {
  const reads: number[] = [];
  const findOwner = async (id: number) => {
    reads.push(id);
    return rows[id] ?? null;
  };
  return { reads, repo: { findOwner } };
}

const alice = { userId: 1, dateId: 10, concertId: 100 };
const bob = { userId: 2, dateId: 11, concertId: 100 };

describe('ReservationOwners', () => {
  it('reads an owner once, then answers from memory', async () => {
    const { reads, repo } = table({ 5: alice });
    const owners = new ReservationOwners(repo);
    await expect(owners.find(5)).resolves.toEqual(alice);
    await expect(owners.find(5)).resolves.toEqual(alice);
    expect(reads).toEqual([5]);
  });

  it('answers a remembered hold without reading', async () => {
    const { reads, repo } = table({});
    const owners = new ReservationOwners(repo);
    owners.remember(7, bob);
    await expect(owners.find(7)).resolves.toEqual(bob);
    expect(reads).toEqual([]);
  });

  it('does not remember an unknown id: it may be created later', async () => {
    const rows: Record<number, ReservationOwner> = {};
    const { reads, repo } = table(rows);
    const owners = new ReservationOwners(repo);
    await expect(owners.find(9)).resolves.toBeNull();
    rows[9] = alice;
    await expect(owners.find(9)).resolves.toEqual(alice);
    expect(reads).toEqual([9, 9]);
  });

  it('stays within its bound by forgetting the oldest first', async () => {
    const { reads, repo } = table({ 1: alice, 2: alice, 3: bob });
    const owners = new ReservationOwners(repo, 2);
    owners.remember(1, alice);
    owners.remember(2, alice);
    owners.remember(2, alice);
    expect(owners.size).toBe(2);
    owners.remember(3, bob);
    expect(owners.size).toBe(2);
    await owners.find(2);
    await owners.find(3);
    expect(reads).toEqual([]);
    await expect(owners.find(1)).resolves.toEqual(alice);
    expect(reads).toEqual([1]);
  });
});
