import { UsageError } from '../args.ts';
import type { Command } from '../command.ts';
import { overrideApprove, overrideApproveOptions } from './override-approve.ts';
import { overrideLs, overrideLsOptions } from './override-ls.ts';
import { overrideRequest, overrideRequestOptions } from './override-request.ts';

const SUBCOMMANDS = { request: overrideRequest, approve: overrideApprove, ls: overrideLs } as const;

export const overrideCommand: Command = {
  name: 'override',
  summary: 'request, approve (by someone else) and list payload overrides',
  usage: [
    'override request KEY --payload FILE --by WHO --reason WHY',
    'override approve ID --by WHO',
    'override ls [--key KEY] [--status pending|approved|used]',
  ].join('\n       '),
  // One option table for the three: parseArgs is strict, and each subcommand checks what it needs.
  options: { ...overrideRequestOptions, ...overrideApproveOptions, ...overrideLsOptions },
  async run(context) {
    const [sub, ...rest] = context.positionals;
    const handler =
      sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub)
        ? SUBCOMMANDS[sub as keyof typeof SUBCOMMANDS]
        : undefined;
    if (handler === undefined) throw new UsageError('override needs a subcommand: request, approve or ls');
    return handler(context, rest);
  },
};
