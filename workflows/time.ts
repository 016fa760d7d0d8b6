/** Instants as workflows show them (ISO 8601). Pure: workflow code may import it. */

const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

/** An instant in Asia/Shanghai with its offset, e.g. `2026-11-30T10:00:00.000+08:00` (China has no DST). */
export const shanghai = (ms: number): string => new Date(ms + SHANGHAI_OFFSET_MS).toISOString().replace('Z', '+08:00');

/** An instant given as ISO 8601, or as epoch ms by runs started before issue 8. */
export const epochMs = (t: string | number): number => (typeof t === 'number' ? t : Date.parse(t));
