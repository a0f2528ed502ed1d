// The package root re-exports every public name; subpaths let a CGI script load only what it needs.
export type * from './types.js';
