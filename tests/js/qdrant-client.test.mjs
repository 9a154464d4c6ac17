// The official Qdrant JS client drives a running vlink node.
// VLINK_URL (default http://127.0.0.1:6333) and VLINK_API_KEY name the node and a write key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.VLINK_URL ?? 'http://127.0.0.1:6333';
const apiKey = process.env.VLINK_API_KEY;
const client = new QdrantClient({ url, apiKey, checkCompatibility: false });

const dim = 16;
const count = 600;
const name = `js_client_${process.pid}`;

// A small seeded generator, so a failure can be reproduced.
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(7);
const vectors = Array.from({ length: count }, () => Array.from({ length: dim }, () => next() * 2 - 1));
const colours = ['red', 'green', 'blue'];
const points = vectors.map((vector, i) => ({
  id: i + 1,
  vector,
  payload: { colour: colours[i % 3], rank: i, group: { even: i % 2 === 0 } },
}));

const distance = (a, b) => a.reduce((sum, x, i) => sum + (x - b[i]) ** 2, 0);

// Brute force: ids of the k nearest points that pass the predicate, nearest first, ties by id.
function nearest(query, k, keep = () => true) {
  return points
    .filter(keep)
    .map((p) => ({ id: p.id, d: distance(p.vector, query) }))
    .sort((a, b) => a.d - b.d || a.id - b.id)
    .slice(0, k);
}

async function createCollection() {
  await client.recreateCollection(name, {
    vectors: { size: dim, distance: 'Euclid' },
    shard_number: 3,
    hnsw_config: { m: 16, ef_construct: 100 },
  });
}

test('the client creates a collection and sees it', async () => {
  await createCollection();
  assert.equal((await client.collectionExists(name)).exists, true);
  const names = (await client.getCollections()).collections.map((c) => c.name);
  assert.ok(names.includes(name), `${name} not in ${names}`);
  const info = await client.getCollection(name);
  assert.equal(info.config.params.vectors.size, dim);
  assert.equal(info.config.params.vectors.distance, 'Euclid');
});

test('upsert in batches, then count and retrieve', async () => {
  for (let i = 0; i < points.length; i += 200) {
    const answer = await client.upsert(name, { wait: true, points: points.slice(i, i + 200) });
    assert.equal(answer.status, 'completed');
  }
  assert.equal((await client.count(name, { exact: true })).count, count);
  const got = await client.retrieve(name, { ids: [5, 6], with_payload: true, with_vector: true });
  assert.deepEqual(got.map((p) => p.id).sort((a, b) => a - b), [5, 6]);
  const five = got.find((p) => p.id === 5);
  assert.equal(five.payload.colour, points[4].payload.colour);
  assert.equal(five.vector.length, dim);
  five.vector.forEach((x, i) => assert.ok(Math.abs(x - points[4].vector[i]) < 1e-6));
});

test('exact search returns the brute-force top 10 with Euclidean scores', async () => {
  const query = vectors[42].map((x) => x + 0.01);
  const hits = await client.search(name, { vector: query, limit: 10, params: { exact: true } });
  const expected = nearest(query, 10);
  assert.deepEqual(hits.map((h) => h.id), expected.map((e) => e.id));
  hits.forEach((h, i) => assert.ok(Math.abs(h.score - Math.sqrt(expected[i].d)) < 1e-4));
});

test('filtered search keeps only matching points', async () => {
  const query = vectors[7];
  const filter = {
    must: [{ key: 'colour', match: { any: ['red', 'blue'] } }, { key: 'rank', range: { gte: 100, lt: 500 } }],
    must_not: [{ key: 'group.even', match: { value: true } }],
  };
  const hits = await client.search(name, { vector: query, limit: 8, filter, with_payload: true, params: { exact: true } });
  const keep = (p) => ['red', 'blue'].includes(p.payload.colour) && p.payload.rank >= 100 && p.payload.rank < 500 && !p.payload.group.even;
  assert.deepEqual(hits.map((h) => h.id), nearest(query, 8, keep).map((e) => e.id));
  for (const h of hits) assert.ok(keep({ payload: h.payload }), JSON.stringify(h.payload));
});

test('approximate search finds the exact nearest point', async () => {
  const hits = await client.search(name, { vector: vectors[99], limit: 5 });
  assert.equal(hits[0].id, 100);
});

