import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, errorLine, temporalLogger } from '../../logging';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, done) { lines.push(...chunk.toString().split('\n').filter(Boolean)); done(); } });
  return { lines, stream };
}

describe('log format', () => {
  it('is one JSON object per line in production, with secrets redacted', () => {
    const { lines, stream } = sink();
    createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, stream).info({ req: { authorization: 'Bearer mk_secret' } }, 'hello');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ msg: 'hello', level: 30, req: { authorization: '[Redacted]' } });
  });

  it('is one readable line per event with LOG_FORMAT=pretty', () => {
    const { lines, stream } = sink();
    const log = createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'pretty' }, stream);
    log.info({ taskQueue: 'marketplace', orderId: 'CS1' }, 'worker running');
    log.debug('not shown at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: worker running \{"orderId":"CS1"\}$/);
  });

  it('cuts an error to its message and causes', () => {
    const e = new Error('outer', { cause: Object.assign(new Error('inner'), { type: 'SellerDown' }) });
    expect(errorLine(e)).toBe('Error: outer ← SellerDown: inner');
    expect(errorLine('plain')).toBe('plain');
  });

  it('keeps the SDK\'s worker-state chatter for debug and passes its warnings on', () => {
    const { lines, stream } = sink();
    const t = temporalLogger(createLogger({ LOG_LEVEL: 'info', LOG_FORMAT: 'json' }, stream));
    t.info('Worker state changed', { sdkComponent: 'worker', state: 'RUNNING' });
    t.warn('Workflow task failed', { sdkComponent: 'worker', workflowId: 'w-1', error: new Error('boom') });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'Workflow task failed: Error: boom', workflowId: 'w-1', temporal: 'worker' });
    expect(lines[0]).not.toContain('stack');
  });
});
