import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonChild } from '../child.ts';
import type { Ledger, ProviderConfig, ProviderEvent } from './protocol.ts';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));

/** The provider process, started with its config in `dir`; `onHold` hears of `hold-for-stop` requests. */
export async function startProvider(
  dir: string,
  config: ProviderConfig,
  onHold: (op: string, pid: number) => void,
): Promise<{ url: string; ledger: () => Promise<Ledger>; stop: () => Promise<void> }> {
  const file = join(dir, 'provider.json');
  await writeFile(file, JSON.stringify(config));
  let listening!: (port: number) => void;
  const port = new Promise<number>((resolve) => (listening = resolve));
  const child = new JsonChild<ProviderEvent>(SERVER, [file], (event) => {
    if (event.event === 'listening') listening(event.port);
    else onHold(event.op, event.pid);
  });
  const url = `http://127.0.0.1:${await Promise.race([
    port,
    child.exited.then(() => {
      throw new Error(`provider exited: ${child.stderr}`);
    }),
  ])}`;
  return {
    url,
    ledger: async () => (await (await fetch(`${url}/control/ledger`)).json()) as Ledger,
    stop: () => child.kill(),
  };
}
