import { readFileSync } from 'node:fs';
import path from 'node:path';
import { flag, onePositional, UsageError } from '../args.ts';
import type { Command } from '../command.ts';
import { buildDesign } from '../design/model.ts';
import { renderDesign } from '../design/render.ts';
import { parseSpec } from '../design/spec.ts';
import { ExitCode } from '../exit-codes.ts';
import { printJson } from '../output.ts';

export const designCommand: Command = {
  name: 'design',
  summary: 'write the idempotency design (Markdown) for a spec file; --check fails on warnings',
  usage: 'design SPEC.(yaml|json) [--check]',
  options: { check: { type: 'boolean' } },
  storeless: true,
  async run({ io, values, positionals, json }) {
    const file = onePositional(positionals, 'SPEC file');
    let text: string;
    try {
      text = readFileSync(path.resolve(io.cwd, file), 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const design = buildDesign(parseSpec(text, file));
    const markdown = await renderDesign(design);
    if (json) {
      printJson(io, {
        operation: design.id,
        namespace: design.spec.operation.namespace,
        store: design.spec.store.kind,
        provider: { name: design.provider.profile.name, source: design.provider.source },
        example: design.example,
        policy: design.policy,
        warnings: design.warnings,
        markdown,
      });
    } else {
      io.stdout.write(markdown);
    }
    for (const warning of design.warnings)
      if (!json) io.stderr.write(`warning: ${warning.code}: ${warning.message}\n`);
    return flag(values, 'check') && design.warnings.length > 0 ? ExitCode.DesignWarnings : ExitCode.Ok;
  },
};
