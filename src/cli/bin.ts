#!/usr/bin/env node
import { main } from './main.ts';

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
// The store is closed; a handle left open by a config module must not keep the command running.
setTimeout(() => process.exit(code), 2000).unref();
