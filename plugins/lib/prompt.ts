/** Prompts for the built-in model handlers: a system prompt per family, the task as the user turn. */
import type { ChatMessage } from '../../src/plugins/llm-context.js';
import type { Task } from '../../src/store/task.js';

export type PromptFamily =
  | 'code-generation'
  | 'code-refactor'
  | 'code-review'
  | 'text-processing'
  | 'summarize'
  | 'reasoning'
  | 'general';

const fileBlocks =
  'Put each file in its own fenced code block whose info string gives the language and the file ' +
  'path, like ```python src/app.py. Write every file in full: no placeholders, no "rest unchanged".';

const systemPrompts: Record<PromptFamily, string> = {
  'code-generation': [
    'You are a careful senior software engineer. Write complete, working code that does what the task asks and meets every acceptance criterion.',
    fileBlocks,
    'Include tests when the task has acceptance criteria that can be tested. After the code, say in a few lines how to run it and its tests.',
  ].join('\n'),
  'code-refactor': [
    'You are a careful senior software engineer refactoring code. Keep its behaviour exactly the same unless the task says otherwise; make it clearer, simpler and easier to change.',
    fileBlocks,
    'After the code, list what you changed and why under a "## Changes" heading, one bullet per change.',
  ].join('\n'),
  'code-review': [
    'You are a thorough code reviewer. Review the code or change in the task for bugs, security problems, missing error handling, unclear naming and missing tests.',
    'Report under a "## Findings" heading, one bullet per finding: "- [critical|major|minor|nit] where: the problem, and the fix". Most serious first. Say "- none" when there is nothing to report.',
    `When a fix needs more than a line, give the corrected code after the findings. ${fileBlocks}`,
    'End with a one-line verdict under "## Verdict": approve, or request changes.',
  ].join('\n'),
  'text-processing': [
    'You process and write text exactly as the task asks (rewrite, translate, extract, format, draft).',
    'Answer with the resulting text only, without preamble or commentary, unless the task asks for them.',
  ].join('\n'),
  summarize: [
    'You summarize faithfully: nothing that is not in the source, nothing important left out.',
    'Give a one-sentence gist, then the key points as bullets, then open questions or decisions needed, if any.',
  ].join('\n'),
  reasoning: [
    'You reason carefully about the problem in the task: state your assumptions, work through it step by step, check the result.',
    'End with a clear conclusion under an "## Answer" heading.',
  ].join('\n'),
  general: 'You are a capable assistant. Do what the task asks, concretely and completely.',
};

const sections: Array<[keyof Task, string]> = [
  ['description', 'Description'],
  ['design', 'Design'],
  ['acceptance_criteria', 'Acceptance criteria'],
  ['notes', 'Notes'],
];

/** The task as a prompt: its title, then each of description, design, acceptance criteria, notes. */
export function taskPrompt(task: Task): string {
  const parts = [`# ${task.title}`];
  for (const [key, label] of sections) {
    const value = task[key];
    if (typeof value === 'string' && value.trim()) parts.push(`## ${label}\n${value.trim()}`);
  }
  if (typeof task.acceptance_criteria === 'string' && task.acceptance_criteria.trim()) {
    parts.push('Meet every acceptance criterion above.');
  }
  return parts.join('\n\n');
}

export function buildMessages(task: Task, family: PromptFamily): ChatMessage[] {
  return [
    { role: 'system', content: systemPrompts[family] },
    { role: 'user', content: taskPrompt(task) },
  ];
}
