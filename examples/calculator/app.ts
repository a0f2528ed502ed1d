/**
 * The calculator: a TSGI app doing arithmetic from the path.
 *   /add/23/42 → 65   /subtract/23/42 → -19   /multiply/3/5 → 15   /divide/22/11 → 2
 * The home page explains this with example links and a form. Non-numbers and division by zero
 * get 400, unknown operations and malformed paths 404, anything but GET and HEAD 405.
 *
 * Run it:  npm run build && npx tsgi run dist/examples/calculator/app.js
 *    or over FastCGI: npx tsgi run dist/examples/calculator/app.js --fastcgi 127.0.0.1:9000
 */
import type { Application, Environ, StartResponse } from '../../src/types.js';
import { html, type SafeHtml } from '../shared/html.js';
import { page } from '../shared/page.js';

interface Operation {
  symbol: string;
  describe: string;
  apply(a: number, b: number): number;
}

export const OPERATIONS: Record<string, Operation> = {
  add: { symbol: '+', describe: 'adds the two numbers', apply: (a, b) => a + b },
  subtract: { symbol: '−', describe: 'subtracts the second number from the first', apply: (a, b) => a - b },
  multiply: { symbol: '×', describe: 'multiplies them', apply: (a, b) => a * b },
  divide: { symbol: '÷', describe: 'divides the first by the second (not by zero)', apply: (a, b) => a / b },
};

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal number from a path segment, or undefined when the segment is not one. */
export function parseNumber(text: string): number | undefined {
  if (!NUMBER.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

/** Binary floating point leaves dust (0.1 + 0.2); fifteen significant digits sweep it away. */
function formatNumber(value: number): string {
  return String(Number(value.toPrecision(15)));
}

class CalculatorError extends Error {
  constructor(readonly status: string, readonly title: string, readonly detail: SafeHtml) {
    super(title);
  }
}

function base(environ: Environ): string {
  return environ.SCRIPT_NAME || '';
}

function respond(startResponse: StartResponse, status: string, title: string, body: SafeHtml, environ: Environ, extra: [string, string][] = []): string[] {
  startResponse(status, [['Content-Type', 'text/html; charset=utf-8'], ...extra]);
  return [page({ title, home: base(environ) + '/', site: 'Calculator', body, mountedAt: environ.SCRIPT_NAME })];
}

function usage(environ: Environ): SafeHtml {
  const root = base(environ);
  const examples: [string, string, string][] = [['add', '23', '42'], ['subtract', '23', '42'], ['multiply', '3', '5'], ['divide', '22', '11']];
  return html`<p>Put the operation and two numbers in the path:</p>
<table>
<tr><th>Path</th><th>What it does</th></tr>
${Object.entries(OPERATIONS).map(([name, op]) => html`<tr><td><code>${root}/${name}/A/B</code></td><td>${op.describe}</td></tr>\n`)}
</table>
<p>Try: ${examples.map(([name, a, b], i) => html`${i > 0 ? ', ' : ''}<a href="${root}/${name}/${a}/${b}">${name} ${a} and ${b}</a>`)}.</p>
<form method="get" action="${root}/">
  <input name="a" size="8" aria-label="first number" required>
  <select name="op" aria-label="operation">${Object.entries(OPERATIONS).map(([name, op]) => html`<option value="${name}">${op.symbol}</option>`)}</select>
  <input name="b" size="8" aria-label="second number" required>
  <button>=</button>
</form>`;
}

function calculate(environ: Environ, name: string, args: string[]): SafeHtml {
  const operation = OPERATIONS[name];
  if (!operation) {
    throw new CalculatorError('404 Not Found', 'Unknown operation', html`<p>There is no operation called <code>${name}</code>. The calculator knows ${Object.keys(OPERATIONS).map((known, i) => html`${i > 0 ? ', ' : ''}<code>${known}</code>`)}.</p>`);
  }
  if (args.length !== 2) {
    throw new CalculatorError('404 Not Found', 'Two numbers, please', html`<p><code>${name}</code> takes exactly two numbers, as in <a href="${base(environ)}/${name}/6/3">${base(environ)}/${name}/6/3</a>; this path has ${args.length}.</p>`);
  }
  const numbers = args.map(parseNumber);
  const bad = args.filter((_, i) => numbers[i] === undefined);
  if (bad.length > 0) {
    throw new CalculatorError('400 Bad Request', 'Not a number', html`<p>${bad.map((text, i) => html`${i > 0 ? ' and ' : ''}<code>${text}</code>`)} ${bad.length > 1 ? 'are not numbers' : 'is not a number'}. Write numbers like <code>42</code>, <code>-7</code> or <code>2.5</code>.</p>`);
  }
  const [a, b] = numbers as [number, number];
  if (name === 'divide' && b === 0) {
    throw new CalculatorError('400 Bad Request', 'Division by zero', html`<p>${formatNumber(a)} cannot be divided by zero.</p>`);
  }
  const result = operation.apply(a, b);
  if (!Number.isFinite(result)) {
    throw new CalculatorError('400 Bad Request', 'Too large', html`<p>The result is too large for the calculator.</p>`);
  }
  return html`<p class="result"><span id="expression">${formatNumber(a)} ${operation.symbol} ${formatNumber(b)}</span> = <strong id="result">${formatNumber(result)}</strong></p>
<p><a href="${base(environ)}/">Another calculation</a></p>`;
}

export const calculator: Application = (environ, startResponse) => {
  if (environ.REQUEST_METHOD !== 'GET' && environ.REQUEST_METHOD !== 'HEAD') {
    return respond(startResponse, '405 Method Not Allowed', 'Method not allowed', html`<p class="error">The calculator only answers GET requests.</p>`, environ, [['Allow', 'GET, HEAD']]);
  }
  const segments = environ.PATH_INFO.split('/').filter((segment) => segment !== '');
  if (segments.length === 0) {
    const form = new URLSearchParams(environ.QUERY_STRING);
    const op = form.get('op');
    if (op !== null) {
      // The home page's form asks by query; answer with the path form so the result has a link of its own.
      const location = `${encodeURI(base(environ))}/${encodeURIComponent(op)}/${encodeURIComponent(form.get('a') ?? '')}/${encodeURIComponent(form.get('b') ?? '')}`;
      return respond(startResponse, '303 See Other', 'See other', html`<p><a href="${location}">${location}</a></p>`, environ, [['Location', location]]);
    }
    return respond(startResponse, '200 OK', 'Calculator', html`<h1>Calculator</h1>\n${usage(environ)}`, environ);
  }
  const [name, ...args] = segments as [string, ...string[]];
  try {
    return respond(startResponse, '200 OK', `Calculator: ${name}`, html`<h1>Calculator</h1>\n${calculate(environ, name, args)}`, environ);
  } catch (error) {
    if (!(error instanceof CalculatorError)) throw error;
    return respond(startResponse, error.status, error.title, html`<h1>${error.title}</h1>\n<div class="error">${error.detail}</div>\n<h2>How to use the calculator</h2>\n${usage(environ)}`, environ);
  }
};

export default calculator;
