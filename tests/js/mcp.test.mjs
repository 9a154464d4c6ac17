// The official MCP TypeScript SDK (@modelcontextprotocol/sdk, pinned in package-lock.json) drives `vlink mcp` in front of
// a running node: over stdio (the SDK starts the process) and over streamable HTTP. It lists the tools and calls each,
// checking the answers against what the test wrote through the node's REST API.
// VLINK_URL and VLINK_API_KEY name the node; VLINK_CLI is the built vlink.dll (run with `dotnet`).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const url = process.env.VLINK_URL ?? 'http://127.0.0.1:6333';
const apiKey = process.env.VLINK_API_KEY ?? '';
const cli = process.env.VLINK_CLI;
const skip = cli ? false : 'VLINK_CLI (the built vlink.dll) is not set';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const NOTES = 'mcp-notes';
const REGIMES = 'mcp-regimes';
const notes = [
  'OAuth2 access tokens are issued by the authorization server',
  'The login page checks the password against a salted hash',
  'PostgreSQL replicates its write-ahead log to standby servers',
  'An index on the customer column makes the join fast',
  'The login form locks the account after five failed passwords',
];

async function rest(method, route, body, contentType = 'application/json') {
  const response = await fetch(url + route, {
    method,
    headers: { 'api-key': apiKey, 'content-type': contentType },
    body: body === undefined ? undefined : contentType === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: ${response.status} ${text}`);
  return JSON.parse(text);
}

function toolText(result) {
  assert.equal(result.isError ?? false, false, JSON.stringify(result.content));
  return JSON.parse(result.content.find(c => c.type === 'text').text);
}

async function checkTools(client) {
  const { tools } = await client.listTools();
  const names = tools.map(t => t.name).sort();
  assert.deepEqual(names, ['vlink_search', 'vlink_similar_regimes']);
  const search = tools.find(t => t.name === 'vlink_search');
  assert.deepEqual([...search.inputSchema.required].sort(), ['collection', 'query']);
  assert.ok('methods' in search.inputSchema.properties && 'filter' in search.inputSchema.properties);

  // Keyword search: "login password" finds the two login notes; exact match needs both words in one note.
  const bm25 = toolText(await client.callTool({ name: 'vlink_search', arguments: { collection: NOTES, query: 'login password', methods: ['bm25'], limit: 5 } }));
  assert.deepEqual(bm25.result.map(h => h.id).sort(), [1, 4]);
  assert.ok(bm25.result.every(h => h.matched_by.includes('bm25')));
  assert.equal(bm25.semantic_executed, false);
  const exact = toolText(await client.callTool({ name: 'vlink_search', arguments: { collection: NOTES, query: 'login page', methods: ['exact'] } }));
  assert.deepEqual(exact.result.map(h => h.id), [1]);
  assert.equal(exact.result[0].payload.text, notes[1]);
  const filtered = toolText(await client.callTool({
    name: 'vlink_search',
    arguments: { collection: NOTES, query: 'login password', methods: ['bm25', 'exact'], filter: { must: [{ key: 'n', match: { value: 4 } }] } },
  }));
  assert.deepEqual(filtered.result.map(h => h.id), [4]);

  // Bad arguments and the node's refusals come back as tool errors naming the problem.
  const unknown = await client.callTool({ name: 'vlink_search', arguments: { collection: 'no-such-collection', query: 'x' } });
  assert.equal(unknown.isError, true);
  assert.match(unknown.content[0].text, /no-such-collection/);
  const badMethod = await client.callTool({ name: 'vlink_search', arguments: { collection: NOTES, query: 'x', methods: ['fuzzy'] } });
  assert.equal(badMethod.isError, true);
  assert.match(badMethod.content[0].text, /fuzzy/);

  // Similar regimes of the S&P 500 file ingested above, and a market the node does not hold.
  const regimes = toolText(await client.callTool({ name: 'vlink_similar_regimes', arguments: { market: 'MCPX', at: '2008-10-10', k: 5, collection: REGIMES } }));
  const matches = regimes.result.matches;
  assert.ok(Array.isArray(matches) && matches.length === 5, JSON.stringify(regimes).slice(0, 500));
  const missing = await client.callTool({ name: 'vlink_similar_regimes', arguments: { market: 'NOPE', at: '2008-10-10', collection: REGIMES } });
  assert.equal(missing.isError, true);
}

before(async () => {
  if (skip) return;
  await rest('DELETE', `/collections/${NOTES}`);
  await rest('PUT', `/collections/${NOTES}`, { vectors: { size: 2, distance: 'Cosine' }, text_fields: ['text'], shard_number: 2 });
  await rest('PUT', `/collections/${NOTES}/points`, { points: notes.map((text, n) => ({ id: n, vector: [1, n + 1], payload: { text, n } })) });
  const csv = await readFile(path.join(root, 'data', 'market', 'sp500-daily.csv'));
  await rest('POST', `/markets/ingest?market=MCPX&kind=bars&collection=${REGIMES}&bar_interval=1d&source=mcp-test`, csv, 'text/csv');
});

test('vlink mcp over stdio: the SDK lists the tools and calls each', { skip, timeout: 120_000 }, async () => {
  const transport = new StdioClientTransport({
    command: 'dotnet',
    args: [cli, 'mcp', '--url', url],
    env: { ...process.env, VLINK_API_KEY: apiKey },
    stderr: 'pipe',
  });
  const client = new Client({ name: 'vlink-tests', version: '1.0.0' });
  await client.connect(transport);
  try {
    assert.equal(client.getServerVersion().name, 'vlink');
    await checkTools(client);
  } finally {
    await client.close();
  }
});

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
    server.on('error', reject);
  });
}

test('vlink mcp over streamable HTTP answers the same', { skip, timeout: 120_000 }, async () => {
  const port = await freePort();
  const child = spawn('dotnet', [cli, 'mcp', '--url', url, '--api-key', apiKey, '--http-port', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', d => { log += d; });
  try {
    const endpoint = new URL(`http://127.0.0.1:${port}/mcp`);
    let client;
    for (let attempt = 0; ; attempt++) {
      try {
        client = new Client({ name: 'vlink-tests', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(endpoint));
        break;
      } catch (e) {
        if (attempt > 100 || child.exitCode !== null) throw new Error(`vlink mcp --http-port did not answer: ${e}\n${log}`);
        await new Promise(r => setTimeout(r, 300));
      }
    }
    try {
      await checkTools(client);
    } finally {
      await client.close();
    }
  } finally {
    child.kill();
  }
});
