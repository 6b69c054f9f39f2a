import * as net from 'node:net';

export interface RawReply {
  statusLine: string;
  headers: string[];
  /** The JSON body, or null when there is none. */
  body: Record<string, unknown> | null;
}

/**
 * Sends `head` (request line and headers, without the blank line; each character one byte, so a
 * byte no client would send can be written) to the server at `url` over a raw socket, and reads
 * the whole reply.
 */
export function rawRequest(url: string, head: string): Promise<RawReply> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () =>
      socket.end(Buffer.from(`${head}\r\nConnection: close\r\n\r\n`, 'latin1')),
    );
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (reply += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [top, body] = reply.split('\r\n\r\n');
      const [statusLine, ...headers] = top.split('\r\n');
      resolve({
        statusLine,
        headers,
        body: body ? (JSON.parse(body) as Record<string, unknown>) : null,
      });
    });
  });
}
