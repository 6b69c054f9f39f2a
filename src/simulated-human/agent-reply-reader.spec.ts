import { AgentReplyReading, readAgentReply } from 'src/simulated-human/agent-reply-reader';

describe('readAgentReply', () => {
  it.each<[string | null, AgentReplyReading]>([
    ['Implemented multiply.\n\nDONE', 'done'],
    ['DONE', 'done'],
    ['DONE.', 'done'],
    ['Implemented it.\n**DONE**', 'done'],
    ['All good, should I also add docs?\n  DONE  ', 'done'],
    ['Which rounding mode do you want?', 'question'],
    ['I wrote the parser.\n\nShould I also add a CLI flag', 'question'],
    ['Let me know if you need anything else.', 'question'],
    ['The change is not DONE yet.', 'stop_short'],
    ['DONE: the requested change is implemented.', 'stop_short'],
    ['All good, should I also add docs? DONE', 'question'],
    ['I changed nothing yet: the spec is ambiguous. Should I treat the task as\nDONE?', 'question'],
    ['Is the task\nDONE?', 'question'],
    ['~~DONE~~ I found another failing case.', 'stop_short'],
    ['Not finished after all:\n~~DONE~~', 'stop_short'],
    ['The Bash tool failed, I could not finish the change.', 'stop_short'],
    ['I added multiply() to src/math.js and exported it.', 'stop_short'],
    ['Created the module. Next, I will wire it in.', 'stop_short'],
    ['The code is done and abandoned the old path.', 'stop_short'],
    ['Done with the parser:\n```\nDONE\n```\nstill to do: the CLI.', 'stop_short'],
    ['~~~\nDONE\n~~~', 'stop_short'],
    ['```\necho DONE\n```\nDONE', 'done'],
    ['You told me:\n> DONE\nbut I have not finished.', 'stop_short'],
    ['Remaining steps:\n- DONE\n- implement parser', 'stop_short'],
    ['* DONE\n* tests', 'stop_short'],
    ['- [ ] DONE', 'stop_short'],
    ['- [x] DONE', 'stop_short'],
    ['1. DONE', 'stop_short'],
    ['❌ DONE', 'stop_short'],
    ['Tests pass.\n✅ DONE', 'done'],
    ['Implemented it.\n* **DONE**', 'stop_short'],
    ['', 'stop_short'],
    [null, 'stop_short'],
  ])('%j reads as %s', (text, expected) => {
    expect(readAgentReply(text)).toBe(expected);
  });
});
