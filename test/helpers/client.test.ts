/**
 * RawClient waits for the frame a test needs, however long a loaded machine takes to send it, and
 * skips the frames it does not need. A small `ws` server stands in for a slow relay: it sends an AUTH
 * challenge on open and answers an EVENT only when the test lets it.
 */
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { RawClient } from './client.js';
import { newKeys, signed } from './events.js';

let server: WebSocketServer;
let url: string;
let held: { socket: WebSocket; id: string } | undefined;
let eventArrived: Promise<void>;

beforeEach(async () => {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => server.once('listening', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  eventArrived = new Promise((resolve) => {
    server.on('connection', (socket) => {
      socket.send(JSON.stringify(['AUTH', 'challenge']));
      socket.on('message', (data) => {
        const [verb, event] = JSON.parse(data.toString()) as [string, { id: string }];
        if (verb === 'EVENT') {
          held = { socket, id: event.id };
          resolve();
        }
      });
    });
  });
});

afterEach(async () => {
  vi.useRealTimers();
  held = undefined;
  for (const client of server.clients) client.terminate();
  await new Promise((resolve) => server.close(resolve));
});

it('publish() skips the AUTH challenge and waits for the OK, even when it comes after many seconds', async () => {
  const client = await RawClient.connect(url);
  await client.next((f) => f[0] === 'AUTH');
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  const event = signed(newKeys());
  const answer = client.publish(event);
  await eventArrived;
  await vi.advanceTimersByTimeAsync(20_000);
  held!.socket.send(JSON.stringify(['OK', held!.id, true, '']));
  expect(await answer).toEqual(['OK', event.id, true, '']);
  expect(client.frames.map((f) => f[0])).toEqual(['AUTH', 'OK']);
  client.socket.terminate();
});

it('a wait ends with the frames received when the connection closes first', async () => {
  const client = await RawClient.connect(url);
  const answer = client.publish(signed(newKeys()));
  await eventArrived;
  held!.socket.close(1011);
  await expect(answer).rejects.toThrow(/^connection closed \(1011\) before a matching frame; got \[\["AUTH","challenge"\]\]$/);
  await expect(client.next((f) => f[0] === 'EOSE')).rejects.toThrow(/^connection closed \(1011\)/);
});
