/** The few pieces every chart here is drawn with: escaped text and attributes, rounded numbers. */

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text or an attribute value, safe inside SVG markup. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c] ?? c);
}

/** A coordinate, to a tenth of a pixel (smaller markup, same picture). */
export const px = (n: number): string => String(Math.round(n * 10) / 10);

/** One element with its attributes (escaped) and optional inner markup (already SVG). */
export function el(
  name: string,
  attributes: Record<string, string | number | undefined>,
  inner = '',
): string {
  const attrs = Object.entries(attributes)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXml(typeof value === 'number' ? px(value) : value)}"`)
    .join('');
  return inner ? `<${name}${attrs}>${inner}</${name}>` : `<${name}${attrs}/>`;
}

export function svg(width: number, height: number, inner: string, label: string): string {
  return el(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      viewBox: `0 0 ${width} ${height}`,
      width,
      height,
      role: 'img',
      'aria-label': label,
    },
    `${el('title', {}, escapeXml(label))}${inner}`,
  );
}

/** `HH:MM` of a time, for axis labels. */
export function clockLabel(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}
