/**
 * A minimal Socket.IO v5 / Engine.IO v4 client over Node's WebSocket (needs
 * --experimental-websocket on Node 20): open, auth, ping/pong, events and
 * acks — nothing else. It costs a few microseconds per message where
 * socket.io-client costs tens, so a benchmark with thousands of clients on a
 * small machine measures the server rather than the clients.
 */
export interface BenchConn {
  on(event: string, handler: (payload: any) => void): void;
  emitWithAck(event: string, payload: unknown): Promise<any>;
  close(): void;
}

interface WebSocketLike {
  send(data: string): void;
  close(): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  onclose: ((ev: unknown) => void) | null;
}

export function openRawSocket(url: string, token: string, timeoutMs = 60_000): Promise<BenchConn> {
  const Ctor = (globalThis as unknown as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Ctor) throw new Error('no global WebSocket: run node with --experimental-websocket');
  const ws = new Ctor(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  const handlers = new Map<string, (payload: any) => void>();
  const acks = new Map<number, (value: any) => void>();
  let nextId = 0;
  const conn: BenchConn = {
    on: (event, handler) => void handlers.set(event, handler),
    emitWithAck(event, payload) {
      const id = nextId++;
      ws.send(`42${id}${JSON.stringify([event, payload])}`);
      return new Promise((resolve) => acks.set(id, resolve));
    },
    close: () => ws.close(),
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('connect timeout')), timeoutMs);
    ws.onerror = () => reject(new Error('websocket error'));
    ws.onmessage = (ev) => {
      const data = String(ev.data);
      if (data.startsWith('42')) {
        const [event, payload] = JSON.parse(data.slice(2)) as [string, unknown];
        handlers.get(event)?.(payload);
      } else if (data.startsWith('43')) {
        const id = /^43(\d+)/.exec(data)?.[1] ?? '';
        const [value] = JSON.parse(data.slice(2 + id.length)) as [unknown];
        acks.get(Number(id))?.(value);
        acks.delete(Number(id));
      } else if (data === '2') {
        ws.send('3');
      } else if (data.startsWith('40')) {
        clearTimeout(timer);
        resolve(conn);
      } else if (data.startsWith('44')) {
        clearTimeout(timer);
        reject(new Error(data.slice(2)));
      } else if (data.startsWith('0')) {
        ws.send(`40${JSON.stringify({ token })}`);
      }
    };
  });
}
