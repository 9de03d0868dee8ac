import { describe, expect, it } from 'vitest';
import { ConfigError, resolveAgentConfig } from '../config.js';

const env = { HENRIK_TOKEN: 'T' };
const withConfig = (yaml: string) => (flags: Parameters<typeof resolveAgentConfig>[0] = {}) =>
  resolveAgentConfig({ ...flags, config: 'h.yaml' }, [], env, () => yaml);

describe('journal and stdin settings', () => {
  it('--journal, --journal-dir and the config journald source, with unit and priority filters', () => {
    expect(resolveAgentConfig({ journal: true, journalDir: ['/mnt/j'] }, [], env).journal).toEqual([{}, { directory: '/mnt/j' }]);
    const options = withConfig('journald:\n  - units: [nginx.service, "pg*"]\n    priority: error\n  - directory: /x\n    priority: err..warn\n')();
    expect(options.journal).toEqual([{ units: ['nginx.service', 'pg*'], priority: 'err' }, { directory: '/x', priority: 'err..warning' }]);
    expect(withConfig('journald: true\n')().journal).toEqual([{}]);
    expect(withConfig('journald: {priority: 4}\n')().journal).toEqual([{ priority: '4' }]);
    expect(options.sources).toEqual([]);
  });

  it('refuses what journalctl would not take, a journal named twice, and --name without --stdin', () => {
    expect(() => withConfig('journald: {priority: loud}\n')()).toThrow(/must be a priority/);
    expect(() => withConfig('journald: {units: ["--all"]}\n')()).toThrow(ConfigError);
    expect(() => withConfig('journald: {unit: a}\n')()).toThrow(/unknown setting 'unit'/);
    expect(() => withConfig('journald: true\n')({ journal: true })).toThrow(/named twice/);
    expect(() => resolveAgentConfig({ name: 'app' }, ['/x.log'], env)).toThrow(/pass --stdin too/);
    expect(() => resolveAgentConfig({}, [], env)).toThrow(/nothing to watch: .*--journal/);
    expect(resolveAgentConfig({ stdin: true, name: 'app' }, [], env).stdin).toEqual({ name: 'app' });
    expect(resolveAgentConfig({ stdin: true }, [], env).stdin).toEqual({ name: 'stdin' });
  });
});
