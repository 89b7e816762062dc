// The `openai` npm package (v6) against the real gateway, in the three shapes clients use:
// new OpenAI({ baseURL: GW + '/v1' }), new AzureOpenAI({ endpoint: GW, apiVersion }), and
// new OpenAI({ baseURL: GW + '/openai/v1/' }). Run with `node --test` (see e2e/run).

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import OpenAI, { AuthenticationError, AzureOpenAI, RateLimitError } from 'openai';

import { CLIENT_KEY, MOCK_EMBEDDING_DIMENSIONS, MOCK_TEXT, MOCK_USAGE, UPSTREAM_KEY, startStack } from './harness.mjs';

// The SDK reads these (OPENAI_BASE_URL even conflicts with AzureOpenAI's endpoint option).
for (const name of Object.keys(process.env)) {
  if (/^(OPENAI_|AZURE_OPENAI_)/.test(name)) delete process.env[name];
}

const CHAT_MODEL = 'gpt-4o';
const TIMEOUT_MS = 30_000; // per request: a hang fails the test instead of stalling the run
const MESSAGES = [{ role: 'user', content: 'Hello' }];
const RESPONSE_EVENT_TYPES = [
  'response.created',
  'response.in_progress',
  'response.output_item.added',
  'response.content_part.added',
  ...Array(5).fill('response.output_text.delta'),
  'response.output_text.done',
  'response.content_part.done',
  'response.output_item.done',
  'response.completed',
];

const SHAPES = [
  {
    name: 'OpenAI at /v1',
    make: (gw, { apiKey = CLIENT_KEY, maxRetries = 0 } = {}) =>
      new OpenAI({ baseURL: `${gw}/v1`, apiKey, maxRetries, timeout: TIMEOUT_MS }),
  },
  {
    name: 'AzureOpenAI',
    // The Responses API needs a dated preview api-version on the Azure surface.
    make: (gw, { apiKey = CLIENT_KEY, maxRetries = 0, responses = false } = {}) =>
      new AzureOpenAI({
        endpoint: gw,
        apiKey,
        apiVersion: responses ? '2025-04-01-preview' : '2024-10-21',
        maxRetries,
        timeout: TIMEOUT_MS,
      }),
  },
  {
    name: 'OpenAI at /openai/v1/',
    make: (gw, { apiKey = CLIENT_KEY, maxRetries = 0 } = {}) =>
      new OpenAI({ baseURL: `${gw}/openai/v1/`, apiKey, maxRetries, timeout: TIMEOUT_MS }),
  },
];

let stack;

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

function usageOf(u) {
  return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens, total_tokens: u.total_tokens };
}

async function assertWentToAzureChat() {
  const recs = await stack.requests();
  assert.equal(recs.length, 1, JSON.stringify(recs.map((r) => r.path)));
  assert.equal(recs[0].path, '/openai/deployments/gpt-4o/chat/completions');
  assert.equal(recs[0].query, 'api-version=2024-10-21');
  assert.equal(recs[0].headers['api-key'], UPSTREAM_KEY);
  assert.equal(recs[0].headers.authorization, undefined);
  return recs[0];
}

