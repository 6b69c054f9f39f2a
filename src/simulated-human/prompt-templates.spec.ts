import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DomainError } from 'src/common';
import {
  DEFAULT_PROMPT_TEMPLATES,
  loadPromptTemplates,
  placeholdersOf,
  PromptTemplateKey,
  renderTemplate,
  TEMPLATE_PLACEHOLDERS,
  validateTemplateOverrides,
} from 'src/simulated-human/prompt-templates';

describe('prompt templates', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cta-templates-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (content: string): string => {
    const file = join(dir, 'templates.json');
    writeFileSync(file, content);
    return file;
  };

  it('defaults satisfy their own placeholder rules', () => {
    expect(validateTemplateOverrides(DEFAULT_PROMPT_TEMPLATES)).toEqual([]);
    for (const key of Object.keys(TEMPLATE_PLACEHOLDERS) as PromptTemplateKey[]) {
      expect(typeof DEFAULT_PROMPT_TEMPLATES[key]).toBe('string');
    }
  });

  it('the first-turn prompt carries the task and the ground rules', () => {
    const text = renderTemplate(DEFAULT_PROMPT_TEMPLATES.firstTurn, {
      taskDescription: 'Create a calculator function',
      projectPath: '/tmp/p',
    });
    expect(text).toContain('Create a calculator function');
    expect(text).toContain('/tmp/p');
    expect(text).toMatch(/do not read or change files outside it/);
    expect(text).toMatch(/conventions/);
    expect(text).toMatch(/DONE/);
  });

  it("the answer to a question leaves irreversible, destructive or outside actions out of the agent's own judgement", () => {
    const text = renderTemplate(DEFAULT_PROMPT_TEMPLATES.answerQuestion, {
      question: 'Should I drop the users table?',
    });
    expect(text).toContain('Should I drop the users table?');
    expect(text).toMatch(/Do not take irreversible or destructive actions/);
    expect(text).toMatch(/outside this project/);
    expect(text).toMatch(/DONE/);
  });

  it('returns the defaults without a file', () => {
    expect(loadPromptTemplates(undefined)).toEqual(DEFAULT_PROMPT_TEMPLATES);
  });

  it('overrides only the keys in the file', () => {
    const file = write(JSON.stringify({ encourage: 'Keep at it, turn {{iteration}}.' }));
    const templates = loadPromptTemplates(file);
    expect(templates.encourage).toBe('Keep at it, turn {{iteration}}.');
    expect(templates.firstTurn).toBe(DEFAULT_PROMPT_TEMPLATES.firstTurn);
  });

  it.each([
    ['unknown key', { encouragement: 'x' }, /unknown template "encouragement"/],
    [
      'missing required placeholder',
      { answerQuestion: 'Just decide.' },
      /"answerQuestion" must contain \{\{question\}\}/,
    ],
    ['unknown placeholder', { encourage: 'Go {{nmae}}' }, /unknown placeholder \{\{nmae\}\}/],
    ['non-string value', { encourage: 3 }, /"encourage" must be a non-empty string/],
    ['not an object', ['a'], /must be a JSON object/],
  ])('rejects %s with a clear error', (_name, content, message) => {
    const file = write(JSON.stringify(content));
    expect(() => loadPromptTemplates(file)).toThrow(DomainError);
    expect(() => loadPromptTemplates(file)).toThrow(message);
  });

  it('rejects a file that is not JSON, naming the file', () => {
    const file = write('{ not json');
    expect(() => loadPromptTemplates(file)).toThrow(new RegExp(`${file}: cannot read JSON`));
  });

  it('rejects a missing file', () => {
    expect(() => loadPromptTemplates(join(dir, 'nope.json'))).toThrow(/cannot read JSON/);
  });

  it('renders in one pass and lists placeholders', () => {
    expect(placeholdersOf('a {{x}} b {{ y }} {{x}}')).toEqual(['x', 'y']);
    expect(renderTemplate('[{{a}}|{{b}}]', { a: '{{b}}', b: 2 })).toBe('[{{b}}|2]');
    expect(renderTemplate('[{{missing}}]', {})).toBe('[]');
  });
});
