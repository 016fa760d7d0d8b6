import type { Finding, Rule } from './types';
import { isFile, mask, wholeFile } from './util';

const HISTORY = /\/(?:\.bash_history|\.zsh_history|\.sh_history|\.ash_history|\.history|fish_history|\.mysql_history|\.psql_history|\.python_history)$/;

// A secret on a command line: the value is group 1; the rest of the pattern names what it is.
const PATTERNS: [RegExp, string][] = [
  [/\bsshpass\s+-p\s*(\S+)/, 'sshpass -p'],
  [/\b(?:mysql|mysqldump|mysqladmin|mariadb)\b.*?\s-p(?!\s)(\S+)/, 'MySQL password (-p)'],
  [/--password[= ](\S+)/, '--password'],
  [/\b(?:curl|wget)\b.*?\s(?:-u|--user)\s+[^:\s]+:(\S+)/, 'HTTP basic credentials'],
  [/\becho\s+["']?[^|"']*?:([^|"'\s]+)["']?\s*\|\s*(?:sudo\s+)?chpasswd/, 'chpasswd'],
  [/\becho\s+["']?([^|"'\s]+)["']?\s*\|\s*(?:sudo\s+)?passwd\s+--stdin/, 'passwd --stdin'],
  [/-pass\s+pass:(\S+)/, 'openssl -pass'],
  [/\b(?:export\s+)?[A-Z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|ACCESS_KEY|SECRET_KEY)[A-Z0-9_]*=["']?([^\s"']+)/, 'secret in an environment variable'],
  [/\b(?:postgres(?:ql)?|mysql|mongodb(?:\+srv)?|redis|amqp):\/\/[^:/\s]+:([^@\s]+)@/, 'password in a connection URL'],
];

/** `shell-history-secret`: shell and client histories with a password or key on a command line. */
export function historySecrets(text: string, path: string): Finding[] {
  const found: Finding[] = [];
  text.split('\n').forEach((line, i) => {
    for (const [re, what] of PATTERNS) {
      const m = re.exec(line);
      if (m?.[1]) {
        found.push({ rule: 'shell-history-secret', path, severity: 'high', blocking: true, evidence: `line ${i + 1}: ${what} ${mask(m[1], 2)}` });
        break;
      }
    }
  });
  return found;
}

export const shellHistorySecret: Rule<Record<string, never>> = {
  id: 'shell-history-secret',
  init: () => ({}),
  open: (e) => (isFile(e) && HISTORY.test(e.path) ? wholeFile(16 << 20, (t) => historySecrets(t, e.path)) : null),
};
