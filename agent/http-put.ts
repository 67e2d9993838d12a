import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Keep-alive agents: thousands of small uploads reuse a few connections. */
const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };

/**
 * Sends one request with a body streamed from `body` and an exact
 * Content-Length (node:http rather than fetch: a presigned S3 request signs
 * the length, and fetch sends streams chunked). Answers status, headers and
 * the (short) body; a transport failure rejects.
 */
export function sendBody(
  method: string,
  url: string,
  headers: Record<string, string>,
  body: Readable | Buffer,
  timeoutMs: number,
): Promise<HttpAnswer> {
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise<HttpAnswer>((resolve, reject) => {
    const request = lib.request(
      target,
      { method, headers, agent: target.protocol === 'https:' ? agents.https : agents.http, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < 1_000_000) chunks.push(chunk);
          size += chunk.length;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(Object.assign(new Error('the request timed out'), { code: 'ETIMEDOUT' })));
    request.on('error', reject);
    if (Buffer.isBuffer(body)) {
      request.end(body);
    } else {
      body.on('error', (error) => request.destroy(error));
      body.pipe(request);
    }
  });
}
