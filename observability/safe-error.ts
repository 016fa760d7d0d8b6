/**
 * What a log line may say about an error: its type, codes and names, never SQL text, query parameters
 * or the values a database error quotes (drizzle's "Failed query: … params: …", PostgreSQL's
 * `Key (email)=(…)`), which hold personal data and secrets.
 */
const SQLSTATE = /^([0-9][0-9A-Z]|HV|P0|XX|F0)[0-9A-Z]{3}$/;
const MAX = 300;

export interface SafeError { type: string; code?: string; constraint?: string; table?: string; column?: string; message?: string }

export function safeError(e: unknown): SafeError {
  const chain: Record<string, unknown>[] = [];
  for (let x = e as Record<string, unknown> | undefined, depth = 0; x && typeof x === 'object' && depth < 5; x = x.cause as typeof x, depth++) chain.push(x);
  const type = (e as Error)?.constructor?.name ?? typeof e;
  const pg = chain.find((x) => typeof x.code === 'string' && SQLSTATE.test(x.code));
  if (pg) {
    const pick = (k: string) => (typeof pg[k] === 'string' ? { [k]: pg[k] as string } : {});
    return { type, code: pg.code as string, ...pick('constraint'), ...pick('table'), ...pick('column'), message: 'a database statement failed' };
  }
  const code = chain.map((x) => x.code).find((c) => typeof c === 'string') as string | undefined;
  const text = e instanceof Error ? e.message : String(e);
  const first = text.split('\n')[0]!.replace(/^Failed query:.*$/s, 'a database query failed');
  return { type, ...(code ? { code } : {}), message: first.length > MAX ? `${first.slice(0, MAX)}…` : first };
}
