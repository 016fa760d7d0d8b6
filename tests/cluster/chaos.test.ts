import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos/run';

/**
 * CI's chaos run (scripts/test.sh runs this project after the others): the cluster of
 * docker-compose.yml as local processes, a mixed load through both API processes, and a SIGKILL of
 * a worker, an API process, the Temporal server and PostgreSQL, each restarted. `npm run chaos`
 * runs the same for longer.
 */
const minutes = Number(process.env.CHAOS_MINUTES ?? 3);

describe('the cluster under chaos', () => {
  it(`loses and duplicates nothing while a worker, an API, the Temporal server and PostgreSQL are killed (${minutes} min of load)`, async () => {
    // Straight to stdout: vitest keeps console output of passing tests out of the log, and this belongs in it.
    const report = await runChaos({ minutes, gapSeconds: 8, log: (l) => process.stdout.write(`[chaos] ${l}\n`) });
    process.stdout.write(`${report.text}\n`);
    expect(report.kindsMissing).toEqual([]);
    expect(report.faults.filter((f) => !f.recoveredAt).map((f) => `${f.instance}: ${f.error}`)).toEqual([]);
    expect(report.findings).toEqual([]);
    // Only the killed process goes down: a PostgreSQL crash must not take the API or the workers with it.
    expect(report.crashes).toEqual([]);
    expect(report.counts).toEqual({ lost: 0, duplicated: 0, stuck: 0, wrong: 0 });
    // The load really ran: requests were accepted before, during and after the faults.
    expect(report.figures!.ordersAccepted).toBeGreaterThan(20);
    expect(report.figures!.decisionsRecorded).toBeGreaterThan(5);
  }, (minutes + 25) * 60_000);
});
