// Copies the SQL migrations and Lua scripts next to the compiled stores: they are read at run time
// relative to the module (`new URL('./migrations/…', import.meta.url)`), in src and in dist alike.
import { cpSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ASSET = /\.(sql|lua)$/;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const source = path.join(dir, name);
    if (statSync(source).isDirectory()) walk(source);
    else if (ASSET.test(name)) cpSync(source, path.join('dist', path.relative('src', source)));
  }
}

walk('src');
