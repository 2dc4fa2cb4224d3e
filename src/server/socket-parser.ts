import { Decoder, Encoder as DefaultEncoder, PacketType, protocol, type Packet } from 'socket.io-parser';
import { EncodedJson } from '../handlers/encoded-json';

/**
 * socket.io's default parser, except for an ack whose one argument is an
 * EncodedJson: its text goes into the packet as it is, where the default
 * encoder would walk the value for binaries and stringify it again. The bytes
 * are the default encoder's for the same value, so stock clients read it as
 * any other ack.
 */
class Encoder extends DefaultEncoder {
  override encode(packet: Packet): unknown[] {
    const data: unknown = packet.data;
    if (packet.type === PacketType.ACK && Array.isArray(data) && data.length === 1 && data[0] instanceof EncodedJson) {
      const nsp = packet.nsp && packet.nsp !== '/' ? `${packet.nsp},` : '';
      return [`${PacketType.ACK}${nsp}${packet.id ?? ''}[${data[0].json}]`];
    }
    return super.encode(packet);
  }
}

/** The `parser` option of socket.io's Server. */
export const socketParser = { protocol, PacketType, Encoder, Decoder };
