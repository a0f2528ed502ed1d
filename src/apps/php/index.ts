// tsgi/php: a PHP site as one Application (php-fpm at an address, or php-cgi children tsgi starts).
export { phpApp } from './app.js';
export type { PhpAppOptions } from './app.js';
export { findPhpCgi } from './spawn.js';
export type { PhpSpawnOptions } from './spawn.js';
