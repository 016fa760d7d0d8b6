/**
 * What the README's commands name, so a test can check that each still exists: the npm scripts, make targets,
 * files and API endpoints of its shell blocks and prose (tests/unit/readme.test.ts).
 */

export interface Endpoint { method: string; path: string; port: number; where: string }

/** The body of every ```sh block, with the line it starts on. */
export function shellBlocks(markdown: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = [];
  const re = /^```sh\n([\s\S]*?)^```$/gm;
  for (let m; (m = re.exec(markdown)); ) blocks.push({ line: markdown.slice(0, m.index).split('\n').length + 1, text: m[1]! });
  return blocks;
}

/**
 * Replaces every command substitution `$(…)` by a placeholder, innermost first, and returns the commands found
 * inside them too: `curl …/accounts/$(curl …/account | jq …)/top-up` names two endpoints.
 */
export function flattenSubstitutions(text: string): { text: string; inner: string[] } {
  const inner: string[] = [];
  let out = text;
  for (let m; (m = /\$\(([^()]*)\)/.exec(out)); ) {
    inner.push(m[1]!);
    out = out.slice(0, m.index) + '{sub}' + out.slice(m.index + m[0].length);
  }
  return { text: out, inner };
}

/** One command per element: continuation lines joined, comments dropped, split at |, ;, && and ||. */
export function commands(text: string): string[] {
  const { text: flat, inner } = flattenSubstitutions(text.replace(/\\\n/g, ' '));
  const lines = flat.split('\n').map((l) => l.replace(/(^|\s)#.*$/, '')).filter((l) => l.trim());
  return [...lines.flatMap((l) => l.split(/\|\||&&|[|;]/)), ...inner].map((c) => c.trim()).filter(Boolean);
}

/** `npm run NAME` (with or without -s) and `make TARGET` in commands and in prose code spans. */
export function npmScripts(cmds: string[]): string[] {
  return cmds.flatMap((c) => [...c.matchAll(/\bnpm run(?: -s| --silent)? ([\w:.-]+)/g)].map((m) => m[1]!));
}
export function makeTargets(cmds: string[]): string[] {
  return cmds.flatMap((c) => {
    const m = /(?:^|\s)make((?:\s+[^\s|;&]+)*)/.exec(c);
    if (!m) return [];
    // Options and VAR=value assignments are not targets.
    return m[1]!.trim().split(/\s+/).filter((w) => w && !w.startsWith('-') && !w.includes('='));
  });
}

/** The curl calls of a command list: method (-X, else POST with a body, else GET), port and path without the query. */
export function curlEndpoints(cmds: string[], where: string): Endpoint[] {
  return cmds.filter((c) => /(^|\s)curl\s/.test(c)).map((c) => {
    const url = /(?:https?:\/\/)?(?:localhost|127\.0\.0\.1):(\d+)(\/[^\s"'?]*)?/.exec(c);
    if (!url) throw new Error(`${where}: a curl call without a local URL: ${c}`);
    const method = /\s-X\s*([A-Z]+)/.exec(c)?.[1] ?? (/\s(-d|--data(-raw|-binary)?|-F|--form)\s/.test(` ${c} `) ? 'POST' : 'GET');
    return { method, port: Number(url[1]), path: url[2] ?? '/', where };
  });
}

/** Endpoints named in prose: `POST /v1/accounts/{id}/top-up`. */
export function proseEndpoints(markdown: string): Endpoint[] {
  return [...markdown.matchAll(/\b(GET|POST|PUT|PATCH|DELETE) (\/[\w{}./-]+)/g)].map((m) => ({
    method: m[1]!, path: m[2]!.replace(/[.]$/, ''), port: 3000, where: `prose "${m[0]}"`,
  }));
}

/** Whether a concrete path (with `$VAR`/`{sub}` placeholders) is one of the OpenAPI templates, for that method. */
export function matchesOpenApi(paths: Record<string, Record<string, unknown>>, e: Pick<Endpoint, 'method' | 'path'>): boolean {
  const concrete = e.path.replace(/\$\{?\w+\}?/g, '{var}');
  return Object.entries(paths).some(([template, ops]) => {
    const re = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);
    return re.test(concrete) && e.method.toLowerCase() in ops;
  });
}

/** Repository paths the README names: markdown links and code spans that look like files of this checkout. */
export function namedFiles(markdown: string): string[] {
  const links = [...markdown.matchAll(/\]\(([^)#\s]+)\)/g)].map((m) => m[1]!).filter((p) => !/^[a-z]+:/.test(p));
  const spans = [...markdown.matchAll(/`([\w./-]+\/[\w.-]+\.(?:ts|md|sh|json|yml|yaml|toml|txt))`/g)].map((m) => m[1]!);
  const inCode = [...markdown.matchAll(/(?:^|\s)((?:scripts|seller|tests|docs|conformance|api|db|domain|workflows|activities)\/[\w./-]+\.(?:ts|md|sh))\b/g)].map((m) => m[1]!);
  // .data/ and .tools/ are made by make start and the bootstrap, not kept in git.
  return [...new Set([...links, ...spans, ...inCode])].filter((p) => !p.startsWith('.data/') && !p.startsWith('.tools/'));
}
