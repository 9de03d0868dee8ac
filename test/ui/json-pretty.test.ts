import { describe, expect, it } from 'vitest';
import { prettyJson } from '../../ui/json-pretty.js';

describe('pretty JSON of an entry', () => {
  it('indents objects and arrays, keeping every value as written', () => {
    expect(prettyJson('{"a":1e400,"b":{"c":[1,2],"d":{}},"e":"x, y: {z}","n":12345678901234567890}')).toBe(
      '{\n  "a": 1e400,\n  "b": {\n    "c": [\n      1,\n      2\n    ],\n    "d": {}\n  },\n  "e": "x, y: {z}",\n  "n": 12345678901234567890\n}',
    );
    expect(prettyJson('{"q":"say \\"hi\\", then [go]"}')).toBe('{\n  "q": "say \\"hi\\", then [go]"\n}');
  });

  it('leaves lines that are not JSON objects alone', () => {
    expect(prettyJson('level=info msg=hi')).toBeUndefined();
    expect(prettyJson('{"broken": ')).toBeUndefined();
    expect(prettyJson('"just a string"')).toBeUndefined();
  });
});
