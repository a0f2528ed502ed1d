// Built-ins are loaded with process.getBuiltinModule (Node >= 20.16; package.json asks for
// 20.19), not imported: an ESM import of node:fs, node:stream or node:buffer builds a module
// facade that costs up to milliseconds, paid by every CGI request; even node:module's costs 0.35 ms.
export const requireBuiltin: (id: string) => unknown = (id) => process.getBuiltinModule(id);
