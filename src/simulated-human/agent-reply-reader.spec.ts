import { AgentReplyReading, readAgentReply } from 'src/simulated-human/agent-reply-reader';

describe('readAgentReply', () => {
  it.each<[string | null, AgentReplyReading]>([
    ['Implemented multiply.\n\nDONE', 'done'],
    ['DONE.', 'done'],
    ['All good, should I also add docs? DONE', 'done'],
    ['I added multiply() to src/math.js and exported it.', 'done'],
    ['Which rounding mode do you want?', 'question'],
    ['I wrote the parser.\n\nShould I also add a CLI flag', 'question'],
    ['Let me know if you need anything else.', 'question'],
    ['Created the module. Next, I will wire it in.', 'stop_short'],
    ['Not yet implemented: the export.', 'stop_short'],
    ['', 'stop_short'],
    [null, 'stop_short'],
    ['The code is done and abandoned the old path.', 'done'],
  ])('%j reads as %s', (text, expected) => {
    expect(readAgentReply(text)).toBe(expected);
  });
});
