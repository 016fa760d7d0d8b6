/**
 * The chaos run: the cluster of docker-compose.yml on this machine (scripts/cluster/), a steady mixed
 * load through both API processes, faults one at a time, then the checks of verify.ts. `npm run chaos`
 * (scripts/chaos/main.ts) prints the report; tests/cluster/chaos.test.ts holds CI to it.
 */
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { createPrincipal, issueApiKey } from '../../api/auth';
import { openDatabase } from '../../db/client';
import { topUp } from '../../db/ledger';
import { orderLines } from '../../db/schema';
import { newId } from '../../domain/ids';
import { startCluster } from '../cluster';
import { ROOT } from '../cluster/local';
import { ChaosClient } from './client';
import { duringFault, FAULT_KINDS, runFaults, secs, type FaultRecord } from './faults';
import { Load } from './load';
import { settled, verify, type Figures, type Finding } from './verify';

export interface ChaosOptions {
  minutes: number;
  /** Calm time before each fault, and how long a killed process stays down (a range, seconds). */
  gapSeconds?: number;
  outageSeconds?: [number, number];
  /** Clients in flight and their pause between requests. */
  concurrency?: number;
  pauseMs?: number;
  /** How long the system may take to finish accepted work after the load stops. */
  settleSeconds?: number;
  keepData?: boolean;
  log?: (line: string) => void;
}

export interface ChaosReport {
  ok: boolean;
  faults: (FaultRecord & { during: ReturnType<typeof duringFault> })[];
  kindsMissing: string[];
  /** Instances that exited without being killed (x how often), restarted by the cluster. */
  crashes: string[];
  requests: Record<string, Record<string, number>>;
  figures?: Figures;
  findings: Finding[];
  counts: Record<Finding['kind'], number>;
  text: string;
}

const TOP_UP = 1_000_000_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? ((l: string) => console.log(`[chaos] ${l}`));
  mkdirSync(join(ROOT, '.data'), { recursive: true });
  const dataDir = mkdtempSync(join(ROOT, '.data', 'chaos-'));
  const started = Date.now();
  log(`starting the cluster in ${dataDir}`);
  const cluster = await startCluster({
    dataDir, ports: 'auto', log: (l) => log(`cluster: ${l}`),
    // Seconds instead of minutes, so a run of a few minutes sees retries and sweeps finish (config.ts defaults otherwise).
    appEnv: { PROVISION_RETRY_INTERVAL_MS: '2000', INTAKE_SWEEP_SECONDS: '2' },
  });
  log(`cluster up in ${secs(started, Date.now())}: ${[...cluster.procs.values()].filter((p) => p.running).map((p) => p.name).join(', ')}`);
  const database = await openDatabase({ url: cluster.urls.databaseUrl, poolSize: 4 });
  const connection = await Connection.connect({ address: cluster.urls.temporal });
  const temporal = new Client({ connection, namespace: 'default' });
  try {
    const { db } = database;
    const keys = cluster.demoKeys;
    if (!keys) throw new Error('the demo-data job printed no keys');
    const runId = newId('', 8);
    // A buyer with a balance no run spends; the checks hold its balance to this less what it paid.
    const buyerId = await createPrincipal(db, { role: 'buyer', name: 'Chaos buyer' });
    await topUp(db, { key: `top-up:${buyerId}:chaos`, buyerId, amountCents: TOP_UP });
    const applicantId = await createPrincipal(db, { role: 'buyer', name: 'Chaos applicant', email: 'applicant@chaos.example.com' });
    const client = new ChaosClient(cluster.urls.api);
    const load = new Load(client, {
      operator: keys.operator, skuId: keys.skuId,
      buyer: { id: buyerId, key: await issueApiKey(db, buyerId) }, applicant: { id: applicantId, key: await issueApiKey(db, applicantId) },
    }, runId);

    /** One order through the whole system: answered, then delivered, within two minutes. */
    const probe = async () => {
      const r = await load.order(true);
      const line = r.lines[0];
      if (r.outcome !== 'accepted' || !line) return false;
      for (const until = Date.now() + 120_000; Date.now() < until; await sleep(250)) {
        const [row] = await db.select({ status: orderLines.status }).from(orderLines).where(eq(orderLines.id, line)).catch(() => []);
        if (row && row.status !== 'processing') return row.status === 'delivered';
      }
      return false;
    };

    const until = Date.now() + o.minutes * 60_000;
    log(`load for ${o.minutes} min through ${cluster.urls.api.join(' and ')}; faults: ${FAULT_KINDS.join(', ')}`);
    const loadDone = load.run(until, o.concurrency ?? 4, o.pauseMs ?? 150);
    const faults = await runFaults({ cluster, until, gapMs: (o.gapSeconds ?? 15) * 1000, outageMs: [(o.outageSeconds?.[0] ?? 3) * 1000, (o.outageSeconds?.[1] ?? 8) * 1000], probe, log });
    await loadDone;
    log(`load stopped: ${load.orders.length} orders, ${load.apps.length} applications sent; waiting for accepted work to finish`);

    const settleUntil = Date.now() + (o.settleSeconds ?? 300) * 1000;
    const decided = load.apps.filter((a) => a.decision?.outcome === 'accepted' || a.decision?.outcome === 'accepted-earlier').map((a) => a.id);
    for (let s = await settled(db, buyerId, applicantId, decided); !s.done; s = await settled(db, buyerId, applicantId, decided)) {
      if (Date.now() > settleUntil) { log(`${s.waiting} items still unfinished after ${o.settleSeconds ?? 300} s`); break; }
      await sleep(1000);
    }
    // Visibility (the workflow lists) trails the histories by a moment.
    await sleep(3000);
    log('checking every record against the workflows');
    const { findings, figures } = await verify({
      db, temporal, load, buyerId, applicantId, topUpCents: TOP_UP,
      seller: { url: cluster.urls.seller!, accessKey: keys.sellerAccessKey },
    });
    // A process that died of someone else's fault (a killed PostgreSQL) and had to be started again is a finding too.
    const crashes = [...cluster.procs.values()].filter((p) => p.unexpectedExits > 0).map((p) => `${p.name} x${p.unexpectedExits}`);
    return report({ faults, load, client, findings, figures, crashes, minutes: o.minutes, apis: cluster.urls.api.length, workers: cluster.instances('worker').length });
  } finally {
    await connection.close().catch(() => undefined);
    await database.close().catch(() => undefined);
    if (o.keepData) await cluster.stop(); else { await cluster.destroy(); rmSync(dataDir, { recursive: true, force: true }); }
  }
}

