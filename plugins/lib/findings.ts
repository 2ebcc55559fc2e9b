/** Review findings: the list items under a "Findings" heading (else every top-level list item). */

const heading = /^\s{0,3}(#{1,6}\s*|\*\*)\s*(findings|issues|problems)\b/i;
const anyHeading = /^\s{0,3}(#{1,6}\s|\*\*[^*]+\*\*\s*:?\s*$)/;
const listItem = /^\s{0,3}(?:[-*+]|\d+[.)])\s+(.*)$/;
const fence = /^\s{0,3}(`{3,}|~{3,})/;

const maxFindings = 50;
const maxFindingChars = 500;

export function extractFindings(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const prose: string[] = [];
  let inFence = false;
  for (const line of lines) {
    if (fence.test(line)) inFence = !inFence;
    else if (!inFence) prose.push(line);
  }
  const start = prose.findIndex((line) => heading.test(line));
  const section = start < 0 ? prose : sectionAfter(prose, start);
  const items: string[] = [];
  for (const line of section) {
    const item = listItem.exec(line);
    if (item?.[1]?.trim()) items.push(item[1].trim());
    else if (items.length > 0 && /^\s{2,}\S/.test(line) && !(start < 0 && anyHeading.test(line))) {
      items[items.length - 1] += ` ${line.trim()}`;
    }
  }
  return items
    .slice(0, maxFindings)
    .map((f) => (f.length > maxFindingChars ? `${f.slice(0, maxFindingChars)}…` : f));
}

function sectionAfter(lines: readonly string[], start: number): string[] {
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (anyHeading.test(line)) break;
    out.push(line);
  }
  return out;
}
