/**
 * The last touches on the generated OpenAPI document, in one place: rules the server applies to
 * every input that zod's schemas do not carry themselves.
 */
type Json = { [k: string]: unknown };

/** No NUL in any string (PostgreSQL cannot store it; api/edge.ts refuses it everywhere). */
export const NO_NUL = '^[^\\u0000]*$';

function walk(node: unknown, visit: (o: Json) => void) {
  if (Array.isArray(node)) node.forEach((n) => walk(n, visit));
  else if (node && typeof node === 'object') {
    visit(node as Json);
    Object.values(node).forEach((n) => walk(n, visit));
  }
}

export function statesEveryConstraint<T extends object>(document: T): T {
  walk(document, (o) => {
    const isString = o.type === 'string' || (Array.isArray(o.type) && o.type.includes('string'));
    // Bytes (a streamed upload) are not text: no pattern.
    if (isString && o.format !== 'binary' && o.pattern === undefined && o.enum === undefined && o.const === undefined) o.pattern = NO_NUL;
  });
  const info = (document as { info?: Json }).info;
  if (info) info.description = `${String(info.description ?? '')} Strings must not hold NUL characters or unpaired UTF-16 surrogates (400). A body is application/json unless the operation states another media type (415 otherwise).`.trim();
  return document;
}
