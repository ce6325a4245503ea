// anthropic-mapping.ts: a Messages body → the chat body the gateway serves, or the refusal naming the field.
import { describe, expect, it } from 'vitest';
import { anthropicErrorType, chatBodyOf } from './anthropic-mapping.js';
import type { MessagesBody } from './anthropic-schemas.js';

const base = (over: Partial<MessagesBody> = {}): MessagesBody => ({ model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], ...over });

describe('chatBodyOf', () => {
  it('maps system, sampling, stop_sequences, metadata.user_id, tools and each tool_choice', () => {
    const tools = [{ name: 'f', description: 'd', input_schema: { type: 'object' } }];
    const c = chatBodyOf(base({ system: [{ type: 'text', text: 'be ' }, { type: 'text', text: 'brief' }], temperature: 0.2, top_p: 0.9, stop_sequences: ['END'], stream: true, metadata: { user_id: 'u' }, tools, tool_choice: { type: 'any' } }));
    expect(c).toEqual({
      model: 'm', max_tokens: 16, temperature: 0.2, top_p: 0.9, stop: ['END'], stream: true, user: 'u',
      messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }],
      tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } }],
      tool_choice: 'required',
    });
    expect(chatBodyOf(base({ tools, tool_choice: { type: 'tool', name: 'f' } }))).toMatchObject({ tool_choice: { type: 'function', function: { name: 'f' } } });
    expect(chatBodyOf(base({ tools, tool_choice: { type: 'auto' } }))).toMatchObject({ tool_choice: 'auto' });
    expect(chatBodyOf(base({ tools, tool_choice: { type: 'none' } }))).toMatchObject({ tool_choice: 'none' });
  });

  it('tool_use → assistant tool_calls; tool_result → tool messages before the user text (is_error prefixed)', () => {
    const c = chatBodyOf(base({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } }, { type: 'tool_use', id: 't2', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'text', text: 'and?' }, { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: '42' }] }, { type: 'tool_result', tool_use_id: 't2', content: 'boom', is_error: true }] },
      ],
    }));
    expect(c).toMatchObject({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }, { id: 't2', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: '42' },
        { role: 'tool', tool_call_id: 't2', content: 'Error: boom' },
        { role: 'user', content: 'and?' },
      ],
    });
  });

  it('refuses by name what it does not serve', () => {
    const cases: [Partial<MessagesBody>, string, string][] = [
      [{ top_k: 5 }, 'unsupported_parameter', 'top_k'],
      [{ thinking: { type: 'enabled', budget_tokens: 1024 } }, 'unsupported_parameter', 'thinking'],
      [{ mcp_servers: [{ url: 'x' }] }, 'unsupported_parameter', 'mcp_servers'],
      [{ tools: [{ type: 'bash_20250124', name: 'bash' }] }, 'unsupported_parameter', 'tools[0]'],
      [{ tools: [{ name: 'f' }] }, 'invalid_request', 'tools[0].input_schema'],
      [{ tools: [{ name: 'f', input_schema: {} }], tool_choice: { type: 'auto', disable_parallel_tool_use: false } }, 'unsupported_parameter', 'tool_choice.disable_parallel_tool_use'],
      [{ messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] }, 'unsupported_content', 'messages[0].content[0]'],
      [{ messages: [{ role: 'user', content: [{ type: 'tool_use', id: 'x', name: 'f', input: {} }] }] }, 'unsupported_content', 'messages[0].content[0]'],
      [{ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: [{ type: 'image' }] }] }] }, 'unsupported_content', 'messages[0].content[0].content[0]'],
      [{ messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'x', content: [null as never] }] }] }, 'unsupported_content', 'messages[0].content[0].content[0]'],
      [{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: [{ type: 'thinking', thinking: 'hm' }] }, { role: 'user', content: 'b' }] }, 'unsupported_content', 'messages[1].content[0]'],
      [{ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'The answer is' }] }, 'unsupported_parameter', 'messages[1]'],
      [{ system: [{ type: 'image' }] }, 'unsupported_content', 'system[0]'],
    ];
    for (const [over, code, param] of cases) expect(chatBodyOf(base(over)), param).toMatchObject({ code, param });
  });

  it('Anthropic error types by status', () => {
    expect([400, 401, 403, 404, 413, 429, 500, 503, 504].map(anthropicErrorType)).toEqual([
      'invalid_request_error', 'authentication_error', 'permission_error', 'not_found_error', 'request_too_large', 'rate_limit_error', 'api_error', 'overloaded_error', 'timeout_error',
    ]);
  });
});
