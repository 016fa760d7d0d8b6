/**
 * `npm run chaos -- [minutes]`: starts the cluster (docker-compose.yml's topology as local processes),
 * drives a mixed load through both API processes while it kills and restarts, one at a time, a worker,
 * an API process, the Temporal server and PostgreSQL, then checks every record against the workflows
 * (scripts/chaos/run.ts). Prints what it did and the figures; exits 1 unless nothing was lost or
 * duplicated and every kind of fault happened and was recovered from.
 */
import { runChaos } from './run';

const arg = process.argv[2];
const minutes = arg === undefined ? 5 : Number(arg);
if (!Number.isFinite(minutes) || minutes <= 0 || minutes > 240) {
  console.error('usage: npm run chaos -- [minutes (default 5)]');
  process.exit(2);
}
// Ctrl-C or a kill: exit through process.exit, whose handler kills the cluster's processes (their own process groups).
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
const report = await runChaos({ minutes, keepData: process.env.CHAOS_KEEP_DATA === '1' }).catch((e: unknown) => {
  console.error(`chaos run failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  process.exit(1);
});
console.log(`\n${report.text}`);
process.exit(report.ok ? 0 : 1);