function report(r: { faults: FaultRecord[]; load: Load; client: ChaosClient; findings: Finding[]; figures: Figures; crashes: string[]; minutes: number; apis: number; workers: number }): ChaosReport {
  const faults = r.faults.map((f) => ({ ...f, during: duringFault(f, r.client.log) }));
  const kindsMissing = FAULT_KINDS.filter((k) => !faults.some((f) => f.kind === k));
  const tally = (xs: { outcome: string }[]) => xs.reduce<Record<string, number>>((t, x) => ({ ...t, [x.outcome]: (t[x.outcome] ?? 0) + 1 }), {});
  const requests = {
    applications: tally(r.load.apps),
    decisions: tally(r.load.apps.flatMap((a) => (a.decision ? [a.decision] : []))),
    orders: tally(r.load.orders.filter((o) => !o.probe)),
    probes: tally(r.load.orders.filter((o) => o.probe)),
    attempts: tally(r.client.log.map((a) => ({ outcome: typeof a.outcome === 'number' ? `${Math.floor(a.outcome / 100)}xx${a.outcome === 503 ? ' (503)' : ''}` : a.outcome }))),
  };
  const counts = { lost: 0, duplicated: 0, stuck: 0, wrong: 0 };
  for (const f of r.findings) counts[f.kind]++;
  const unrecovered = faults.filter((f) => !f.recoveredAt);
  const ok = r.findings.length === 0 && kindsMissing.length === 0 && unrecovered.length === 0 && r.crashes.length === 0;
  const fmt = (t: Record<string, number>) => Object.entries(t).map(([k, v]) => `${v} ${k}`).join(', ') || 'none';
  const lines = [
    `chaos run: ${r.minutes} min of load through ${r.apis} API processes, ${r.workers} worker processes`,
    'faults (SIGKILL, down for the time shown, started again; "recovered" = a probe order placed after the restart was delivered):',
    ...faults.map((f, i) => `  ${String(i + 1).padStart(2)}. ${f.instance.padEnd(9)} down ${secs(0, f.outageMs).padStart(6)}  serving after ${secs(f.killedAt, f.servingAt).padStart(7)}  recovered after ${secs(f.killedAt, f.recoveredAt).padStart(7)}`
      + `  | during it: ${f.during.ok} accepted, ${f.during.s503} x 503, ${f.during.s5xx} other 5xx, ${f.during.refused} refused connections, ${f.during.reset} lost connections/timeouts${f.error ? `  ERROR: ${f.error}` : ''}`),
    `fault kinds missing: ${kindsMissing.join(', ') || 'none'}`,
    `processes that exited by themselves and were started again: ${r.crashes.join(', ') || 'none'}`,
    `requests (final outcome): applications ${fmt(requests.applications)}; decisions ${fmt(requests.decisions)}; orders ${fmt(requests.orders)}; probes ${fmt(requests.probes)}`,
    `HTTP attempts: ${fmt(requests.attempts)}`,
    `records: ${r.figures.ordersAccepted} orders accepted (+${r.figures.ordersUncertainButPlaced} placed by an attempt whose answer was lost), lines ${r.figures.linesDelivered} delivered / ${r.figures.linesRefunded} refunded, ${r.figures.subscriptionsChecked} subscriptions; `
      + `${r.figures.applicationsAccepted} applications accepted (+${r.figures.applicationsUncertainButOpened}), ${r.figures.decisionsRecorded} decisions recorded, ${r.figures.openWorkflowsChecked} open cases checked`,
    `lost ${counts.lost}, duplicated ${counts.duplicated}, stuck ${counts.stuck}, wrong ${counts.wrong}`,
    ...r.findings.slice(0, 40).map((f) => `  ${f.kind}: ${f.what}`),
    ...(r.findings.length > 40 ? [`  … and ${r.findings.length - 40} more`] : []),
    ok ? 'CHAOS OK: every fault kind, nothing lost, nothing duplicated, no process crashed' : 'CHAOS FAILED',
  ];
  return { ok, faults, kindsMissing, crashes: r.crashes, requests, figures: r.figures, findings: r.findings, counts, text: lines.join('\n') };
}
