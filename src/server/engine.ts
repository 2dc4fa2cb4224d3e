import type { HttpRequest, HttpResponse } from '../handlers/http';

export type EngineName = 'uws' | 'node';

/** The transport under socket.io and REST: uWebSockets.js where it loads, else node:http. */
export interface Engine {
  name: EngineName;
  /** Human-readable: package and version, for the start log. */
  description: string;
  listen(port: number, host: string): Promise<number>;
  /** Stop accepting connections; socket.io closes the open ones. */
  close(): Promise<void>;
}

export type RequestHandler = (req: HttpRequest) => Promise<HttpResponse>;