test('query with a vector matches search', async () => {
  const query = vectors[300];
  const answer = await client.query(name, { query, limit: 5, params: { exact: true } });
  assert.deepEqual(answer.points.map((p) => p.id), nearest(query, 5).map((e) => e.id));
});

test('scroll pages through every point in id order', async () => {
  const seen = [];
  let offset;
  do {
    const page = await client.scroll(name, { limit: 128, offset, with_payload: false });
    seen.push(...page.points.map((p) => p.id));
    offset = page.next_page_offset ?? undefined;
  } while (offset !== undefined);
  assert.deepEqual(seen, points.map((p) => p.id));
});

test('scroll and count honour a filter', async () => {
  const filter = { must: [{ key: 'colour', match: { value: 'green' } }] };
  const green = points.filter((p) => p.payload.colour === 'green').map((p) => p.id);
  assert.equal((await client.count(name, { filter, exact: true })).count, green.length);
  const page = await client.scroll(name, { filter, limit: 1000 });
  assert.deepEqual(page.points.map((p) => p.id), green);
  assert.equal(page.next_page_offset ?? null, null);
});

test('set payload, then filter on it', async () => {
  await client.setPayload(name, { payload: { flagged: true }, points: [10, 20, 30], wait: true });
  const filter = { must: [{ key: 'flagged', match: { value: true } }] };
  assert.equal((await client.count(name, { filter, exact: true })).count, 3);
});

test('delete by ids and by filter', async () => {
  await client.delete(name, { points: [1, 2, 3], wait: true });
  assert.equal((await client.count(name, { exact: true })).count, count - 3);
  assert.deepEqual(await client.retrieve(name, { ids: [1, 2, 3] }), []);

  const filter = { must: [{ key: 'colour', match: { value: 'red' } }] };
  await client.delete(name, { filter, wait: true });
  assert.equal((await client.count(name, { filter, exact: true })).count, 0);
  const left = points.filter((p) => p.id > 3 && p.payload.colour !== 'red').length;
  assert.equal((await client.count(name, { exact: true })).count, left);
  const hits = await client.search(name, { vector: vectors[0], limit: 20, with_payload: true, params: { exact: true } });
  for (const h of hits) assert.notEqual(h.payload.colour, 'red');
});

test('a wrong dimension is refused and writes nothing', async () => {
  const before = (await client.count(name, { exact: true })).count;
  await assert.rejects(
    client.upsert(name, { wait: true, points: [{ id: 9001, vector: [1, 2, 3] }, { id: 9002, vector: vectors[0] }] }),
    (e) => e.status === 400,
  );
  assert.equal((await client.count(name, { exact: true })).count, before);
});

test('recreate empties the collection, and delete removes it', async () => {
  await createCollection();
  assert.equal((await client.count(name, { exact: true })).count, 0);
  await client.upsert(name, { wait: true, points: points.slice(0, 10) });
  assert.equal((await client.count(name, { exact: true })).count, 10);
  await client.deleteCollection(name);
  assert.equal((await client.collectionExists(name)).exists, false);
  await assert.rejects(client.search(name, { vector: vectors[0], limit: 1 }), (e) => e.status === 404);
});

test('a replicated collection takes replication_factor and write_consistency_factor, and reads take a consistency', async () => {
  const replicated = `${name}_replicated`;
  await client.recreateCollection(replicated, {
    vectors: { size: dim, distance: 'Euclid' },
    shard_number: 2,
    replication_factor: 2,
    write_consistency_factor: 2,
  });
  const info = await client.getCollection(replicated);
  assert.equal(info.config.params.replication_factor, 2);
  assert.equal(info.config.params.write_consistency_factor, 2);
  const answer = await client.upsert(replicated, { wait: true, points: points.slice(0, 50) });
  assert.equal(answer.status, 'completed');
  assert.equal((await client.count(replicated, { exact: true })).count, 50);
  const got = await client.retrieve(replicated, { ids: [3, 4], consistency: 'all', with_payload: true });
  assert.deepEqual(got.map((p) => p.id).sort((a, b) => a - b), [3, 4]);
  const hits = await client.search(replicated, { vector: vectors[0], limit: 5, params: { exact: true } });
  const expected = points.slice(0, 50)
    .map((p) => ({ id: p.id, d: distance(p.vector, vectors[0]) }))
    .sort((a, b) => a.d - b.d || a.id - b.id)
    .slice(0, 5);
  assert.deepEqual(hits.map((h) => h.id), expected.map((e) => e.id));
  await client.deleteCollection(replicated);
});
