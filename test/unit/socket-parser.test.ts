import { Decoder, Encoder as DefaultEncoder, PacketType, type Packet } from 'socket.io-parser';
import { socketParser } from '../../src/server/socket-parser';
import { EncodedJson, encodedOnce } from '../../src/handlers/encoded-json';

const seatMap = {
  dateId: 7,
  concertId: 3,
  startsAt: '2026-12-24T11:00:00.000Z',
  version: 42,
  seats: Array.from({ length: 50 }, (_, i) => ({ number: i + 1, grade: i < 10 ? 'VIP' : 'GENERAL', price: 1200 + i, status: i % 3 ? 'FREE' : 'HELD' })),
};
// What JSON.stringify escapes or leaves alone: quotes, backslashes, control characters, lone surrogates, U+2028.
const awkward = { text: 'quote " backslash \\ tab \t nul \u0000 line-sep \u2028 emoji 🎫 lone \ud800 한국', n: -0, big: 1e21, list: [null, true, 1.5] };

const ours = new socketParser.Encoder();
const stock = new DefaultEncoder();
const ack = (data: unknown, id: number | undefined, nsp = '/'): Packet => ({ type: PacketType.ACK, nsp, id, data: [data] });

function decode(text: unknown): Packet {
  const decoder = new Decoder();
  let packet: Packet | undefined;
  decoder.on('decoded', (p: Packet) => (packet = p));
  decoder.add(text);
  if (!packet) throw new Error('nothing decoded');
  return packet;
}

describe('the socket parser: a pre-encoded ack is sent as its text, byte for byte what the default encoder sends', () => {
  it.each([
    ['a seat map reply on the main namespace', encodedOnce(seatMap).okReply(), 0, '/'],
    ['a seat map reply with a large ack id', encodedOnce(seatMap).okReply(), 123456, '/'],
    ['a reply on another namespace', encodedOnce(seatMap).okReply(), 5, '/admin'],
    ['escapes and non-ASCII text', new EncodedJson(awkward).okReply(), 9, '/'],
    ['a bare value, no reply around it', new EncodedJson(seatMap), 1, '/'],
  ])('%s', (_name, value, id, nsp) => {
    const encoded = ours.encode(ack(value, id, nsp));
    expect(encoded).toEqual(stock.encode(ack(value, id, nsp)));
    // And the same as the default encoding of the plain value (what the server sent before).
    expect(encoded).toEqual(stock.encode(ack(value.toJSON(), id, nsp)));
    expect(decode(encoded[0])).toEqual({ type: PacketType.ACK, nsp, id, data: [JSON.parse(JSON.stringify(value.toJSON()))] });
  });

  it('every other packet is the default encoder’s, binary attachments included', () => {
    const packets: Packet[] = [
      ack({ ok: true, data: seatMap }, 3),
      { type: PacketType.EVENT, nsp: '/', data: ['seats:delta', { dateId: 7, version: 43 }] },
      { type: PacketType.EVENT, nsp: '/', id: 4, data: ['echo', encodedOnce(seatMap)] },
      { type: PacketType.ACK, nsp: '/', id: 5, data: [encodedOnce(seatMap), 'second argument'] },
      { type: PacketType.ACK, nsp: '/', id: 6, data: [{ blob: Buffer.from([1, 2, 3]) }] },
      { type: PacketType.CONNECT, nsp: '/', data: { sid: 'abc' } },
    ];
    for (const p of packets) expect(ours.encode(p)).toEqual(stock.encode(p));
  });

  it('encodes a value once per object: the same object gives the same encoding, a new one its own', () => {
    const first = encodedOnce(seatMap);
    expect(encodedOnce(seatMap)).toBe(first);
    expect(first.okReply()).toBe(first.okReply());
    const next = { ...seatMap, version: 43 };
    expect(encodedOnce(next)).not.toBe(first);
    expect(JSON.parse(encodedOnce(next).json)).toEqual(next);
  });
});
