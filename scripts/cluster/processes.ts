/**
 * One supervised OS process of the cluster: started in its own process group (so a kill reaches the
 * whole tree, e.g. tsx and its node child, or PostgreSQL and its backends), its output appended to a
 * log file, restarted after an unexpected exit as compose's `restart: unless-stopped` does, and held
 * down when someone kills it on purpose (the chaos test) until it is started again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

export interface ProcSpec {
  name: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  /** Runs to completion (a job); never restarted. */
  oneShot: boolean;
  /** Resolves true once the process serves (for a job: never called). */
  ready(proc: Proc): Promise<boolean>;
  /** Seconds between SIGTERM and SIGKILL on a clean stop. */
  graceSeconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Proc {
  child: ChildProcess | undefined;
  /** Output lines seen since the last start (bounded), for readiness markers and error reports. */
  recent: string[] = [];
  starts = 0;
  unexpectedExits = 0;
  private log: WriteStream;
  private held = false;
  private stopping = false;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(readonly spec: ProcSpec, private readonly onEvent: (line: string) => void) {
    mkdirSync(dirname(spec.logFile), { recursive: true });
    this.log = createWriteStream(spec.logFile, { flags: 'a' });
  }

  get name() { return this.spec.name; }
  get pid() { return this.child?.pid; }
  get running() { return !!this.child && this.child.exitCode === null && this.child.signalCode === null; }

  /** Starts the process (again); the restart policy applies from now on. */
  start(): void {
    if (this.running) return;
    this.held = false;
    this.stopping = false;
    this.recent = [];
    this.starts++;
    this.log.write(`\n---- ${new Date().toISOString()} start #${this.starts}: ${this.spec.argv.join(' ').slice(0, 300)}\n`);
    const child = spawn(this.spec.argv[0]!, this.spec.argv.slice(1), {
      cwd: this.spec.cwd, env: this.spec.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const take = (buf: Buffer) => {
      this.log.write(buf);
      for (const line of buf.toString().split('\n')) if (line) this.recent.push(line);
      if (this.recent.length > 400) this.recent.splice(0, this.recent.length - 400);
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => {
      child.once('error', (e) => { this.log.write(`spawn failed: ${e.message}\n`); resolve(-1); });
      child.once('exit', (code, signal) => {
        this.log.write(`---- ${new Date().toISOString()} exited (${signal ?? code})\n`);
        resolve(code);
        if (this.child !== child || this.spec.oneShot || this.held || this.stopping) return;
        this.unexpectedExits++;
        this.onEvent(`${this.name} exited unexpectedly (${signal ?? code}); restarting it`);
        void sleep(Math.min(10_000, 1000 * this.unexpectedExits)).then(() => { if (!this.held && !this.stopping && this.child === child) this.start(); });
      });
    });
  }

  /** Sends a signal to the whole process group; the process stays down until start(). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.held = true;
    this.signal(signal);
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.held = true;
    if (!this.running) return;
    this.signal('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(this.spec.graceSeconds * 1000).then(() => false)]);
    if (!done) { this.signal('SIGKILL'); await this.exited; }
  }

  /** Waits for a job's exit code. */
  wait(): Promise<number | null> { return this.exited; }

  /** Polls readiness until it holds or `seconds` pass; fails early when the process is gone. */
  async waitReady(seconds: number): Promise<void> {
    const until = Date.now() + seconds * 1000;
    for (;;) {
      if (this.running && (await this.spec.ready(this).catch(() => false))) return;
      if (!this.running && this.held) throw new Error(`${this.name} is stopped`);
      if (Date.now() > until) throw new Error(`${this.name} not ready after ${seconds} s; last output:\n${this.recent.slice(-15).join('\n')}`);
      await sleep(250);
    }
  }

  /** For a hard exit of the runner: no waiting, no restart. */
  killNow() {
    this.held = true;
    this.signal('SIGKILL');
  }

  close() { this.log.end(); }

  private signal(signal: NodeJS.Signals) {
    const pid = this.child?.pid;
    if (!pid || !this.running) return;
    try { process.kill(-pid, signal); } catch { /* already gone */ }
  }
}
