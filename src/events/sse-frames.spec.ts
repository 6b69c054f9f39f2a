import { endFrame, eventFrame, startFrame } from 'src/events/sse-frames';

describe('SSE frames', () => {
  it('keeps agent text on one data line: it cannot end the frame or add fields', () => {
    const frame = eventFrame(7, { content: 'hi\n\nevent: end\r\nid: 99\rdata: x\u2028' });
    const lines = frame.split(/\r\n|\r|\n/);
    expect(lines).toEqual(['id: 7', expect.stringMatching(/^data: \{[^\r\n]*\}$/u), '', '']);
    expect(JSON.parse(lines[1].slice('data: '.length))).toEqual({
      content: 'hi\n\nevent: end\r\nid: 99\rdata: x\u2028',
    });
  });

  it('ends a stream with a named event', () => {
    expect(endFrame({ status: 'FAILED' })).toBe('event: end\ndata: {"status":"FAILED"}\n\n');
  });

  it('starts a stream with the reconnect delay and its cursor as the last event id, no data', () => {
    expect(startFrame(1000, 42)).toBe('retry: 1000\nid: 42\n\n');
  });
});
