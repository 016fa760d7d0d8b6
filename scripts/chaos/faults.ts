/**
 * The faults: one at a time, at random, a worker, an API process, the Temporal server or PostgreSQL
 * is killed with SIGKILL, stays down a few seconds, and is started again. After each restart a probe
 * order goes through the whole system; the fault counts as recovered when that order is delivered.
 */
import type { Cluster } from '../cluster';
import type { Attempt } from './client';

export const FAULT_KINDS = ['worker', 'api', 'temporal', 'postgres'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultRecord {
  kind: FaultKind;
  instance: string;
  killedAt: number;
  /** Down for this long by design, then started again. */
  outageMs: number;
  /** The process served again. */
  servingAt?: number;
  /** A probe order placed after the restart was delivered. */
  recoveredAt?: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
const shuffle = <T>(xs: readonly T[]): T[] => xs.map((x) => [Math.random(), x] as const).sort((a, b) => a[0] - b[0]).map(([, x]) => x);

const SERVICE: Record<FaultKind, string> = { worker: 'worker', api: 'api', temporal: 'temporal', postgres: 'postgres' };

/**
 * Faults until `until` (every kind at least once, however long that takes: first each kind in a
 * random order, then kinds at random), with a calm gap of `gapMs` before each.
 */
export async function runFaults(o: {
  cluster: Cluster; until: number; gapMs: number; outageMs: [number, number];
  probe: () => Promise<boolean>; log: (line: string) => void;
}): Promise<FaultRecord[]> {
  const done: FaultRecord[] = [];
  const queue: FaultKind[] = shuffle(FAULT_KINDS);
  while (queue.length || Date.now() + o.gapMs < o.until) {
    await sleep(o.gapMs);
    const kind = queue.shift() ?? pick(FAULT_KINDS);
    const instance = pick(o.cluster.instances(SERVICE[kind]).map((p) => p.name));
    const outageMs = o.outageMs[0] + Math.random() * (o.outageMs[1] - o.outageMs[0]);
    const rec: FaultRecord = { kind, instance, killedAt: Date.now(), outageMs };
    done.push(rec);
    o.log(`fault ${done.length}: SIGKILL ${instance}; down for ${(outageMs / 1000).toFixed(1)} s`);
    try {
      await o.cluster.kill(instance, 'SIGKILL');
      await sleep(outageMs);
      await o.cluster.restart(instance);
      rec.servingAt = Date.now();
      if (await o.probe()) rec.recoveredAt = Date.now();
      else rec.error = 'the probe order after the restart was not delivered in time';
    } catch (e) {
      rec.error = (e as Error).message.split('\n')[0];
      // A fault that could not be undone leaves the cluster broken: stop here, the checks will say what it cost.
      o.log(`fault ${done.length} failed: ${rec.error}`);
      break;
    }
    o.log(`fault ${done.length}: ${instance} serving after ${secs(rec.killedAt, rec.servingAt)}, recovered (probe order delivered) after ${secs(rec.killedAt, rec.recoveredAt)}`);
  }
  return done;
}

export const secs = (from: number, to?: number) => (to === undefined ? '—' : `${((to - from) / 1000).toFixed(1)} s`);

/** What the clients got while a fault lasted (from the kill until the probe order was delivered). */
export function duringFault(f: FaultRecord, attempts: Attempt[]) {
  const end = f.recoveredAt ?? f.servingAt ?? Date.now();
  const inWindow = attempts.filter((a) => a.at >= f.killedAt && a.at <= end && a.op !== 'probe');
  const count = (pred: (a: Attempt) => boolean) => inWindow.filter(pred).length;
  return {
    attempts: inWindow.length,
    ok: count((a) => typeof a.outcome === 'number' && a.outcome < 300),
    s503: count((a) => a.outcome === 503),
    s5xx: count((a) => typeof a.outcome === 'number' && a.outcome >= 500 && a.outcome !== 503),
    refused: count((a) => a.outcome === 'refused'),
    reset: count((a) => a.outcome === 'reset' || a.outcome === 'timeout'),
  };
}
