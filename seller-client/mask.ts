/**
 * Credentials in what sellers send back (a ready queryInstance carries the buyer's userName and
 * password) are masked before anything is stored or shown outside the live instance view.
 */
export const MASK = '***';
const SECRET_KEY = /^(password|passwd|pwd|username|user_name|secret|client_?secret|access_?key|secret_?key|api_?key|token|access_?token|refresh_?token|authorization|credentials?)$/i;

export function maskSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(maskSecrets) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== null && v !== undefined ? MASK : maskSecrets(v)])) as T;
  }
  return value;
}

/** Masks `"password": "…"`-style pairs in text that is not valid JSON (a truncated or broken reply). */
export function maskSecretsInText(text: string): string {
  return text.replace(/("([A-Za-z_]+)"\s*:\s*)("(?:[^"\\]|\\.)*(?:"|$)|[^,{}[\]\s"]+)/g, (all, head: string, key: string) => (SECRET_KEY.test(key) ? `${head}"${MASK}"` : all));
}
