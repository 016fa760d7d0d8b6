/** PostgreSQL error codes that answers depend on, read from pg's error or drizzle's wrapper of it. */
const PG = { uniqueViolation: '23505', foreignKeyViolation: '23503' } as const;

const codeOf = (e: unknown) => (e as { cause?: { code?: string } })?.cause?.code ?? (e as { code?: string })?.code;
export const isUniqueViolation = (e: unknown) => codeOf(e) === PG.uniqueViolation;
export const isForeignKeyViolation = (e: unknown) => codeOf(e) === PG.foreignKeyViolation;
