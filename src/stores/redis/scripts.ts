import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { RedisClientLike } from './client.ts';

/** Every script of the store, by file name under `./scripts/` (without `.lua`). */
export const SCRIPT_NAMES = [
  'begin',
  'heartbeat',
  'settle',
  'mark-unknown',
  'note-unknown',
  'reclaim',
  'resolve',
  'request-resolution',
  'get',
  'audit',
  'request-override',
  'approve-override',
  'find-override',
  'overrides',
  'list',
  'count',
  'compact',
  'delete',
  'migrate',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

interface LoadedScript {
  readonly source: string;
  readonly sha1: string;
}

/** Helpers prepended to every script (`scripts/lib.lua`). */
const PRELUDE = 'lib';

async function readScript(name: string): Promise<string> {
  return readFile(new URL(`./scripts/${name}.lua`, import.meta.url), 'utf8');
}

/**
 * The store's Lua scripts, read from the `.lua` files next to this module and run by EVALSHA. When a
 * node does not know a script (a restart, a failover, `SCRIPT FLUSH`) it is loaded with SCRIPT LOAD on
 * every primary and the call is retried, so a store never needs a manual reload.
 */
export class Scripts {
  readonly #client: RedisClientLike;
  readonly #scripts: ReadonlyMap<ScriptName, LoadedScript>;

  private constructor(client: RedisClientLike, scripts: ReadonlyMap<ScriptName, LoadedScript>) {
    this.#client = client;
    this.#scripts = scripts;
  }

  static async read(client: RedisClientLike): Promise<Scripts> {
    const prelude = await readScript(PRELUDE);
    const entries = await Promise.all(
      SCRIPT_NAMES.map(async (name) => {
        const source = `${prelude}\n${await readScript(name)}`;
        const sha1 = createHash('sha1').update(source).digest('hex');
        return [name, { source, sha1 }] as const;
      }),
    );
    return new Scripts(client, new Map(entries));
  }

  /** SCRIPT LOAD of every script, so the first calls need no retry. */
  async loadAll(): Promise<void> {
    for (const script of this.#scripts.values()) await this.#client.scriptLoad(script.source);
  }

  async run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const script = this.#scripts.get(name);
    if (script === undefined) throw new Error(`no Redis script named ${name}`);
    const argv = args.map(String);
    try {
      return await this.#client.evalsha(script.sha1, keys, argv);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      await this.#client.scriptLoad(script.source);
      return this.#client.evalsha(script.sha1, keys, argv);
    }
  }

  /**
   * Runs a script and `WAIT`s for `wait.replicas` in the same round trip: the reply and how many
   * replicas hold everything this connection wrote so far (the script's write included).
   */
  async runAndWait(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
    wait: { readonly replicas: number; readonly timeoutMs: number },
  ): Promise<{ readonly reply: unknown; readonly acknowledged: number }> {
    const script = this.#scripts.get(name);
    if (script === undefined) throw new Error(`no Redis script named ${name}`);
    const client = this.#client;
    if (client.evalshaThenWait === undefined) {
      throw new Error('the Redis client cannot pipeline EVALSHA and WAIT');
    }
    const argv = args.map(String);
    let answer = await client.evalshaThenWait(script.sha1, keys, argv, wait);
    if (answer.error !== undefined && isNoScript(answer.error)) {
      // Nothing was written (the script did not run); load it and run both again.
      await client.scriptLoad(script.source);
      answer = await client.evalshaThenWait(script.sha1, keys, argv, wait);
    }
    if (answer.error !== undefined) throw answer.error;
    return { reply: answer.reply, acknowledged: answer.acknowledged };
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