for (const shape of SHAPES) {
  describe(shape.name, () => {
    const client = (opts) => shape.make(stack.gatewayUrl, opts);

    beforeEach(async () => {
      await stack.clear();
    });

    it('chat, plain', async () => {
      const resp = await client().chat.completions.create({ model: CHAT_MODEL, messages: MESSAGES });
      assert.equal(resp.object, 'chat.completion');
      assert.equal(resp.choices[0].message.content, MOCK_TEXT);
      assert.equal(resp.choices[0].finish_reason, 'stop');
      assert.deepEqual(usageOf(resp.usage), MOCK_USAGE);
      assert.ok(Array.isArray(resp.prompt_filter_results), 'Azure fields pass through');
      await assertWentToAzureChat();
    });

    it('chat, streaming with include_usage', async () => {
      const stream = await client().chat.completions.create({
        model: CHAT_MODEL,
        messages: MESSAGES,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      // Azure's empty-choices prompt-filter chunk comes first and does not break the SDK.
      assert.deepEqual(chunks[0].choices, []);
      const last = chunks.at(-1);
      assert.deepEqual(last.choices, []);
      assert.deepEqual(usageOf(last.usage), MOCK_USAGE);
      for (const c of chunks.slice(0, -1)) assert.ok(c.usage == null);
      const text = chunks
        .filter((c) => c.choices.length > 0)
        .map((c) => c.choices[0].delta.content ?? '')
        .join('');
      assert.equal(text, MOCK_TEXT);
      const rec = await assertWentToAzureChat();
      assert.deepEqual(JSON.parse(rec.body).stream_options, { include_usage: true });
    });

    it('embeddings', async () => {
      // The SDK asks for base64 and decodes it to floats.
      const resp = await client().embeddings.create({ model: 'text-embedding-3-small', input: ['first', 'second'] });
      assert.deepEqual(
        resp.data.map((d) => d.index),
        [0, 1],
      );
      for (const d of resp.data) {
        assert.equal(d.embedding.length, MOCK_EMBEDDING_DIMENSIONS);
        assert.ok(d.embedding.every((x) => typeof x === 'number' && Number.isFinite(x)));
      }
      assert.notDeepEqual(resp.data[0].embedding, resp.data[1].embedding);
      assert.equal(resp.usage.prompt_tokens, MOCK_USAGE.prompt_tokens);
      const recs = await stack.requests();
      assert.deepEqual(
        recs.map((r) => r.path),
        ['/openai/deployments/text-embedding-3-small/embeddings'],
      );
    });

    it('responses, plain', async () => {
      const resp = await client({ responses: true }).responses.create({ model: CHAT_MODEL, input: 'Hello' });
      assert.equal(resp.object, 'response');
      assert.equal(resp.status, 'completed');
      assert.equal(resp.output_text, MOCK_TEXT);
      assert.equal(resp.usage.input_tokens, MOCK_USAGE.prompt_tokens);
      assert.equal(resp.usage.output_tokens, MOCK_USAGE.completion_tokens);
    });

    it('responses, streaming', async () => {
      const stream = await client({ responses: true }).responses.create({ model: CHAT_MODEL, input: 'Hello', stream: true });
      const events = [];
      for await (const event of stream) events.push(event);
      assert.deepEqual(
        events.map((e) => e.type),
        RESPONSE_EVENT_TYPES,
      );
      assert.deepEqual(
        events.map((e) => e.sequence_number),
        events.map((_, i) => i),
      );
      const deltas = events
        .filter((e) => e.type === 'response.output_text.delta')
        .map((e) => e.delta)
        .join('');
      assert.equal(deltas, MOCK_TEXT);
      assert.equal(events.at(-1).response.status, 'completed');
    });

    it('wrong key: AuthenticationError', async () => {
      await assert.rejects(
        client({ apiKey: 'sk-wrong' }).chat.completions.create({ model: CHAT_MODEL, messages: MESSAGES }),
        (err) => {
          assert.ok(err instanceof AuthenticationError, `got ${err?.constructor?.name}: ${err?.message}`);
          assert.equal(err.status, 401);
          return true;
        },
      );
      assert.deepEqual(await stack.requests(), []);
    });

    it('429: RateLimitError after waiting the retry-after-ms the gateway passed on', async () => {
      // The SDK's own first backoff is at most 0.5 s; 1.4 s or more means it used retry-after-ms.
      const started = performance.now();
      await assert.rejects(
        client({ maxRetries: 1 }).chat.completions.create(
          { model: CHAT_MODEL, messages: MESSAGES },
          { headers: { 'x-mock-status': '429', 'x-mock-retry-after-ms': '1500' } },
        ),
        (err) => {
          assert.ok(err instanceof RateLimitError, `got ${err?.constructor?.name}: ${err?.message}`);
          assert.equal(err.status, 429);
          assert.equal(err.headers.get('retry-after-ms'), '1500');
          return true;
        },
      );
      const elapsed = performance.now() - started;
      assert.equal((await stack.requests()).length, 2);
      assert.ok(elapsed >= 1400, `retried after ${elapsed.toFixed(0)} ms`);
    });
  });
}
