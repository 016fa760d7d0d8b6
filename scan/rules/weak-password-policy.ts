import type { Finding, Rule } from './types';
import { isFile, wholeFile } from './util';

const MIN = 8;
const PAM_FILES = ['/etc/pam.d/common-password', '/etc/pam.d/system-auth', '/etc/pam.d/password-auth', '/etc/pam.d/passwd'];
const PWQUALITY = /^\/etc\/security\/pwquality\.conf(?:\.d\/[^/]+\.conf)?$/;

interface State {
  loginDefs: number | null | 'absent';
  pam: Record<string, string[]>;
  pwquality: number | null;
}

const minlenArg = (args: string[]) => {
  const v = args.find((a) => a.startsWith('minlen='));
  return v ? Number(v.slice(7)) : null;
};

/** The password stack of a PAM file: module and arguments of each `password` line. */
function passwordStack(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => /^-?password\s/.test(l));
}

/**
 * The shortest password the image's policy accepts, and the setting that decides it. The PAM password
 * stack rules when there is one: pam_pwquality/pam_cracklib's `minlen` (or pwquality.conf; default 8 and
 * 9), else pam_unix's `minlen` (default 6). Without PAM, login.defs' PASS_MIN_LEN (default 5).
 */
export function effectiveMinLength(state: State): { length: number; path: string; evidence: string } | null {
  for (const path of PAM_FILES) {
    const lines = state.pam[path];
    if (!lines?.length) continue;
    for (const line of lines) {
      const tokens = line.split(/\s+/);
      const mod = tokens.findIndex((t) => /pam_(pwquality|cracklib)\.so$/.test(t));
      if (mod >= 0) {
        const given = minlenArg(tokens.slice(mod + 1));
        const cracklib = tokens[mod]!.includes('cracklib');
        const length = given ?? (cracklib ? 9 : state.pwquality ?? 8);
        return { length, path, evidence: `${tokens[mod]!.split('/').pop()} minlen=${length}${given === null ? (state.pwquality !== null && !cracklib ? ' (from pwquality.conf)' : ' (default)') : ''}` };
      }
    }
    const unix = lines.map((l) => l.split(/\s+/)).find((t) => t.some((x) => /pam_unix\.so$/.test(x)));
    if (unix) {
      const given = minlenArg(unix.slice(unix.findIndex((x) => /pam_unix\.so$/.test(x)) + 1));
      return { length: given ?? 6, path, evidence: `pam_unix.so ${given === null ? 'without minlen (default 6)' : `minlen=${given}`}, no pam_pwquality` };
    }
  }
  if (state.loginDefs !== 'absent') {
    const length = state.loginDefs ?? 5;
    return { length, path: '/etc/login.defs', evidence: `PASS_MIN_LEN ${state.loginDefs ?? 'unset (default 5)'}` };
  }
  return null;
}

/** `weak-password-policy`: the image's PAM and login.defs settings allow passwords shorter than 8 characters. */
export const weakPasswordPolicy: Rule<State> = {
  id: 'weak-password-policy',
  init: () => ({ loginDefs: 'absent', pam: {}, pwquality: null }),
  open(e, state) {
    if (!isFile(e)) return null;
    if (e.path === '/etc/login.defs') {
      return wholeFile(1 << 20, (t) => {
        const m = /^\s*PASS_MIN_LEN\s+(\d+)/m.exec(t);
        state.loginDefs = m ? Number(m[1]) : null;
        return [];
      });
    }
    if (PAM_FILES.includes(e.path)) return wholeFile(1 << 20, (t) => { state.pam[e.path] = passwordStack(t); return []; });
    if (PWQUALITY.test(e.path)) {
      return wholeFile(1 << 20, (t) => {
        const m = /^\s*minlen\s*=\s*(\d+)/m.exec(t);
        if (m) state.pwquality = Number(m[1]);
        return [];
      });
    }
    return null;
  },
  finish(state): Finding[] {
    const policy = effectiveMinLength(state);
    if (!policy || policy.length >= MIN) return [];
    return [{ rule: 'weak-password-policy', path: policy.path, severity: 'medium', blocking: true, evidence: `passwords of ${policy.length} characters are accepted: ${policy.evidence}` }];
  },
};
