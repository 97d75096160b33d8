// An independent agent client, written from protocol/AGENT_PROTOCOL.md and
// gateway/api/openapi.yaml only: the `ws` package from npm drives a real
// gateway process through authentication, ping, argument errors, a bad token
// and a revoked token.
//
// usage: node tests/node/agent_client.mjs <gateway binary>
// Exits 0 when every check holds, 1 otherwise. Bounded: 30 s at most.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const WebSocket = require('ws');

const binary = process.argv[2];
const adminKey = 'node-admin-key';
const agentToken = 'node-agent-token-0001';
const appSecret = 'node-app-secret';
const dir = mkdtempSync(join(tmpdir(), 'gw-node-'));
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

writeFileSync(join(dir, 'gateway.json'), JSON.stringify({
  listen: '127.0.0.1:0',
  data_dir: join(dir, 'data'),
  log: { level: 'info' },
  admin: { key: adminKey },
  // Sends go to a closed port: they stay queued (retrying) for this test.
  outbound: { max_attempts: 1000 },
  channels: [{ id: 'wa-js', provider: 'whatsapp', tenant: 'clinic-js',
    phone_number_id: '300000000000001', app_secret: appSecret, verify_token: 'v',
    access_token: 'wa-token', api_base_url: 'http://127.0.0.1:1' }],
  agents: [{ tenant: 'clinic-js', id: 'eva', role: 'agent', token: agentToken }],
}));

