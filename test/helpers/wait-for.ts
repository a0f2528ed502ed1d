/** Polls until `check` holds; rejects after `limitMs` naming what it waited for (plus `detail()`, e.g. a child's output). */
export async function waitFor(check: () => boolean, what: string, limitMs = 5000, detail: () => string = () => ''): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}\n${detail()}`.trimEnd());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** waitFor for a check that must ask something (a request, say) each time. */
export async function waitForAsync(check: () => Promise<boolean>, what: string, limitMs = 5000, detail: () => string = () => ''): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > limitMs) throw new Error(`timed out waiting for ${what}\n${detail()}`.trimEnd());
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
