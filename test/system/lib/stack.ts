/**
 * One scenario's world: a temp root with a log dir, Henrik's state dir and Daniel's data
 * dir; Daniel; optionally a fault front and a TCP proxy in front of it (Henrik talks to the
 * outermost one, so its URL survives Daniel's restarts). `useSystemHooks()` makes sure
 * every child dies and every port closes after each test, failed or not.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, expect } from 'vitest';
import { summary, type Api, type Verdict } from './checker.js';
import { FaultFront } from './fault-front.js';
import {
  killAllChildren,
  makeTempDir,
  removeTempDirs,
  startDanielChild,
  startHenrik,
  takeSpawnedChildren,
  type Child,
  type Daniel,
  type HenrikOptions,
} from '../../lib/processes.js';
import { TcpProxy } from './tcp-proxy.js';

const cleanups: Array<() => Promise<void>> = [];

export function useSystemHooks(): void {
  afterEach(async (context) => {
    const children = takeSpawnedChildren();
    if (context.task.result?.state === 'fail') {
      for (const child of children) console.error(`--- ${child.name} (pid ${child.pid}) last output:\n${child.tail(60)}`);
    }
    await killAllChildren();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  afterAll(() => removeTempDirs());
}

export interface StackOptions {
  name: string;
  /** Put an HTTP front that can answer 503/429 in front of Daniel. */
  front?: boolean;
  /** Put a TCP proxy in front (of the front, when both). */
  proxy?: boolean;
  danielArgs?: string[];
}

export class Stack implements Api {
  readonly root: string;
  readonly logDir: string;
  readonly stateDir: string;
  readonly dataDir: string;
  readonly host: string;
  daniel!: Daniel;
  front: FaultFront | undefined;
  proxy: TcpProxy | undefined;

  private constructor(private readonly options: StackOptions) {
    this.root = makeTempDir(options.name);
    this.logDir = join(this.root, 'logs');
    this.stateDir = join(this.root, 'henrik-state');
    this.dataDir = join(this.root, 'data');
    for (const dir of [this.logDir, this.stateDir, this.dataDir]) mkdirSync(dir, { recursive: true });
    this.host = `sys-${options.name}`;
  }

  static async start(options: StackOptions): Promise<Stack> {
    const stack = new Stack(options);
    await stack.startDaniel();
    if (options.front) {
      const front = await FaultFront.start(stack.daniel.port);
      stack.front = front;
      cleanups.push(() => front.close());
    }
    if (options.proxy) {
      const proxy = await TcpProxy.start(stack.front?.port ?? stack.daniel.port);
      stack.proxy = proxy;
      cleanups.push(() => proxy.close());
    }
    return stack;
  }

  /** Daniel's own URL: what the checker reads from. */
  get url(): string {
    return this.daniel.url;
  }

  /** What Henrik is pointed at: the outermost of proxy, front, Daniel. */
  get serverUrl(): string {
    return this.proxy?.url ?? this.front?.url ?? this.daniel.url;
  }

  logPath(name: string): string {
    return join(this.logDir, name);
  }

  async startDaniel(): Promise<Daniel> {
    this.daniel = await startDanielChild({ dataDir: this.dataDir, extraArgs: this.options.danielArgs });
    // Whatever sits in front follows Daniel to its new port.
    if (this.front) this.front.targetPort = this.daniel.port;
    else if (this.proxy) this.proxy.targetPort = this.daniel.port;
    return this.daniel;
  }

  startHenrik(options: Partial<HenrikOptions> = {}): Child {
    return startHenrik({
      server: this.serverUrl,
      host: this.host,
      stateDir: this.stateDir,
      paths: [join(this.logDir, '*.log')],
      ...options,
    });
  }
}

/** The end of every scenario: each line exactly once, in file order, and nothing else. */
export function expectExactlyOnce(name: string, verdict: Verdict): void {
  const line = summary(name, verdict);
  console.log(line);
  expect(verdict, line).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, foreign: 0 });
  expect(verdict.expected, line).toBeGreaterThan(0);
}
