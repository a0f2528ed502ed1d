/** What a scenario measured (figures, printed as they come) and the invariants it checked. */

export interface Check {
  ok: boolean;
  what: string;
}

export class Report {
  readonly figures: [string, string][] = [];
  readonly checks: Check[] = [];

  /** `print` gets each line as it comes (the runner: stdout; a test: a buffer shown on failure). */
  constructor(private readonly print: (line: string) => void = () => {}) {}

  section(title: string): void {
    this.print(`\n  ${title}`);
  }

  figure(name: string, value: string | number): void {
    const text = typeof value === 'number' ? String(value) : value;
    this.figures.push([name, text]);
    this.print(`    ${name.padEnd(44)} ${text}`);
  }

  note(text: string): void {
    this.print(`    ${text}`);
  }

  /** Records an invariant; the run fails at the end if any did not hold. */
  check(ok: boolean, what: string): boolean {
    this.checks.push({ ok, what });
    this.print(`    ${ok ? 'ok  ' : 'FAIL'} ${what}`);
    return ok;
  }

  get failures(): Check[] {
    return this.checks.filter((check) => !check.ok);
  }
}
