import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/args.ts';
import { formatDuration, parseDuration } from '../../src/cli/duration.ts';
import { colourEnabled, table } from '../../src/cli/output.ts';
import { progressBar, progressLine } from '../../src/cli/progress.ts';
import { describeAddress, parseStoreAddress } from '../../src/cli/store-address.ts';

function sink(isTTY: boolean): { isTTY: boolean; written: string[]; write(text: string): void } {
  const written: string[] = [];
  return { isTTY, written, write: (text) => written.push(text) };
}

describe('CLI parts', () => {
  it('parses and formats durations', () => {
    expect(parseDuration('1h30m', 'x')).toBe(5_400_000);
    expect(parseDuration('7d', 'x')).toBe(604_800_000);
    expect(parseDuration('250', 'x')).toBe(250);
    expect(parseDuration(0, 'x')).toBe(0);
    expect(() => parseDuration('soon', '--older-than')).toThrow(UsageError);
    expect(() => parseDuration('5 m', 'x')).toThrow(UsageError);
    expect(formatDuration(5_400_000)).toBe('1h 30m');
    expect(formatDuration(86_400_000 + 1000)).toBe('1d 1s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(Number.MAX_SAFE_INTEGER)).toBe('forever');
  });

  it('parses store addresses and takes its own parameters out of the driver URL', () => {
    expect(parseStoreAddress('sqlite:./a.db')).toEqual({ kind: 'sqlite', path: './a.db' });
    expect(parseStoreAddress('sqlite:///var/x.db?prefix=t_')).toEqual({
      kind: 'sqlite',
      path: '/var/x.db',
      tablePrefix: 't_',
    });
    expect(parseStoreAddress('postgres://u:secret@h:5432/db?schema=billing&sslmode=require')).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u:secret@h:5432/db?sslmode=require',
      schema: 'billing',
    });
    expect(parseStoreAddress('redis://h:6379/2?prefix=app%3A')).toEqual({
      kind: 'redis',
      url: 'redis://h:6379/2',
      keyPrefix: 'app:',
    });
    expect(describeAddress(parseStoreAddress('postgres://u:secret@h/db'))).toBe('postgres://u:***@h/db');
    expect(() => parseStoreAddress('mysql://h/db')).toThrow(UsageError);
    expect(() => parseStoreAddress('sqlite:')).toThrow(UsageError);
    expect(() => parseStoreAddress('sqlite:a.db?schema=x')).toThrow(UsageError);
  });

  it('takes the replication parameters out of the address, typed, and refuses malformed ones', () => {
    expect(
      parseStoreAddress('redis://:secret@h:6379/0?prefix=app%3A&replicaAcks=1&replicaAckTimeoutMs=250&db=x'),
    ).toEqual({
      kind: 'redis',
      url: 'redis://:secret@h:6379/0?db=x',
      keyPrefix: 'app:',
      replicaAcks: 1,
      replicaAckTimeoutMs: 250,
    });
    expect(parseStoreAddress('rediss://h?allowUnacknowledgedReplicas=true')).toEqual({
      kind: 'redis',
      url: 'rediss://h',
      allowUnacknowledgedReplicas: true,
    });
    expect(parseStoreAddress('redis://h?replicaAcks=0&allowUnacknowledgedReplicas=false')).toEqual({
      kind: 'redis',
      url: 'redis://h',
      replicaAcks: 0,
      allowUnacknowledgedReplicas: false,
    });
    expect(
      parseStoreAddress('postgres://u@h/db?allowAsynchronousStandbys=true&sslmode=require&schema=s'),
    ).toEqual({
      kind: 'postgres',
      connectionString: 'postgres://u@h/db?sslmode=require',
      schema: 's',
      allowAsynchronousStandbys: true,
    });
    for (const bad of [
      'redis://h?replicaAcks=-1',
      'redis://h?replicaAcks=one',
      'redis://h?replicaAcks=1.5',
      'redis://h?replicaAcks=',
      'redis://h?replicaAckTimeoutMs=0',
      'redis://h?replicaAcks=1&replicaAcks=2',
      'redis://h?allowUnacknowledgedReplicas=yes',
      'postgres://h/db?allowAsynchronousStandbys=1',
    ]) {
      expect(() => parseStoreAddress(bad), bad).toThrow(UsageError);
    }
    // The description keeps masking secrets; the retrysafe parameters are not part of it.
    expect(describeAddress(parseStoreAddress('redis://:secret@h:6379?replicaAcks=1&password=p'))).toBe(
      'redis://:***@h:6379?password=***',
    );
    expect(describeAddress(parseStoreAddress('postgres://u:pw@h/db?allowAsynchronousStandbys=true'))).toBe(
      'postgres://u:***@h/db',
    );
  });

  it('colours only a terminal without NO_COLOR, and keeps columns aligned when it does', () => {
    expect(colourEnabled(sink(true), {})).toBe(true);
    expect(colourEnabled(sink(true), { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled(sink(false), {})).toBe(false);
    const rows = [[{ text: 'unknown', style: 'red' as const }, 'x']];
    const plain = table(['STATE', 'KEY'], rows, false);
    const coloured = table(['STATE', 'KEY'], rows, true);
    expect(plain).toBe('STATE    KEY\nunknown  x\n');
    expect(stripVTControlCharacters(coloured)).toBe(plain);
    expect(coloured).toContain('\u001b[31m');
  });

  it('draws the progress bar on a terminal only', () => {
    expect(progressLine(3, 4, 'reconciling')).toBe(`reconciling [${'#'.repeat(23)}${'-'.repeat(7)}] 3/4 75%`);
    const tty = sink(true);
    const bar = progressBar(tty, 'r');
    bar.update(1, 2);
    bar.finish();
    expect(tty.written).toEqual([`\r${progressLine(1, 2, 'r')}`, '\n']);
    const pipe = sink(false);
    const quiet = progressBar(pipe, 'r');
    quiet.update(1, 2);
    quiet.finish();
    expect(pipe.written).toEqual([]);
  });
});
