// Starts the real `parca` (the Release build of src/Parca.Server.Cli) on 127.0.0.1:0 in a scratch directory and
// returns its address once it logs that it listens.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(__dirname, '../..');
export const testdata = resolve(repoRoot, '../shared/testdata');

export interface RunningServer { url: string; process: ChildProcess; log: () => string; stop: () => Promise<void> }

export interface StartOptions {
  /** Listen address; default 127.0.0.1:0. A fixed port lets a parca.yaml written beforehand scrape the server itself. */
  httpAddress?: string;
  /** Files written into the scratch directory (the server's working directory) before it starts. */
  files?: Record<string, string>;
}

/** A port that was free a moment ago (the kernel picked it for a listener we closed again). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

export async function startParca(args: string[] = [], options: StartOptions = {}): Promise<RunningServer> {
  const configuration = process.env.CONFIGURATION ?? 'Release';
  const dll = join(repoRoot, `src/Parca.Server.Cli/bin/${configuration}/net10.0/parca.dll`);
  if (!existsSync(dll)) throw new Error(`${dll} is missing: run \`make build\` first`);
  if (!existsSync(join(repoRoot, `src/Parca.Server.Cli/bin/${configuration}/net10.0/wwwroot/app/index.html`))) {
    throw new Error('the web UI is not built into the server output: run `make build` (it runs `make ui` first)');
  }
  const dir = mkdtempSync(join(tmpdir(), 'parca-e2e-'));
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
  // --storage-retention=0: the shared testdata profiles are years old and would be refused by the default 7d retention.
  const child = spawn('dotnet', [dll, `--http-address=${options.httpAddress ?? '127.0.0.1:0'}`, '--storage-retention=0', ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolvePromise, reject) => {
    const onData = (b: Buffer) => {
      output += b.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) resolvePromise(m[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`parca exited with ${code} before listening:\n${output}`)));
  });
  return {
    url, process: child, log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
