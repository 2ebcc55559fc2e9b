import { describe, expect, it } from 'vitest';
import { escapeXml } from '../../src/observe/charts/svg.js';
import { type Timeline, timelineSvg } from '../../src/observe/charts/timeline-svg.js';
import { kindLetters, timelineText } from '../../src/observe/charts/timeline-text.js';

const run: Timeline = {
  title: 'async: 1.00 s',
  lanes: ['a/0', 'a/1'],
  items: [
    { lane: 'a/0', start: 0, end: 500, label: 'first', kind: 'reasoning' },
    { lane: 'a/0', start: 500, end: 1000, label: 'second', kind: 'code' },
    { lane: 'a/1', start: 0, end: 250, label: 'third', kind: 'code' },
  ],
};

const rects = (svg: string) =>
  [...svg.matchAll(/<rect class="task"[^>]*? width="([\d.]+)"/g)].map((m) => Number(m[1]));

describe('timelineSvg', () => {
  it('draws one rect per item, in one panel per run, and escapes every text', () => {
    const hostile: Timeline = {
      title: 'run <1> & "2"',
      lanes: ["h'<0>"],
      items: [{ lane: "h'<0>", start: 0, end: 10, label: '</title><script>x</script>', kind: 'a&b' }],
    };
    const svg = timelineSvg([run, hostile], { title: 'a < b' });
    expect(svg.match(/<g class="panel">/g)).toHaveLength(2);
    expect(rects(svg)).toHaveLength(4);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&lt;/title&gt;&lt;script&gt;x&lt;/script&gt;');
    expect(svg).toContain('run &lt;1&gt; &amp; &quot;2&quot;');
    expect(svg).toContain('h&#39;&lt;0&gt;');
    expect(svg).toContain('data-kind="a&amp;b"');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&#39;');
  });

  it('puts every panel on one time scale: half the time is half the width in either', () => {
    const shorter: Timeline = {
      lanes: ['a/0'],
      items: [{ lane: 'a/0', start: 0, end: 500, label: 'x', kind: 'code' }],
    };
    const [first, second, third, alone] = rects(timelineSvg([run, shorter]));
    expect(first).toBeCloseTo(second!, 0);
    expect(third).toBeCloseTo(first! / 2, 0);
    expect(alone).toBeCloseTo(first!, 0);
  });

  it('cuts a long lane name to the label column, keeping the whole name as its tooltip', () => {
    const lane = 'a-host-with-a-very-long-name/0';
    const svg = timelineSvg([{ lanes: [lane], items: [] }]);
    expect(svg).toContain(`>a-host-with-a-very-long…<title>${lane}</title></text>`);
  });

  it('leaves out an item whose lane is not listed, and draws an empty run without failing', () => {
    const stray: Timeline = {
      lanes: ['a/0'],
      items: [{ lane: 'b/0', start: 0, end: 5, label: 'x', kind: 'k' }],
    };
    expect(rects(timelineSvg([stray]))).toHaveLength(0);
    expect(timelineSvg([{ lanes: [], items: [] }])).toContain('</svg>');
  });
});

describe('timelineText', () => {
  it('is one row per lane, fitted to the width, each item starting with its kind letter; colour only when asked', () => {
    const text = timelineText([run], { width: 60, colour: false });
    const rows = text.split('\n').filter((l) => l.includes('|'));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toHaveLength(60);
    expect(rows[0]).toMatch(/^a\/0 +\|r=+c=+\|$/);
    expect(rows[1]).toMatch(/^a\/1 +\|c=+ +\|$/);
    expect(text).not.toContain('\u001b[');
    expect(text).toContain('c code   r reasoning');
    expect(timelineText([run], { width: 60, colour: true })).toContain('\u001b[');
  });

  it('gives each task a cell of its own, however short: the letters count the tasks', () => {
    const tiny: Timeline = {
      lanes: ['a/0', 'b/0'],
      items: [
        ...[0, 10, 20, 30, 40].map((start) => ({
          lane: 'a/0',
          start,
          end: start + 10,
          label: 'x',
          kind: 'code',
        })),
        { lane: 'b/0', start: 0, end: 100_000, label: 'long', kind: 'reasoning' },
      ],
    };
    const row = timelineText([tiny], { width: 60, colour: false })
      .split('\n')
      .find((l) => l.startsWith('a/0'))!;
    expect(row).toMatch(/^a\/0 +\|ccccc +\|$/);
  });

  it('gives kinds that share a first letter distinct letters', () => {
    expect([...kindLetters(['code-generation', 'code-review', 'text']).values()]).toEqual(['c', 'o', 't']);
  });
});