const gateway = spawn(binary, ['--config', join(dir, 'gateway.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
const port = await new Promise((resolve, reject) => {
  let buffered = '';
  gateway.stderr.on('data', (chunk) => {
    buffered += chunk;
    for (const line of buffered.split('\n')) {
      try {
        const entry = JSON.parse(line);
        if (entry.msg === 'listening') resolve(entry.port);
      } catch { /* a partial line */ }
    }
  });
  gateway.on('exit', (code) => reject(new Error(`gateway exited with ${code}`)));
  setTimeout(() => reject(new Error('gateway did not start')), 10000);
});
const base = `http://127.0.0.1:${port}`;
const url = `ws://127.0.0.1:${port}/v1/agent`;

async function ready() {
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${base}/readyz`).catch(() => null);
    if (res && res.status === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('gateway never became ready');
}

// A session that queues incoming frames so that each read takes the next one.
function session(headers = {}, protocol = 'gw.agent.v1') {
  const ws = new WebSocket(url, protocol, { headers });
  const frames = [];
  const waiters = [];
  let closeCode = null;
  const closed = new Promise((resolve) => ws.on('close', (code) => { closeCode = code; resolve(code); }));
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    const w = waiters.shift();
    if (w) w(frame); else frames.push(frame);
  });
  const opened = new Promise((resolve, reject) => {
    ws.on('open', resolve);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });
  return {
    opened,
    send: (obj) => ws.send(JSON.stringify(obj)),
    next: () => frames.length ? Promise.resolve(frames.shift())
      : Promise.race([new Promise((r) => waiters.push(r)),
        closed.then(() => ({ t: 'closed', code: closeCode })),
        new Promise((r) => setTimeout(() => r({ t: 'timeout' }), 5000))]),
    closed,
    close: () => ws.close(),
  };
}

// A patient writes: a WhatsApp Cloud API webhook signed as Meta signs it.
async function patientWrites(from, wamid, text) {
  const body = JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{
    field: 'messages', value: { messaging_product: 'whatsapp',
      metadata: { display_phone_number: '1555', phone_number_id: '300000000000001' },
      messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }] } }] }] });
  const signature = 'sha256=' + createHmac('sha256', appSecret).update(body).digest('hex');
  const res = await fetch(`${base}/webhooks/whatsapp/wa-js`, { method: 'POST', body,
    headers: { 'Content-Type': 'application/json', 'X-Hub-Signature-256': signature } });
  return res.status;
}

async function admin(method, path) {
  const res = await fetch(base + path, { method, headers: { Authorization: `Bearer ${adminKey}` } });
  return { status: res.status, body: await res.json() };
}

const deadline = setTimeout(() => { console.log('FAIL timed out'); gateway.kill('SIGKILL'); process.exit(1); }, 30000);
try {
  await ready();

  // Section 2: auth as the first frame, then ok and hello.
  const a = session();
  await a.opened;
  a.send({ c: 'hist', id: 'h0', cv: 'wa-js:+34600111222' });
  const early = await a.next();
  check(early.t === 'err' && early.code === 'unauthenticated' && early.id === 'h0', 'commands before auth get unauthenticated');
  a.send({ c: 'auth', id: 'a1', tok: agentToken });
  const ok = await a.next();
  check(ok.t === 'ok' && ok.id === 'a1', 'auth is answered ok with its id');
  const hello = await a.next();
  check(hello.t === 'hello' && hello.ag === 'eva' && hello.tn === 'clinic-js' && hello.role === 'agent',
    'hello names the agent, its tenant and role');
  check(Number.isInteger(hello.ep) && Number.isInteger(hello.o) && hello.lim && hello.lim.frame > 0,
    'hello carries the epoch, the offset and the limits');

  // Sections 3 and 5: ping, argument errors that keep the session usable.
  a.send({ c: 'ping', id: 'p1' });
  const pong = await a.next();
  check(pong.t === 'pong' && pong.id === 'p1', 'ping is answered pong with its id');
  a.send({ c: 'send', id: 's1', cv: 'wa-js:+34600111222' });
  const noText = await a.next();
  check(noText.t === 'err' && noText.code === 'bad_args' && /tx/.test(noText.msg), 'a missing tx is bad_args naming it');
  a.send({ c: 'list', id: 'l1', v: 'someday' });
  const badView = await a.next();
  check(badView.code === 'bad_args' && badView.id === 'l1', 'an unknown view is bad_args');
  a.send({ c: 'beam', id: 'b1' });
  check((await a.next()).code === 'unknown_command', 'an unknown command is unknown_command');
  a.send({ c: 'ping', id: 'p2' });
  check((await a.next()).id === 'p2', 'the session is still usable after errors');
  a.close();

  // Sections 5, 6 and 7: subscribe, receive events in offset order, reply,
  // then resume after a disconnect with exactly what was missed.
  const e1 = session({ Authorization: `Bearer ${agentToken}` });
  await e1.opened;
  const helloE = await e1.next();
  e1.send({ c: 'sub', id: 's1', v: ['new', 'mine'] });
  const subOk = await e1.next();
  check(subOk.t === 'ok' && subOk.ep === helloE.ep && Number.isInteger(subOk.o), 'sub is answered ok with the epoch and offset');
  check(await patientWrites('34600111222', 'wamid.JS1', 'Hola, ¿a las 10?') === 200, 'a signed webhook is accepted');
  const ev1 = await e1.next();
  check(ev1.t === 'ev' && ev1.k === 'msg' && ev1.cv === 'wa-js:+34600111222' && ev1.m.d === 'in' &&
    ev1.m.tx === 'Hola, ¿a las 10?' && ev1.o > subOk.o, 'the patient\'s message arrives as a msg event');
  e1.send({ c: 'send', id: 'r1', cv: ev1.cv, tx: 'Sí, la esperamos.' });
  const frames = [await e1.next(), await e1.next()];  // the ok and our own msg event, either order
  const sentOk = frames.find((f) => f.t === 'ok');
  const sentEv = frames.find((f) => f.t === 'ev');
  check(sentOk && sentOk.id === 'r1' && sentOk.m.st === 'queued' && sentOk.m.d === 'out', 'send is answered with the queued message');
  check(sentEv && sentEv.m.m === sentOk.m.m && sentEv.o > ev1.o, 'and our message arrives as the next event');
  e1.send({ c: 'send', id: 'r1', cv: ev1.cv, tx: 'Sí, la esperamos.' });
  const again = await e1.next();
  check(again.dup === true && again.m.m === sentOk.m.m, 'a repeated command id is answered again, not applied again');
  const position = { ep: sentEv.ep, o: sentEv.o };
  e1.close();
  await e1.closed;
  await patientWrites('34600111222', 'wamid.JS2', 'Gracias');
  await patientWrites('34600333444', 'wamid.JS3', 'Otra consulta');
  const e2 = session({ Authorization: `Bearer ${agentToken}` });
  await e2.opened;
  await e2.next();  // hello
  e2.send({ c: 'sub', id: 's2', v: ['new', 'mine'], from: position });
  check((await e2.next()).t === 'ok', 'a resuming sub is answered ok');
  const missed = [await e2.next(), await e2.next()];
  check(missed.every((f) => f.t === 'ev') && missed[0].m.tx === 'Gracias' && missed[1].m.tx === 'Otra consulta' &&
    missed[0].o > position.o && missed[1].o > missed[0].o, 'the resume delivers exactly the missed events, in order');
  e2.send({ c: 'ping', id: 'after-resume' });
  check((await e2.next()).t === 'pong', 'and nothing else was pending');

  // Section 5: list a view, page a conversation's history, mark it read.
  e2.send({ c: 'list', id: 'l2', v: 'new', lim: 1 });
  const page1 = await e2.next();
  check(page1.t === 'ok' && page1.items.length === 1 && page1.items[0].cv === 'wa-js:+34600333444' &&
    typeof page1.next === 'string', 'list pages a view, newest last message first');
  e2.send({ c: 'list', id: 'l3', v: 'new', lim: 1, cur: page1.next });
  const page2 = await e2.next();
  check(page2.items.length === 1 && page2.items[0].cv === 'wa-js:+34600111222' && page2.items[0].unr === 2 &&
    page2.next === null, 'the next page holds the rest, with the unread count');
  e2.send({ c: 'list', id: 'l4', v: 'mine', cur: page1.next });
  check((await e2.next()).code === 'bad_cursor', 'a cursor of another query is bad_cursor');
  const texts = [];
  let cur = null;
  for (let i = 0; i < 5; i++) {
    e2.send({ c: 'hist', id: `h${i}`, cv: 'wa-js:+34600111222', lim: 2, ...(cur ? { cur } : {}) });
    const page = await e2.next();
    texts.push(...page.items.map((m) => m.tx));
    if (page.next === null) break;
    cur = page.next;
  }
  check(JSON.stringify(texts) === JSON.stringify(['Gracias', 'Sí, la esperamos.', 'Hola, ¿a las 10?']),
    'hist pages the messages newest first');
  e2.send({ c: 'read', id: 'rd1', cv: 'wa-js:+34600111222' });
  const read = await e2.next();
  const readFrames = [read, await e2.next()];  // the ok and the conv event, either order
  const readOk = readFrames.find((f) => f.t === 'ok');
  const convEv = readFrames.find((f) => f.t === 'ev');
  check(readOk && readOk.c.unr === 0 && convEv && convEv.k === 'conv' && convEv.c.unr === 0,
    'read clears the unread count, and every agent is told');
  e2.close();

  // Section 2: the header instead of the first frame.
  const h = session({ Authorization: `Bearer ${agentToken}` });
  await h.opened;
  const hello2 = await h.next();
  check(hello2.t === 'hello' && hello2.ag === 'eva', 'a header token gets hello at once');
  h.close();

  // Sections 2 and 10: a bad token is refused and closed with 4003.
  const bad = session();
  await bad.opened;
  bad.send({ c: 'auth', id: 'x', tok: 'not-a-token-at-all' });
  const refused = await bad.next();
  check(refused.code === 'bad_token', 'a wrong token is bad_token');
  check(await bad.closed === 4003, 'and the session closes with 4003');

  // Section 1: no subprotocol, no session.
  const none = session({}, []);
  const status = await none.opened.then(() => 'open', (e) => e.message);
  check(status === 'HTTP 400', 'an upgrade without gw.agent.v1 is refused with 400');

  // Section 2: a token revoked through the admin API closes its session with 4004.
  const issued = await admin('POST', '/v1/tenants/clinic-js/agents/eva/tokens');
  check(issued.status === 201 && issued.body.token.startsWith('gwt_'), 'the admin API issues a token');
  const r = session({ Authorization: `Bearer ${issued.body.token}` });
  await r.opened;
  check((await r.next()).t === 'hello', 'the issued token opens a session');
  const revoked = await admin('DELETE', `/v1/tenants/clinic-js/tokens/${issued.body.id}`);
  check(revoked.status === 200, 'the admin API revokes it');
  check(await r.closed === 4004, 'the open session closes with 4004');
} catch (e) {
  check(false, `unexpected: ${e.message}`);
} finally {
  clearTimeout(deadline);
  gateway.kill('SIGTERM');
  await new Promise((r) => gateway.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
console.log(failures.length ? `${failures.length} check(s) failed` : 'all checks passed');
process.exit(failures.length ? 1 : 0);
