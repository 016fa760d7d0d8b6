import { describe, expect, it } from 'vitest';
import { compareApk, compareDebian } from '../../domain/package-versions';

const sorted = (cmp: (a: string, b: string) => number, list: string[]) => {
  for (let i = 0; i + 1 < list.length; i++) {
    expect(cmp(list[i]!, list[i + 1]!), `${list[i]} < ${list[i + 1]}`).toBeLessThan(0);
    expect(cmp(list[i + 1]!, list[i]!), `${list[i + 1]} > ${list[i]}`).toBeGreaterThan(0);
  }
};

describe('Debian version ordering (dpkg)', () => {
  it('orders as dpkg --compare-versions does', () => {
    sorted(compareDebian, ['1.0~rc1', '1.0', '1.0-1', '1.0-1+deb12u1', '1.0-2', '1.0a', '1.0.1', '1.1', '1.10', '2:0.1']);
    sorted(compareDebian, ['3.0.11-1~deb12u1', '3.0.11-1~deb12u2', '3.0.11-1', '3.0.13-1~deb12u1', '3.0.15-1~deb12u1']);
    sorted(compareDebian, ['~~', '~~a', '~', '', 'a']);
    expect(compareDebian('1.0', '1.0-0')).toBe(0);
    expect(compareDebian('0:1.2', '1.2')).toBe(0);
    expect(compareDebian('1.002', '1.2')).toBe(0);
  });
});

describe('Alpine version ordering (apk)', () => {
  it('orders as apk version -t does', () => {
    sorted(compareApk, ['1.0_alpha1', '1.0_beta', '1.0_pre2', '1.0_rc1', '1.0', '1.0-r1', '1.0_p1', '1.0a', '1.0.1', '1.1', '1.10']);
    sorted(compareApk, ['3.1.4-r0', '3.1.4-r5', '3.1.5-r0', '3.3.0-r0']);
    sorted(compareApk, ['1.05', '1.1']);
    expect(compareApk('2.6.0-r1', '2.6.0-r1')).toBe(0);
  });
});
