import { createRequire } from 'node:module';

// Built-ins are loaded with process.getBuiltinModule (Node >= 20.16; require before that): an
// ESM import of node:fs, node:stream or node:buffer builds a module facade that costs up to
// milliseconds, paid by every CGI request. node:module's facade is small.
export const requireBuiltin: (id: string) => unknown = process.getBuiltinModule ?? createRequire(import.meta.url);
