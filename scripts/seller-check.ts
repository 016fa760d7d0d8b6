/**
 * `npm run seller:check -- --url URL --key-id ID --access-key KEY`: runs the seller conformance kit
 * against a production interface and prints a table; --json and --junit write the reports. Exit
 * code 0 when no check failed, 1 when one did, 2 for a usage error. The access key may come from
 * SELLER_CHECK_ACCESS_KEY instead, to keep it out of shell history.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { exitCode, toJUnit, toTable } from '../conformance/report';
import { runConformance } from '../conformance/run';

const USAGE = `usage: npm run seller:check -- --url URL --key-id ID --access-key KEY [options]

  --url URL              the production interface address, e.g. https://saas.example.com/saasproduce
  --key-id ID            the key id of the access key (shown in the report)
  --access-key KEY       the access key (or set SELLER_CHECK_ACCESS_KEY)
  --timeout-ms MS        the marketplace's call timeout (default 5000)
  --poll-window-ms MS    how long an instance answered 000004 may take to become ready (default 120000)
  --poll-interval-ms MS  how often it is polled with queryInstance (default 2000)
  --one-time             a one-time product: no refreshInstance / updateInstanceStatus checks
  --json FILE            write the JSON report (- for standard output)
  --junit FILE           write JUnit XML for a CI
  --quiet                print only the summary line
`;

const ms = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const schema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  'key-id': z.string().min(1).max(128),
  'access-key': z.string().min(1, 'is required (or SELLER_CHECK_ACCESS_KEY)').max(256),
  'timeout-ms': ms(100, 60_000).default(5000),
  'poll-window-ms': ms(0, 3 * 3_600_000).default(120_000),
  'poll-interval-ms': ms(10, 600_000).default(2000),
  'one-time': z.boolean().default(false),
  json: z.string().min(1).optional(),
  junit: z.string().min(1).optional(),
  quiet: z.boolean().default(false),
});

function usage(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  process.exit(2);
}

let raw: Record<string, unknown>;
try {
  const str = { type: 'string' } as const;
  const flag = { type: 'boolean' } as const;
  raw = parseArgs({
    args: process.argv.slice(2), strict: true, allowPositionals: false,
    options: { url: str, 'key-id': str, 'access-key': str, 'timeout-ms': str, 'poll-window-ms': str, 'poll-interval-ms': str, 'one-time': flag, json: str, junit: str, quiet: flag, help: flag },
  }).values;
} catch (e) {
  usage((e as Error).message);
}
if (raw.help) {
  console.log(USAGE);
  process.exit(0);
}
const parsed = schema.safeParse({ ...raw, 'access-key': raw['access-key'] ?? process.env.SELLER_CHECK_ACCESS_KEY ?? '' });
if (!parsed.success) usage(parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n'));
const a = parsed.data;

const report = await runConformance({ url: a.url, keyId: a['key-id'], accessKey: a['access-key'] }, {
  timeoutMs: a['timeout-ms'], pollWindowMs: a['poll-window-ms'], pollIntervalMs: a['poll-interval-ms'], periodic: !a['one-time'],
});
const text = toTable(report, process.stdout.columns || 110);
if (a.json === '-') console.log(JSON.stringify(report, null, 2));
else {
  console.log(a.quiet ? text.split('\n').find((l) => / passed, /.test(l)) : text);
  if (a.json) writeFileSync(a.json, JSON.stringify(report, null, 2));
}
if (a.junit) writeFileSync(a.junit, toJUnit(report));
process.exit(exitCode(report));
