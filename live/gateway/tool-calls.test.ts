import { describe, expect, it } from 'vitest';
import { callPrefix, parseToolCall, ToolCallStream, type StreamPiece } from './tool-calls.js';

const NAMES = ['get_weather', 'add'];
const CALL = '{"name":"add","arguments":{"a":1,"b":-2}}';

function run(pieces: string[]): { content: string; name: string; args: string; starts: number; isCall: boolean } {
  const s = new ToolCallStream(NAMES, 'call_x');
  const out: StreamPiece[] = [];
  for (const p of pieces) out.push(...s.push(p));
  out.push(...s.end());
  let content = '';
  let name = '';
  let args = '';
  let starts = 0;
  for (const p of out) {
    if (p.kind === 'content') content += p.text;
    else if (p.kind === 'callStart') {
      starts++;
      name += p.call.function.name;
      expect(p.call).toMatchObject({ id: 'call_x', type: 'function', function: { arguments: '' } });
    } else args += p.text;
  }
  return { content, name, args, starts, isCall: s.isCall };
}

describe('tool calls: the call format parsed and streamed', () => {
  it('parses a whole call of a known tool, nothing else', () => {
    expect(parseToolCall(CALL, NAMES, 'c1')).toEqual({ id: 'c1', type: 'function', function: { name: 'add', arguments: '{"a":1,"b":-2}' } });
    expect(parseToolCall('{"name":"nope","arguments":{}}', NAMES, 'c')).toBeUndefined();
    expect(parseToolCall('{"name":"add","arguments":{},"x":1}', NAMES, 'c')).toBeUndefined();
    expect(parseToolCall('{"name":"add","arguments":{"a":', NAMES, 'c')).toBeUndefined();
    expect(parseToolCall('hello', NAMES, 'c')).toBeUndefined();
    expect(parseToolCall('{"name":"add","arguments":[1]}', NAMES, 'c')).toBeUndefined();
  });

  it('knows a call prefix as soon as it can', () => {
    expect(callPrefix('{"na', NAMES)).toBe('maybe');
    expect(callPrefix('{"name":"ad', NAMES)).toBe('maybe');
    expect(callPrefix('{"name":"zz', NAMES)).toBe('no');
    expect(callPrefix('{"name":"add","argu', NAMES)).toBe('maybe');
    expect(callPrefix('{"name":"add","arguments":', NAMES)).toEqual({ name: 'add', argsAt: 26 });
    expect(callPrefix('Hello', NAMES)).toBe('no');
  });

  it('streams a call token by token: one start with the name, then the arguments (the closing brace held)', () => {
    for (const cut of [1, 3, 7]) {
      const pieces: string[] = [];
      for (let i = 0; i < CALL.length; i += cut) pieces.push(CALL.slice(i, i + cut));
      const r = run(pieces);
      expect(r).toMatchObject({ content: '', name: 'add', args: '{"a":1,"b":-2}', starts: 1, isCall: true });
    }
  });

  it('text (or JSON that is not a call) streams as content, held text included', () => {
    expect(run(['He', 'llo ', 'there'])).toMatchObject({ content: 'Hello there', starts: 0, isCall: false });
    expect(run(['{"na', 'me":"zz"}'])).toMatchObject({ content: '{"name":"zz"}', starts: 0, isCall: false });
    expect(run(['{"n'])).toMatchObject({ content: '{"n', starts: 0, isCall: false });
  });

  it('a call cut short (max_tokens) sends all the arguments there are', () => {
    expect(run(['{"name":"add","arguments":{"a":1'])).toMatchObject({ args: '{"a":1', starts: 1, isCall: true });
  });
});
