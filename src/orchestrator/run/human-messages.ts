import { HumanMessage } from 'src/tasks';

/**
 * A turn's prompt with a person's messages ahead of it: what the person said, in the order they
 * said it, then what the run would have said (the task, or the simulated human's follow-up).
 */
export function promptWithMessages(prompt: string, messages: readonly HumanMessage[]): string {
  if (messages.length === 0) return prompt;
  const said = messages.map((m) => m.content).join('\n\n');
  return `A person following this task wrote to you:\n\n${said}\n\n---\n\n${prompt}`;
}
