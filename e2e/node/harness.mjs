// Starts the real mock-azure and aoai-gateway binaries on 127.0.0.1, port 0, for one test file.
// Each prints one line when it is ready; the harness reads it (no sleeps) and stops both at the
// end (SIGINT for the mock, SIGTERM for the gateway, SIGKILL after a grace period).

import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const CLIENT_KEY = 'sk-e2e';
export const UPSTREAM_KEY = 'upstream-key';

// mock-azure's default answer: five deltas reading MOCK_TEXT, and these token counts.
export const MOCK_TEXT = 'Hello from mock-azure — héllo 🌍.';
export const MOCK_USAGE = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
export const MOCK_EMBEDDING_DIMENSIONS = 8;

const START_TIMEOUT_MS = 30_000;
const running = new Set();

process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function binary(name) {
  const path = process.env[name];
  if (!path) throw new Error(`${name} is not set; run the suites through e2e/run`);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${name}=${path} is not executable; build it with e2e/run`);
  }
  return path;
}

function cleanEnv() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(AZURE_|UPSTREAM_|GATEWAY_|OPENAI_|OTEL_|ADMIN_LOG_|LOG_)/.test(k)) continue;
    if (['CONFIG_PATH', 'BODY_LIMIT', 'SERVER_BODY_LIMIT'].includes(k)) continue;
    env[k] = v;
  }
  env.LOG_LEVEL = 'warn';
  return env;
}

/** Spawns `argv` and resolves with { child, url } once stdout has a line starting with `prefix`. */
function start(name, argv, prefix, cwd) {
  const child = spawn(argv[0], argv.slice(1), {
    cwd,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  // The gateway logs on stdout: its last lines go into error messages.
  let stdoutTail = '';
  const output = () => `stdout:\n${stdoutTail}\nstderr:\n${stderr}`;
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not print ${JSON.stringify(prefix)} within ${START_TIMEOUT_MS} ms\n${output()}`));
    }, START_TIMEOUT_MS);
    let ready = false;
    lines.on('line', (line) => {
      stdoutTail = (stdoutTail + line + '\n').slice(-4000);
      // Every line is read (and only the tail kept), so a full pipe never blocks the child.
      if (!ready && line.startsWith(prefix)) {
        ready = true;
        clearTimeout(timer);
        resolve({ child, url: line.slice(prefix.length).trim() });
      }
    });
    child.on('exit', (code, signal) => {
      running.delete(child);
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before listening\n${output()}`));
      }
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

function stop(child, signal) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

export function gatewayConfig(mockUrl) {
  return {
    server: {
      host: '127.0.0.1',
      port: 0,
      upstream: { maxRetries: 0, firstByteTimeoutMs: 10000, idleTimeoutMs: 10000, requestTimeoutMs: 30000 },
    },
    auth: { mode: 'apiKey', apiKey: UPSTREAM_KEY },
    apiKeys: [{ id: 'e2e', key: CLIENT_KEY, status: 'active' }],
    upstreams: [
      { name: 'azure', baseUrl: mockUrl, kind: 'azure', apiVersion: '2024-10-21' },
      { name: 'azure-v1', baseUrl: mockUrl, kind: 'azure-v1', auth: { mode: 'bearer', token: 'upstream-token' } },
      { name: 'engine', baseUrl: mockUrl, kind: 'openai', auth: { mode: 'apiKey', apiKey: 'engine-key' } },
    ],
    models: [
      { id: 'gpt-4o', upstream: 'azure' },
      { id: 'gpt-4o-v1', upstream: 'azure-v1', targetModel: 'gpt-4o' },
      { id: 'text-embedding-3-small', upstream: 'azure' },
      { id: 'dall-e-3', upstream: 'azure' },
      { id: 'gpt-35-turbo-instruct', upstream: 'azure' },
      { id: 'llama', upstream: 'engine', targetModel: 'meta-llama/Llama-3.1-8B-Instruct' },
    ],
  };
}

/** mock-azure and a gateway in front of it; `stop()` ends both. */
export async function startStack() {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-node-'));
  const procs = [];
  const stack = {
    mockUrl: '',
    gatewayUrl: '',
    async stop() {
      await Promise.all(procs.map(([child, signal]) => stop(child, signal)));
      rmSync(dir, { recursive: true, force: true });
    },
    async requests() {
      const r = await fetch(`${stack.mockUrl}/__mock/requests`);
      if (!r.ok) throw new Error(`GET /__mock/requests: ${r.status}`);
      return r.json();
    },
    async clear() {
      const r = await fetch(`${stack.mockUrl}/__mock/requests`, { method: 'DELETE' });
      if (!r.ok) throw new Error(`DELETE /__mock/requests: ${r.status}`);
    },
  };
  try {
    const mock = await start('mock-azure', [binary('MOCK_AZURE_BIN'), '--port', '0'], 'mock-azure listening on ', dir);
    procs.push([mock.child, 'SIGINT']);
    stack.mockUrl = mock.url;
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(gatewayConfig(mock.url), null, 2));
    const gw = await start(
      'aoai-gateway',
      [binary('AOAI_GATEWAY_BIN'), 'serve', '--config', config],
      'aoai-gateway listening on ',
      dir,
    );
    procs.push([gw.child, 'SIGTERM']);
    stack.gatewayUrl = gw.url;
  } catch (e) {
    await stack.stop();
    throw e;
  }
  return stack;
}
