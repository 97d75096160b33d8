// The fan-out baseline: a Node.js broadcast server on the `ws` package (the
// npm package the tests install into tests/node), speaking just enough of
// gw.agent.v1 for gateway-load to drive it exactly as it drives the gateway:
//
//   POST /webhooks/whatsapp/<channel>: checks X-Hub-Signature-256 (HMAC-SHA256
//     of the raw body, constant-time compare), parses the JSON, and sends
//     every message in it to every session of the channel's clinic as an
//     `ev` frame shaped like the gateway's, then answers 200 (no journal, no
//     fsync: a pure broadcast);
//   GET /v1/agent: the WebSocket upgrade (subprotocol gw.agent.v1, a bearer
//     token: --token, or --token-T for clinic T); `hello` first, then `ok` to
//     `sub` and `read`, `pong` to `ping`.
//
// Clinics as gateway-load --tenants makes them: channel wa-bench-T and token
// TOKEN-T belong to clinic T; wa-bench and TOKEN itself to the one clinic of
// a run without --tenants.
//
// One process, one thread: Node's usual deployment. Loopback only.
//
// usage: node bench/baselines/ws_broadcast.mjs --port P [--secret S] [--token T]
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../tests/node/package.json', import.meta.url));
const { WebSocketServer } = require('ws');

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, v, i, all) => (i % 2 ? pairs : [...pairs, [v, all[i + 1]]]), []));
const port = Number(args['--port']);
const secret = args['--secret'] ?? 'bench-app-secret';
const token = args['--token'] ?? 'bench-agent-token-0001';
if (!port) {
  console.error('usage: ws_broadcast.mjs --port P [--secret S] [--token T]');
  process.exit(2);
}

const epoch = Date.now();
let offset = 0;
const clinics = new Map();  // clinic ('' or 'T') -> its sessions

function clinic(name) {
  if (!clinics.has(name)) clinics.set(name, new Set());
  return clinics.get(name);
}

// The clinic a channel or a token names: what follows `base-`, or '' for
// `base` itself; null for anything else.
function clinicOf(name, base) {
  if (name === base) return '';
  return name.startsWith(base + '-') ? name.slice(base.length + 1) : null;
}

function verified(body, header) {
  const want = Buffer.from('sha256=' + createHmac('sha256', secret).update(body).digest('hex'));
  const got = Buffer.from(header ?? '');
  return got.length === want.length && timingSafeEqual(got, want);
}

function broadcast(channel, sessions, webhook) {
  for (const entry of webhook.entry ?? [])
    for (const change of entry.changes ?? [])
      for (const m of change.value?.messages ?? []) {
        const cv = `${channel}:+${m.from}`;
        const frame = JSON.stringify({
          t: 'ev', ep: epoch, o: ++offset, k: 'msg', cv,
          m: { m: m.id, cv, seq: offset, at: Number(m.timestamp) * 1000, d: 'in', ty: m.type,
               tx: m.text?.body ?? '', au: change.value.contacts?.[0]?.profile?.name ?? '', st: null },
        });
        for (const ws of sessions) ws.send(frame);
      }
}

// The clinic of an upgrade's bearer token, or null.
function agentClinic(req) {
  const auth = req.headers.authorization ?? '';
  return auth.startsWith('Bearer ') ? clinicOf(auth.slice('Bearer '.length), token) : null;
}

const server = createServer((req, res) => {
  const channel = req.url.slice('/webhooks/whatsapp/'.length);
  const name = clinicOf(channel, 'wa-bench');
  if (req.method !== 'POST' || !req.url.startsWith('/webhooks/whatsapp/') || name === null) {
    res.writeHead(404).end();
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    if (!verified(body, req.headers['x-hub-signature-256'])) {
      res.writeHead(401).end('{"error":"bad signature"}');
      return;
    }
    try {
      broadcast(channel, clinic(name), JSON.parse(body));
    } catch {
      res.writeHead(400).end('{"error":"malformed JSON"}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"status":"ok"}');
  });
});
server.keepAliveTimeout = 60_000;

const wss = new WebSocketServer({
  server,
  path: '/v1/agent',
  handleProtocols: (protocols) => (protocols.has('gw.agent.v1') ? 'gw.agent.v1' : false),
  verifyClient: ({ req }) => agentClinic(req) !== null,
});
wss.on('connection', (ws, req) => {
  const sessions = clinic(agentClinic(req));
  sessions.add(ws);
  ws.on('close', () => sessions.delete(ws));
  ws.send(JSON.stringify({ t: 'hello', ag: 'bench-agent', tn: 'bench', role: 'agent', ep: epoch, o: offset }));
  ws.on('message', (data) => {
    let c;
    try {
      c = JSON.parse(data);
    } catch {
      ws.send('{"t":"err","code":"bad_frame","msg":"not JSON"}');
      return;
    }
    if (c.c === 'ping') ws.send(JSON.stringify({ t: 'pong', id: c.id }));
    else ws.send(JSON.stringify({ t: 'ok', id: c.id, ep: epoch, o: offset }));
  });
});
server.listen(port, '127.0.0.1', () => console.error(`ws_broadcast listening on 127.0.0.1:${port}`));
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
