/**
 * Version ordering of the two package managers the scan reads. Both are small, fixed algorithms; the
 * npm packages that implement them are unmaintained, so they live here with their tests.
 */

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && /[A-Za-z]/.test(c);

/** dpkg's character order in non-digit parts: `~` before everything, even the end; letters before other symbols. */
function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0;
  if (c === '~') return -1;
  if (isAlpha(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

/** dpkg's verrevcmp (lib/dpkg/version.c): alternating non-digit and digit runs. */
function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const ac = order(a[i]);
      const bc = order(b[j]);
      if (ac !== bc) return ac - bc;
      i++; j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (isDigit(a[i]) && isDigit(b[j])) {
      if (!firstDiff) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++; j++;
    }
    if (isDigit(a[i])) return 1;
    if (isDigit(b[j])) return -1;
    if (firstDiff) return firstDiff;
  }
  return 0;
}

function parseDebian(v: string) {
  const s = v.trim();
  const colon = s.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(s.slice(0, colon)) ? Number(s.slice(0, colon)) : 0;
  const rest = colon > 0 ? s.slice(colon + 1) : s;
  const dash = rest.lastIndexOf('-');
  return { epoch, upstream: dash > 0 ? rest.slice(0, dash) : rest, revision: dash > 0 ? rest.slice(dash + 1) : '' };
}

/** Compares two Debian versions (`[epoch:]upstream[-revision]`) as dpkg does: negative, 0 or positive. */
export function compareDebian(a: string, b: string): number {
  const x = parseDebian(a);
  const y = parseDebian(b);
  if (x.epoch !== y.epoch) return x.epoch - y.epoch;
  return Math.sign(verrevcmp(x.upstream, y.upstream) || verrevcmp(x.revision, y.revision));
}

// apk-tools (src/version.c): suffixes before the release sort below it, the others above.
const SUFFIX_RANK: Record<string, number> = { alpha: -4, beta: -3, pre: -2, rc: -1, '': 0, cvs: 1, svn: 2, git: 3, hg: 4, p: 5 };

function parseApk(v: string) {
  const m = /^([0-9]+(?:\.[0-9]+)*)([a-z]?)((?:_(?:alpha|beta|pre|rc|cvs|svn|git|hg|p)[0-9]*)*)(?:~([0-9a-f]+))?(?:-r([0-9]+))?$/.exec(v.trim());
  if (!m) return null;
  const suffixes = [...m[3]!.matchAll(/_(alpha|beta|pre|rc|cvs|svn|git|hg|p)([0-9]*)/g)].map((s) => ({ rank: SUFFIX_RANK[s[1]!]!, n: Number(s[2] || 0) }));
  return { nums: m[1]!.split('.'), letter: m[2]!, suffixes, hash: m[4] ?? '', rev: Number(m[5] ?? 0) };
}

/** Compares two Alpine (apk) versions, e.g. `1.2.3a_rc1-r2`: negative, 0 or positive. Unparsable ones compare as text. */
export function compareApk(a: string, b: string): number {
  const x = parseApk(a);
  const y = parseApk(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const p = x.nums[i];
    const q = y.nums[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    // After the first component a leading zero makes a fraction (1.05 < 1.1), as apk and Gentoo read it.
    if (i > 0 && (p.startsWith('0') || q.startsWith('0'))) {
      const pp = p.replace(/0+$/, '');
      const qq = q.replace(/0+$/, '');
      if (pp !== qq) return pp < qq ? -1 : 1;
    } else if (Number(p) !== Number(q)) {
      return Number(p) < Number(q) ? -1 : 1;
    }
  }
  if (x.letter !== y.letter) return x.letter < y.letter ? -1 : 1;
  for (let i = 0; i < Math.max(x.suffixes.length, y.suffixes.length); i++) {
    const p = x.suffixes[i] ?? { rank: 0, n: 0 };
    const q = y.suffixes[i] ?? { rank: 0, n: 0 };
    if (p.rank !== q.rank) return p.rank - q.rank;
    if (p.n !== q.n) return p.n - q.n;
  }
  return Math.sign(x.rev - y.rev);
}
